package sqlitemeta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// DataVersion tells, for a few microseconds, whether anything was written
// to the database since an earlier call: v is the same as long as nothing
// was committed, by this process or any other, and different after. ok is
// false when it cannot tell (callers then read the store every time).
//
// It reads the WAL-index header at the start of the "-shm" file, which
// every SQLite connection in WAL mode shares (sqlite.org/walformat.html):
// two copies of a 48-byte header whose frame count, change counter and
// salts move with every commit and every restart of the WAL. Asking
// SQLite instead (PRAGMA data_version, or any query) starts a read
// transaction, which was most of the cost of resolving a branch: the
// query this check lets callers skip (hub's ref cache).
//
// The header is compared whole with the one seen last, and v counts the
// differences: a torn read (a commit writing the header meanwhile) only
// moves v once more. A caller that reads v before its query and keeps the
// answer with v never keeps it past a commit. The header is read at the
// call, so after any notBefore (pgmeta's needs it); ctx is not used.
func (s *Store) DataVersion(_ context.Context, _ time.Time) (v uint64, ok bool) {
	return s.version.read()
}

// walHeaderSize is both copies of the WAL-index header; what follows (the
// checkpoint info and read marks) changes with reads too.
const walHeaderSize = 96

type walVersion struct {
	mu sync.Mutex
	f  *os.File // nil: not available
	// mapped is the start of the -shm file mapped read-only, where the
	// platform allows (nil: f is read instead): the header is then a copy
	// from memory SQLite's connections write, not a pread, which was a
	// few percent of a model_info's CPU.
	mapped []byte
	last   [walHeaderSize]byte
	v      uint64
	// pin is a connection held open for as long as the store is: SQLite
	// deletes the -shm file when its last connection closes, and a new one
	// would make f read a file no writer uses any more.
	pin *sql.Conn
}

func openVersion(ctx context.Context, db *sql.DB, path string) (*walVersion, error) {
	pin, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	var mode string
	if err := pin.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		pin.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w := &walVersion{pin: pin}
	if mode != "wal" {
		return w, nil
	}
	f, err := os.Open(path + "-shm")
	if err != nil {
		return w, nil // e.g. a read-only directory: no versions, reads as before
	}
	w.f = f
	w.mapped = mapHeader(f, walHeaderSize)
	return w, nil
}

func (w *walVersion) read() (uint64, bool) {
	if w == nil || w.f == nil {
		return 0, false
	}
	var b [walHeaderSize]byte
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mapped != nil {
		copy(b[:], w.mapped)
	} else if n, _ := w.f.ReadAt(b[:], 0); n < len(b) {
		return 0, false
	}
	if b != w.last {
		w.last = b
		w.v++
	}
	return w.v, true
}

func (w *walVersion) close() error {
	if w == nil {
		return nil
	}
	var errs []error
	if w.mapped != nil {
		errs = append(errs, unmapHeader(w.mapped))
	}
	if w.f != nil {
		errs = append(errs, w.f.Close())
	}
	errs = append(errs, w.pin.Close())
	return errors.Join(errs...)
}
