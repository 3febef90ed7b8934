//go:build !(linux || darwin)

package main

import (
	"fmt"
	"io"
)

func berkeleyDemo(w io.Writer) error {
	fmt.Fprintln(w, "  (the Berkeley mirror runs on Linux and macOS only)")
	return nil
}
