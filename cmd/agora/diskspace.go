package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// addDiskFlag adds serve's --min-free-space.
func addDiskFlag(f *flags) *int64 {
	return f.size("min-free-space", 128<<20, "/readyz reports storage full when the disk of the SQLite database or of the blob files has less free space than this (0 = no check)")
}

// diskChecks returns the readiness check of diskCheck, none when min is 0.
func diskChecks(dbURL, blobsURL string, min int64) []server.Check {
	if min <= 0 {
		return nil
	}
	return []server.Check{{Name: "disk", Fn: diskCheck(dbURL, blobsURL, min)}}
}

// diskCheck is the readiness check of the embedded default's storage: the
// file systems holding the SQLite database and the blob files must keep
// at least min bytes free. A full disk fails every upload and commit with
// 507; saying so on /readyz lets a load balancer and an operator see it
// before clients do. Stores on other machines (PostgreSQL, S3) report
// their own fullness when written to.
func diskCheck(dbURL, blobsURL string, min int64) func(ctx context.Context) error {
	var dirs []string
	if p, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		dirs = append(dirs, filepath.Dir(strings.TrimPrefix(p, "//")))
	}
	if p, ok := strings.CutPrefix(blobsURL, "file:"); ok {
		dirs = append(dirs, strings.TrimPrefix(p, "//"))
	}
	return func(ctx context.Context) error {
		for _, d := range dirs {
			free, ok, err := freeBytes(d)
			if err != nil || !ok {
				continue // the store's own ping reports a missing directory
			}
			if free < min {
				return fmt.Errorf("%w: %d MiB free under %s, below the %d MiB --min-free-space", hub.ErrNoSpace, free>>20, d, min>>20)
			}
		}
		return nil
	}
}
