package sqlitemeta

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Snapshot writes a consistent copy of the database to path while other
// connections and processes keep reading and writing: VACUUM INTO runs as
// one read transaction, which in WAL mode blocks no writer, so the copy
// holds exactly the transactions committed before it started. The copy
// is written next to path, synced and renamed over it, so path is always
// either the previous snapshot or the complete new one.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	var b [8]byte
	rand.Read(b[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(b[:]))
	fail := func(err error) error {
		os.Remove(tmp)
		return fmt.Errorf("snapshot to %s: %w", path, err)
	}
	if _, err := s.DB().ExecContext(ctx, `VACUUM INTO $1`, tmp); err != nil {
		return fail(err)
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fail(err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
