package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

func (o *ops) AddSigningKey(ctx context.Context, k *meta.SigningKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	err := o.q.QueryRowContext(ctx, `INSERT INTO signing_keys (user_id, name, pem, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		k.UserID, k.Name, k.PEM, ms(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		return o.wrapWrite(err, "add signing key")
	}
	return nil
}

func (o *ops) listKeys(ctx context.Context, where string, args ...any) ([]meta.SigningKey, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT k.id, k.user_id, u.name, k.name, k.pem, k.created_at
		FROM signing_keys k JOIN users u ON u.id = k.user_id `+where+` ORDER BY k.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var out []meta.SigningKey
	for rows.Next() {
		var k meta.SigningKey
		var c int64
		if err := rows.Scan(&k.ID, &k.UserID, &k.User, &k.Name, &k.PEM, &c); err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		k.CreatedAt = fromMS(c)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (o *ops) ListSigningKeys(ctx context.Context, userID int64) ([]meta.SigningKey, error) {
	return o.listKeys(ctx, `WHERE k.user_id = $1`, userID)
}

func (o *ops) AllSigningKeys(ctx context.Context) ([]meta.SigningKey, error) {
	return o.listKeys(ctx, ``)
}

func (o *ops) DeleteSigningKey(ctx context.Context, userID, id int64) error {
	res, err := o.q.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = $1 AND user_id = $2`, id, userID)
	return rowsOrNotFound(res, err, "delete signing key")
}
