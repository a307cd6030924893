//go:build unix

package sqlitemeta

import (
	"os"
	"syscall"
)

// mapHeader maps the first n bytes of f read-only and shared, so that
// reads see what other processes write; nil when the file is shorter or
// the mapping fails (the caller then reads f). SQLite never shrinks the
// -shm file while a connection has it open, and the store holds one.
func mapHeader(f *os.File, n int) []byte {
	st, err := f.Stat()
	if err != nil || st.Size() < int64(n) {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	return b
}

func unmapHeader(b []byte) error { return syscall.Munmap(b) }
