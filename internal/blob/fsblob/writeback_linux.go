//go:build amd64 || arm64

package fsblob

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writing the range's
// dirty pages out, without waiting for them.
const syncFileRangeWrite = 2

// startWriteback asks the kernel to start writing n bytes at off of f to
// disk. Errors are ignored: the fsync before publishing reports them.
func startWriteback(f *os.File, off, n int64) {
	sc, err := f.SyscallConn()
	if err != nil {
		return
	}
	sc.Control(func(fd uintptr) {
		syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
	})
}
