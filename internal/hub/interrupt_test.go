package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/fsblob"
)

// droppingReader yields n bytes of r, then fails as a dropped
// connection does.
type droppingReader struct {
	r io.Reader
	n int
}

func (d *droppingReader) Read(p []byte) (int, error) {
	if d.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	p = p[:min(len(p), d.n)]
	n, err := d.r.Read(p)
	d.n -= n
	return n, err
}

// fullStore is a blob store whose writes fail as on a full disk.
type fullStore struct{ blob.Store }

func (f fullStore) Create(ctx context.Context, oid string, size int64) (blob.Writer, error) {
	w, err := f.Store.Create(ctx, oid, size)
	return fullWriter{w}, err
}

func (f fullStore) UploadPart(ctx context.Context, uploadID string, n int, r io.Reader, size int64) (string, error) {
	return "", fmt.Errorf("upload part: %w", blob.ErrNoSpace)
}

type fullWriter struct{ blob.Writer }

func (fullWriter) Write(p []byte) (int, error) {
	return 0, fmt.Errorf("write: %w (no space left on device)", blob.ErrNoSpace)
}

// TestUploadFailures: an upload whose client drops the connection is the
// client's error (ErrInvalid), one that meets a full store is ErrNoSpace;
// neither leaves anything in the store.
func TestUploadFailures(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MultipartThreshold = 1 << 20; c.MultipartChunk = 5 << 20 })
	f.create(t, modelRef, false)
	var dir string
	var blobs *fsblob.Store
	var plain, full *Service
	small := bytes.Repeat([]byte("small"), 1000)
	big := bytes.Repeat([]byte("0123456789abcdef"), (6<<20)/16)
	// Each case gets its own blob store, to see exactly what it left.
	open := func(t *testing.T) {
		var err error
		dir = t.TempDir()
		if blobs, err = fsblob.Open(dir); err != nil {
			t.Fatal(err)
		}
		if plain, err = New(t.Context(), testLogger(t), f.s.cfg, f.m, blobs); err != nil {
			t.Fatal(err)
		}
		if full, err = New(t.Context(), testLogger(t), f.s.cfg, f.m, fullStore{blobs}); err != nil {
			t.Fatal(err)
		}
	}
	batch := func(t *testing.T, data []byte) *LFSUpload {
		acts, err := plain.LFSBatch(t.Context(), f.alice, modelRef, "upload", []LFSObject{{OID: sha(data), Size: int64(len(data))}}, []string{"basic", "multipart"})
		if err != nil || acts[0].Upload == nil {
			t.Fatalf("batch: %+v %v", acts, err)
		}
		return acts[0].Upload
	}
	tests := []struct {
		name string
		data []byte
		run  func(t *testing.T, up *LFSUpload) error
		kind error
	}{
		{"basic, connection dropped", small, func(t *testing.T, up *LFSUpload) error {
			return plain.UploadLFS(t.Context(), up.Token, int64(len(small)), &droppingReader{bytes.NewReader(small), 100})
		}, ErrInvalid},
		{"part, connection dropped", big, func(t *testing.T, up *LFSUpload) error {
			_, err := plain.UploadLFSPart(t.Context(), up.PartToken, 1, 5<<20, &droppingReader{bytes.NewReader(big), 1 << 20})
			return err
		}, ErrInvalid},
		{"basic, store full", small, func(t *testing.T, up *LFSUpload) error {
			return full.UploadLFS(t.Context(), up.Token, int64(len(small)), bytes.NewReader(small))
		}, ErrNoSpace},
		{"part, store full", big, func(t *testing.T, up *LFSUpload) error {
			_, err := full.UploadLFSPart(t.Context(), up.PartToken, 1, 5<<20, bytes.NewReader(big[:5<<20]))
			return err
		}, ErrNoSpace},
		{"completion with the wrong part count", big, func(t *testing.T, up *LFSUpload) error {
			etag, err := plain.UploadLFSPart(t.Context(), up.PartToken, 1, 5<<20, bytes.NewReader(big[:5<<20]))
			if err != nil {
				t.Fatal(err)
			}
			return plain.CompleteLFS(t.Context(), up.Token, sha(big), []Part{{Number: 1, ETag: etag}})
		}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open(t)
			err := tc.run(t, batch(t, tc.data))
			wantKind(t, Domain(err), tc.kind)
			if _, err := blobs.Stat(t.Context(), sha(tc.data)); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("object stored: %v", err)
			}
			if tc.name != "part, connection dropped" && tc.name != "part, store full" {
				// A failed part leaves the upload open for a retry of that
				// part; everything else must leave nothing behind.
				for _, sub := range []string{"tmp", "uploads"} {
					ents, _ := os.ReadDir(filepath.Join(dir, sub))
					if len(ents) != 0 {
						t.Errorf("%s/ holds %d entries after the failure", sub, len(ents))
					}
				}
			}
			ents, _ := fs.Glob(os.DirFS(dir), "uploads/*/.*")
			if len(ents) != 0 {
				t.Errorf("partial parts left: %v", ents)
			}
		})
	}
}
