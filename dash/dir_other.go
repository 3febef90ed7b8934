//go:build !unix

package dash

import "os"

func openFile(path string) (*os.File, error) { return openRegular(path) }
