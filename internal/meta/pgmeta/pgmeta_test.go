package pgmeta

import (
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/metatest"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
	"github.com/agorahub/agora/internal/testenv"
)

// freshDatabase returns a URL whose search_path is a new, empty schema, so
// that every case starts from scratch on one shared server.
func freshDatabase(t *testing.T) string { return testenv.PostgresSchema(t) }

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		s, err := Open(t.Context(), freshDatabase(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConcurrentStartup opens the same empty database from several
// "replicas" at once: the advisory lock lets exactly one migrate.
func TestConcurrentStartup(t *testing.T) {
	u := freshDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			s, err := Open(t.Context(), u, Options{MaxConns: 2})
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestCopyFromSQLite moves a hub from the embedded default to PostgreSQL
// (what agora migrate-store does for the metadata).
func TestCopyFromSQLite(t *testing.T) {
	dst, err := Open(t.Context(), freshDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	src, err := sqlitemeta.Open(t.Context(), filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	metatest.SeedForCopy(t, src)
	if err := src.CopyTo(t.Context(), dst, nil); err != nil {
		t.Fatal(err)
	}
	metatest.VerifyCopy(t, dst)
}

func TestTagsBackfill(t *testing.T) {
	u := freshDatabase(t)
	metatest.TagsBackfill(t, func() meta.Store {
		s, err := Open(t.Context(), u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(s meta.Store) *sql.DB { return s.(*Store).DB() })
}
