//go:build !linux && !darwin

package main

// freeBytes cannot tell on this system: the check passes.
func freeBytes(dir string) (int64, bool, error) { return 0, false, nil }
