// Package sqlitemeta is the embedded metadata store: a single SQLite file
// (pure-Go driver modernc.org/sqlite, so the binary stays static) in WAL
// mode, shared safely by the server and the admin commands that open it at
// the same time. Its schema lives in migrations/, numbered like pgmeta's.
package sqlitemeta

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations.
func Migrations() ([]meta.Migration, error) {
	return meta.ReadMigrations(migrationFiles, "migrations")
}

// Store is a SQLite metadata store.
type Store struct {
	*sqlstore.Store
	version *walVersion
}

var _ meta.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	q := url.Values{}
	// mmap_size lets every connection read the database through one shared
	// mapping instead of a pread per page missing from its own small page
	// cache, which under load was a tenth of the CPU of listings.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "mmap_size(2147418112)"} {
		q.Add("_pragma", p)
	}
	// Every transaction takes the write lock at BEGIN: a read-then-write
	// transaction can then never fail half-way with SQLITE_BUSY.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Keep connections open: each new one reruns the pragmas and loses
	// SQLite's page cache. Readers run in parallel in WAL mode; writers
	// queue on the database lock.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(10 * time.Minute)
	migs, err := Migrations()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := meta.Migrate(ctx, db, migs, meta.Dialect{
		Insert: `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Copy back what a bulk import or a process that never closed the
	// database left in the WAL: until every frame is back in the main file,
	// every page read searches the WAL's index (a 500 MB WAL took a fifth
	// of the CPU of listings). PASSIVE never waits for other processes;
	// what it cannot copy now, SQLite's automatic checkpoints copy later.
	var busy, logFrames, copied int
	_ = db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &copied)
	version, err := openVersion(ctx, db, path)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{Store: sqlstore.New(db, sqlstore.Dialect{IsUnique: isUnique, IsRetryable: isBusy, Search: search, CacheStatements: true,
		IsForeignKey: isForeignKey, IsFull: isFull}),
		version: version}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.version.close(), s.Store.Close())
}

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

// isFull: the disk or the file system's quota is full (SQLite reports a
// failed write of a page or of the WAL as SQLITE_FULL).
func isFull(err error) bool { return code(err)&0xff == sqlite3.SQLITE_FULL }

func isBusy(err error) bool {
	c := code(err) & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// search uses the FTS5 trigram index when the term allows it (the index
// answers LIKE without an ESCAPE clause), else scans.
func search(ph string, indexable bool) string {
	if indexable {
		return "r.id IN (SELECT rowid FROM repos_fts WHERE repos_fts.lname LIKE " + ph + ")"
	}
	return "r.lname LIKE " + ph + ` ESCAPE '\'`
}
