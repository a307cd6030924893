package sqlitemeta

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/metatest"
)

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(t.Context(), &meta.User{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.UserByName(t.Context(), "x"); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTo(t *testing.T) {
	src, err := Open(t.Context(), filepath.Join(t.TempDir(), "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := Open(t.Context(), filepath.Join(t.TempDir(), "dst.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	metatest.SeedForCopy(t, src)
	if err := src.CopyTo(t.Context(), dst, nil); err != nil {
		t.Fatal(err)
	}
	metatest.VerifyCopy(t, dst)
	if err := src.CopyTo(t.Context(), dst, nil); err == nil {
		t.Fatal("copy into a non-empty store succeeded")
	}
}

func TestMigrationsMatchPostgres(t *testing.T) {
	lite, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := filepath.Glob("../pgmeta/migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != len(lite) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL ones", len(lite), len(pg))
	}
	for i, m := range lite {
		want := fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)
		if filepath.Base(pg[i]) != want {
			t.Errorf("migration %d: SQLite %s, PostgreSQL %s", i+1, want, filepath.Base(pg[i]))
		}
	}
}

func TestTagsBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	metatest.TagsBackfill(t, func() meta.Store {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(s meta.Store) *sql.DB { return s.(*Store).DB() })
}
