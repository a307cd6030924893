package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/blob/s3blob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/pgmeta"
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
		db:    f.string("db", "", "metadata store: sqlite:PATH (default: sqlite:DATA/agora.db) or postgres://user:pass@host:port/db?sslmode=…"),
		blobs: f.string("blobs", "", "blob store: file:PATH (default: file:DATA/blobs) or s3://BUCKET[/prefix]?endpoint=http://host:port&region=… (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"),
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
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return pgmeta.Open(ctx, u, pgmeta.Options{})
	}
	return nil, fmt.Errorf("--db %q: unsupported store (use sqlite:PATH or postgres://…)", redact(u))
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
	case strings.HasPrefix(u, "s3://"):
		o, err := s3blob.ParseURL(u)
		if err != nil {
			return nil, err
		}
		// Credentials come from the standard AWS variables, read here at
		// startup like every other setting.
		o.AccessKey, o.SecretKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if o.AccessKey == "" || o.SecretKey == "" {
			return nil, fmt.Errorf("--blobs %q: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", u)
		}
		return s3blob.Open(ctx, o)
	}
	return nil, fmt.Errorf("--blobs %q: unsupported store (use file:PATH or s3://bucket?endpoint=…)", redact(u))
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

// openService opens the stores and the hub for an admin command that
// works on the same data as the server; done closes them.
func openService(ctx context.Context, st *storeFlags, stderr io.Writer) (svc *hub.Service, done func(), err error) {
	// The hub runs on the Xet overlay: see openServiceXet.
	svc, _, done, err = openServiceXet(ctx, st, stderr)
	return svc, done, err
}
