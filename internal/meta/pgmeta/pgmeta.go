// Package pgmeta is the PostgreSQL metadata store for scale-out
// deployments: any number of agora replicas share one database. It uses
// pgx through database/sql, so the queries are the ones sqlitemeta runs
// (meta/internal/sqlstore); only the schema files and the error
// classification are PostgreSQL's own. Migrations are applied on start
// under an advisory lock, so replicas starting together are safe.
package pgmeta

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations.
func Migrations() ([]meta.Migration, error) {
	return meta.ReadMigrations(migrationFiles, "migrations")
}

// Store is a PostgreSQL metadata store.
type Store struct {
	*sqlstore.Store
	version *versionPoller
}

var _ meta.Store = (*Store)(nil)

// migrateLockID is the advisory lock key taken while migrating.
const migrateLockID = 0x61676f7261 // "agora"

// Options tune the connection pool.
type Options struct {
	MaxConns int
}

// Open connects to the database at url (postgres://…) and applies pending
// migrations.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	// The tracer sees every statement's end, for DataVersion.
	vp := newVersionPoller(nil)
	cfg.Tracer = statementTracer{vp}
	db := stdlib.OpenDB(*cfg)
	vp.poll = snapshotPoll(db)
	if o.MaxConns <= 0 {
		o.MaxConns = 20
	}
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	migs, err := Migrations()
	if err != nil {
		db.Close()
		return nil, err
	}
	err = meta.Migrate(ctx, db, migs, meta.Dialect{
		Lock:   fmt.Sprintf("SELECT pg_advisory_lock(%d)", migrateLockID),
		Unlock: fmt.Sprintf("SELECT pg_advisory_unlock(%d)", migrateLockID),
		Insert: `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	return &Store{version: vp, Store: sqlstore.New(db, sqlstore.Dialect{IsUnique: isUnique, IsRetryable: isRetryable, Search: search,
		IsForeignKey: func(err error) bool { return code(err) == "23503" },
		// 53100 disk_full: the server could not extend a file.
		IsFull: func(err error) bool { return code(err) == "53100" },
		ResetSequence: func(table string) string {
			return "SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), COALESCE((SELECT MAX(id) FROM " + table + "), 0) + 1, false)"
		}})}, nil
}

func code(err error) string {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.Code
	}
	return ""
}

func isUnique(err error) bool { return code(err) == "23505" }

// isRetryable: serialisation failures and deadlocks abort a transaction
// that would succeed when run again.
func isRetryable(err error) bool {
	switch code(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// search relies on the pg_trgm GIN index, which serves LIKE patterns
// (backslash is PostgreSQL's default LIKE escape).
func search(ph string, indexable bool) string {
	return "r.lname LIKE " + ph
}
