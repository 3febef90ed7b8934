//go:build !linux

package sockettest

import (
	"errors"
	"time"
)

// SelfCPU is measured on Linux only.
func SelfCPU() (time.Duration, error) { return 0, errors.ErrUnsupported }

// ChildrenCPU is measured on Linux only.
func ChildrenCPU(pid int) (time.Duration, error) { return 0, errors.ErrUnsupported }
