package meta

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
)

// Migration is one numbered, forward-only schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// ReadMigrations loads the *.sql files of directory dir of fsys. Their
// names must be NNNN_name.sql, numbered from 0001 without gaps.
func ReadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range ents {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations are not numbered 1..n without gaps: found %04d at position %d", m.Version, i+1)
		}
	}
	return out, nil
}

// Dialect holds the few SQL differences the runner needs.
type Dialect struct {
	// Lock and Unlock, if set, run on the migrating connection around the
	// whole run so that replicas starting together apply each migration
	// once (PostgreSQL advisory locks). SQLite's write lock serialises each
	// migration transaction instead.
	Lock, Unlock string
	// Insert records a version: two placeholders, version and name.
	Insert string
}

// Migrate applies the pending migrations in order, each in a transaction
// with its version row. It refuses to run against a database whose schema
// is newer than migs.
func Migrate(ctx context.Context, db *sql.DB, migs []Migration, d Dialect) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if d.Lock != "" {
		if _, err := conn.ExecContext(ctx, d.Lock); err != nil {
			return fmt.Errorf("migrate: take lock: %w", err)
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), d.Unlock); uerr != nil && err == nil {
				err = fmt.Errorf("migrate: release lock: %w", uerr)
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, m := range migs {
		if err := applyOne(ctx, conn, m, d, len(migs)); err != nil {
			return err
		}
	}
	return nil
}

func applyOne(ctx context.Context, conn *sql.Conn, m Migration, d Dialect, latest int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %04d: begin: %w", m.Version, err)
	}
	defer tx.Rollback()
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current.Int64 > int64(latest) {
		return fmt.Errorf("database schema version %d is newer than this binary (%d): upgrade agora", current.Int64, latest)
	}
	if current.Int64 >= int64(m.Version) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migrate %04d_%s: %w", m.Version, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, d.Insert, m.Version, m.Name); err != nil {
		return fmt.Errorf("migrate %04d: record version: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %04d: commit: %w", m.Version, err)
	}
	return nil
}
