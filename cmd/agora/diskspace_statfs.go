//go:build linux || darwin

package main

import "syscall"

// freeBytes returns the bytes available to unprivileged users on the file
// system holding dir.
func freeBytes(dir string) (int64, bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return int64(st.Bavail) * int64(st.Bsize), true, nil
}
