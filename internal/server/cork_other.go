//go:build !linux

package server

import "syscall"

// corkSupported is false where TCP_CORK does not exist; responses go out
// as the system's TCP_NODELAY default sends them.
const corkSupported = false

func setCork(syscall.RawConn, bool) error { return nil }

func getCork(uintptr) (int, error) { return 0, nil }
