package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/agorahub/agora/internal/meta"
)

// classified runs statements and normalises the two driver failures that
// callers must tell apart from internal errors, whichever method met them:
//
//   - a foreign-key violation: every foreign key cascades from its parent,
//     so a violation can only mean the parent row (a repository, a user)
//     was deleted by a transaction that committed first. That is
//     meta.ErrNotFound, not a crash: a commit racing the deletion of its
//     repository is a "repository not found" for the client.
//   - a full database (disk or quota): meta.ErrNoSpace, which the server
//     answers with 507 rather than "internal error".
//
// QueryRowContext is passed through: its error only appears at Scan,
// and single-row statements that write (INSERT … RETURNING) are rare
// enough to classify where they are made.
type classified struct {
	q queryer
	d Dialect
}

func (c classified) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	return res, c.d.classify(err)
}

func (c classified) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := c.q.QueryContext(ctx, query, args...)
	return rows, c.d.classify(err)
}

func (c classified) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, query, args...)
}

// classify maps the driver errors described at [classified]; others are
// returned unchanged. The driver's text stays in the message for logs.
func (d Dialect) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case d.IsForeignKey != nil && d.IsForeignKey(err):
		return fmt.Errorf("%w: a referenced row is gone (%v)", meta.ErrNotFound, err)
	case d.IsFull != nil && d.IsFull(err):
		return fmt.Errorf("%w (%v)", meta.ErrNoSpace, err)
	}
	return err
}
