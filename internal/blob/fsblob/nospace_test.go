package fsblob

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"

	"github.com/agorahub/agora/internal/blob"
)

func TestNoSpace(t *testing.T) {
	tests := []struct {
		name string
		err  error
		full bool
	}{
		{"nil", nil, false},
		{"ENOSPC", &fs.PathError{Op: "write", Path: "tmp/x", Err: syscall.ENOSPC}, true},
		{"EDQUOT", &fs.PathError{Op: "write", Path: "tmp/x", Err: syscall.EDQUOT}, true},
		{"EIO", &fs.PathError{Op: "write", Path: "tmp/x", Err: syscall.EIO}, false},
		{"not exist", fs.ErrNotExist, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := noSpace(tc.err)
			if got := errors.Is(err, blob.ErrNoSpace); got != tc.full {
				t.Errorf("noSpace(%v) = %v, ErrNoSpace %v, want %v", tc.err, err, got, tc.full)
			}
			if tc.err == nil && err != nil {
				t.Errorf("noSpace(nil) = %v", err)
			}
		})
	}
}
