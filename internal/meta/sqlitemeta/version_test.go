package sqlitemeta

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/metatest"
)

// openTwice opens one database file twice, as two processes would.
func openTwice(t *testing.T) (*Store, *Store) {
	path := filepath.Join(t.TempDir(), "meta.db")
	var out [2]*Store
	for i := range out {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

// TestDataVersion: the version moves with every commit, made by this
// store or by another one on the same file (another process, for SQLite:
// its own connections and page cache), across checkpoints that restart
// the WAL, and stays put while nothing is written.
func TestDataVersion(t *testing.T) {
	for _, mapped := range []bool{true, false} {
		t.Run(map[bool]string{true: "mapped", false: "read"}[mapped], func(t *testing.T) { testDataVersion(t, mapped) })
	}
}

func testDataVersion(t *testing.T, mapped bool) {
	s, other := openTwice(t)
	switch {
	case !mapped && s.version.mapped != nil:
		if err := unmapHeader(s.version.mapped); err != nil {
			t.Fatal(err)
		}
		s.version.mapped = nil
	case mapped && s.version.mapped == nil && runtime.GOOS == "linux":
		t.Fatal("the -shm header is not mapped")
	}
	ctx := t.Context()
	version := func() uint64 {
		t.Helper()
		v, ok := s.DataVersion(ctx, time.Now())
		if !ok {
			t.Fatal("no data version for a database in WAL mode")
		}
		return v
	}
	writes := []struct {
		name  string
		write func(i int) error
	}{
		{"this store", func(i int) error { return s.CreateUser(ctx, &meta.User{Name: fmt.Sprintf("a%d", i)}) }},
		{"another store", func(i int) error { return other.CreateUser(ctx, &meta.User{Name: fmt.Sprintf("b%d", i)}) }},
		{"after a truncating checkpoint", func(i int) error {
			if _, err := other.DB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return err
			}
			return other.CreateUser(ctx, &meta.User{Name: fmt.Sprintf("c%d", i)})
		}},
		{"a rolled-back write, then a write", func(i int) error {
			tx, err := other.DB().BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			tx.ExecContext(ctx, `UPDATE users SET name = name WHERE id < 0`)
			tx.Rollback()
			return s.CreateUser(ctx, &meta.User{Name: fmt.Sprintf("d%d", i)})
		}},
	}
	for _, w := range writes {
		for i := range 50 {
			before := version()
			if again := version(); again != before {
				t.Fatalf("%s: version moved from %d to %d without a write", w.name, before, again)
			}
			if err := w.write(i); err != nil {
				t.Fatal(err)
			}
			if after := version(); after == before {
				t.Fatalf("%s, write %d: version %d did not move", w.name, i, before)
			}
		}
	}
	// Reads do not move it.
	before := version()
	for range 20 {
		if _, err := other.UserByName(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
	}
	if after := version(); after != before {
		t.Errorf("reads moved the version from %d to %d", before, after)
	}
}

// TestDataVersionConcurrent: a value read while another store commits is
// never kept past the commit (run with -race).
func TestDataVersionConcurrent(t *testing.T) {
	s, other := openTwice(t)
	ctx := t.Context()
	version := func() uint64 { v, _ := s.DataVersion(ctx, time.Now()); return v }
	metatest.DataVersionConcurrent(t, version, other, func() int {
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}, 500)
}
