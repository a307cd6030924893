package main

import (
	"errors"
	"runtime"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

func TestDiskCheck(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("no statfs here")
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		min  int64
		full bool
	}{
		{"plenty", 1, false},
		{"more than any disk", 1 << 62, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := diskCheck("sqlite:"+dir+"/agora.db", "file:"+dir+"/blobs", tc.min)(t.Context())
			if got := errors.Is(err, hub.ErrNoSpace); got != tc.full {
				t.Errorf("err = %v, want full = %v", err, tc.full)
			}
		})
	}
	if diskChecks("sqlite:x", "file:y", 0) != nil {
		t.Error("--min-free-space 0 still checks")
	}
}
