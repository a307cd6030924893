//go:build !linux || !(amd64 || arm64)

package fsblob

import "os"

// startWriteback is a no-op where sync_file_range is not wired up: the
// fsync before publishing then writes the whole object.
func startWriteback(f *os.File, off, n int64) {}
