package sqlitemeta

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agorahub/agora/internal/meta"
)

// TestSnapshotWhileWriting takes snapshots while another connection keeps
// committing: each one opens, passes SQLite's integrity check and holds
// every transaction committed before it was taken.
func TestSnapshotWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := &meta.Repo{PublicID: fmt.Sprintf("%024x", i), Type: meta.TypeModel, Namespace: "n", Name: fmt.Sprintf("r%d", i)}
			if err := s.CreateRepo(t.Context(), r); err != nil {
				t.Error(err)
				return
			}
			committed.Store(int64(i + 1))
		}
	})
	path := filepath.Join(dir, "backup.db")
	for range 3 {
		before := committed.Load()
		if err := s.Snapshot(t.Context(), path); err != nil {
			t.Fatal(err)
		}
		snap, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		var check string
		if err := snap.DB().QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check = %q, %v", check, err)
		}
		var n int64
		if err := snap.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM repos`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		snap.Close()
		if n < before {
			t.Fatalf("snapshot holds %d repositories, %d were committed before it", n, before)
		}
	}
	close(stop)
	wg.Wait()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if name := e.Name(); name[0] == '.' {
			t.Errorf("temporary file %s left behind", name)
		}
	}
}
