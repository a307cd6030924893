package fsblob

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestNothingLeftBehind checks that failed writes leave no temporary file.
func TestNothingLeftBehind(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, _ := blobtest.Content(100)
	_, wrong := blobtest.Content(100)
	w, err := s.Create(t.Context(), wrong, 100)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if _, err := w.Commit(t.Context()); err == nil {
		t.Fatal("commit of wrong digest succeeded")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("left behind: %v", files)
	}
}

func TestSweep(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	os.WriteFile(filepath.Join(dir, "tmp", "stale"), []byte("x"), 0o644)
	id, _ := s.StartMultipart(context.Background(), strings.Repeat("a", 64), 10)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dir, "tmp", "stale"), old, old)
	os.Chtimes(filepath.Join(dir, "uploads", id), old, old)
	if err := s.Sweep(context.Background(), time.Now().Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "tmp", "stale"), filepath.Join(dir, "uploads", id)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the sweep", p)
		}
	}
}
