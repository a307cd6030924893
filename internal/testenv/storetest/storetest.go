// Package storetest opens the stores tests run the hub on.
package storetest

import (
	"path/filepath"
	"testing"

	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
)

// Local opens the embedded default's stores, SQLite and files, in a
// fresh temporary directory; the database is closed when the test ends.
func Local(t testing.TB) (*sqlitemeta.Store, *fsblob.Store) {
	t.Helper()
	return LocalAt(t, t.TempDir())
}

// LocalAt opens the embedded stores in dir; two calls on one dir share
// them as two processes would.
func LocalAt(t testing.TB, dir string) (*sqlitemeta.Store, *fsblob.Store) {
	t.Helper()
	m, err := sqlitemeta.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}
