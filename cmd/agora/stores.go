package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
)

// storeFlags are the flags that choose the stores, shared by every
// command that opens them.
type storeFlags struct {
	data  *string
	db    *string
	blobs *string
}

func addStoreFlags(f *flags) *storeFlags {
	return &storeFlags{
		data:  f.string("data", "./agora-data", "directory of the embedded default (SQLite database and blob files)"),
		db:    f.string("db", "", "metadata store: sqlite:PATH (default: sqlite:DATA/agora.db)"),
		blobs: f.string("blobs", "", "blob store: file:PATH (default: file:DATA/blobs)"),
	}
}

func (sf *storeFlags) dbURL() string {
	if *sf.db != "" {
		return *sf.db
	}
	return "sqlite:" + filepath.Join(*sf.data, "agora.db")
}

func (sf *storeFlags) blobsURL() string {
	if *sf.blobs != "" {
		return *sf.blobs
	}
	return "file:" + filepath.Join(*sf.data, "blobs")
}

// openMeta opens the metadata store a URL names; the only place that
// picks an implementation.
func openMeta(ctx context.Context, u string) (meta.Store, error) {
	switch {
	case strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("--db %q: missing path after sqlite:", u)
		}
		return sqlitemeta.Open(ctx, path)
	}
	return nil, fmt.Errorf("--db %q: unsupported store (use sqlite:PATH)", redact(u))
}

// openBlobs opens the blob store a URL names.
func openBlobs(ctx context.Context, u string) (blob.Store, error) {
	switch {
	case strings.HasPrefix(u, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "file:"), "//")
		if path == "" {
			return nil, fmt.Errorf("--blobs %q: missing path after file:", u)
		}
		return fsblob.Open(path)
	}
	return nil, fmt.Errorf("--blobs %q: unsupported store (use file:PATH)", redact(u))
}

// redact hides a password in a URL for messages.
func redact(u string) string {
	if at := strings.LastIndexByte(u, '@'); at > 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			cred := u[scheme+3 : at]
			if user, _, ok := strings.Cut(cred, ":"); ok {
				return u[:scheme+3] + user + ":xxxxx" + u[at:]
			}
		}
	}
	return u
}
