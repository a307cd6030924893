package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// placeholders returns "$from, $from+1, …" for n arguments.
func placeholders(from, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ph, ", ")
}

func (o *ops) PutXetXorb(ctx context.Context, x *meta.XetXorb) (bool, error) {
	now := ms(time.Now())
	res, err := o.q.ExecContext(ctx, `UPDATE xet_xorbs SET used_at = $2 WHERE hash = $1`, x.Hash, now)
	if err != nil {
		return false, fmt.Errorf("put xorb %s: %w", x.Hash, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("put xorb %s: %w", x.Hash, err)
	} else if n > 0 {
		return false, nil
	}
	// Two uploads of one new xorb may both get here: the loser refreshes.
	res, err = o.q.ExecContext(ctx, `INSERT INTO xet_xorbs (hash, size, raw_size, chunks, idx, created_at, used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (hash) DO NOTHING`,
		x.Hash, x.Size, x.RawSize, x.Chunks, x.Index, now)
	if err != nil {
		return false, fmt.Errorf("put xorb %s: %w", x.Hash, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("put xorb %s: %w", x.Hash, err)
	}
	return n > 0, nil
}

func (o *ops) TouchXetXorbs(ctx context.Context, hashes []string, now time.Time) error {
	for start := 0; start < len(hashes); start += statBatch {
		chunk := hashes[start:min(start+statBatch, len(hashes))]
		args := []any{ms(now)}
		for _, h := range chunk {
			args = append(args, h)
		}
		if _, err := o.q.ExecContext(ctx, `UPDATE xet_xorbs SET used_at = $1 WHERE hash IN (`+placeholders(2, len(chunk))+`)`, args...); err != nil {
			return fmt.Errorf("touch xorbs: %w", err)
		}
	}
	return nil
}

func (o *ops) XetXorbs(ctx context.Context, hashes []string) (map[string]*meta.XetXorb, error) {
	out := make(map[string]*meta.XetXorb, len(hashes))
	for start := 0; start < len(hashes); start += statBatch {
		chunk := hashes[start:min(start+statBatch, len(hashes))]
		args := make([]any, len(chunk))
		for i, h := range chunk {
			args[i] = h
		}
		rows, err := o.q.QueryContext(ctx, `SELECT hash, size, raw_size, chunks, idx, created_at, used_at FROM xet_xorbs
			WHERE hash IN (`+placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("xorbs: %w", err)
		}
		for rows.Next() {
			var x meta.XetXorb
			var created, used int64
			if err := rows.Scan(&x.Hash, &x.Size, &x.RawSize, &x.Chunks, &x.Index, &created, &used); err != nil {
				rows.Close()
				return nil, fmt.Errorf("xorbs: %w", err)
			}
			x.CreatedAt, x.UsedAt = fromMS(created), fromMS(used)
			out[x.Hash] = &x
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("xorbs: %w", err)
		}
	}
	return out, nil
}

func (o *ops) RegisterXetFiles(ctx context.Context, files []meta.XetFile, dedup []meta.XetDedup, now time.Time) (int, error) {
	var added int
	err := o.inTx(ctx, func(o *ops) error {
		added = 0
		var xorbs []string
		for i := range files {
			xorbs = append(xorbs, files[i].Xorbs...)
		}
		slices.Sort(xorbs)
		xorbs = slices.Compact(xorbs)
		// Refreshing the use time first takes the rows' locks: a
		// collector deleting one of them either went first (and the count
		// comes up short) or waits and then sees a fresh use time.
		for start := 0; start < len(xorbs); start += statBatch {
			chunk := xorbs[start:min(start+statBatch, len(xorbs))]
			args := []any{ms(now)}
			for _, h := range chunk {
				args = append(args, h)
			}
			res, err := o.q.ExecContext(ctx, `UPDATE xet_xorbs SET used_at = $1 WHERE hash IN (`+placeholders(2, len(chunk))+`)`, args...)
			if err != nil {
				return fmt.Errorf("register xet files: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("register xet files: %w", err)
			}
			if n != int64(len(chunk)) {
				return fmt.Errorf("register xet files: %d of %d xorbs: %w", n, len(chunk), meta.ErrNotFound)
			}
		}
		for i := range files {
			f := &files[i]
			res, err := o.q.ExecContext(ctx, `UPDATE xet_files SET registered_at = $2 WHERE hash = $1`, f.Hash, ms(now))
			if err != nil {
				return fmt.Errorf("register xet file %s: %w", f.Hash, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("register xet file %s: %w", f.Hash, err)
			} else if n > 0 {
				continue
			}
			res, err = o.q.ExecContext(ctx, `INSERT INTO xet_files (hash, sha256, size, layout, repo_id, user_id, created_at, registered_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (hash) DO NOTHING`,
				f.Hash, f.SHA256, f.Size, f.Layout, f.RepoID, f.UserID, ms(now))
			if err != nil {
				return fmt.Errorf("register xet file %s: %w", f.Hash, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("register xet file %s: %w", f.Hash, err)
			} else if n == 0 {
				continue // registered meanwhile by another shard
			}
			for _, x := range f.Xorbs {
				if _, err := o.q.ExecContext(ctx, `INSERT INTO xet_file_xorbs (file_hash, xorb_hash) VALUES ($1, $2)
					ON CONFLICT DO NOTHING`, f.Hash, x); err != nil {
					return fmt.Errorf("register xet file %s: %w", f.Hash, err)
				}
			}
			added++
		}
		for _, d := range dedup {
			// The newest entry wins: its xorb is the least likely to be
			// collected.
			if _, err := o.q.ExecContext(ctx, `INSERT INTO xet_dedup (chunk_hash, xorb_hash, file_hash) VALUES ($1, $2, $3)
				ON CONFLICT (chunk_hash) DO UPDATE SET xorb_hash = excluded.xorb_hash, file_hash = excluded.file_hash`,
				d.Chunk, d.Xorb, d.File); err != nil {
				return fmt.Errorf("register dedup entry %s: %w", d.Chunk, err)
			}
		}
		return nil
	})
	return added, err
}

const xetFileCols = `hash, sha256, size, repo_id, user_id, created_at, registered_at`

func scanXetFile(sc interface{ Scan(...any) error }, extra ...any) (*meta.XetFile, error) {
	var f meta.XetFile
	var created, registered int64
	dst := append([]any{&f.Hash, &f.SHA256, &f.Size, &f.RepoID, &f.UserID, &created, &registered}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	f.CreatedAt, f.RegisteredAt = fromMS(created), fromMS(registered)
	return &f, nil
}

func (o *ops) XetFile(ctx context.Context, hash string) (*meta.XetFile, error) {
	var layout []byte
	f, err := scanXetFile(o.q.QueryRowContext(ctx, `SELECT `+xetFileCols+`, layout FROM xet_files WHERE hash = $1`, hash), &layout)
	if err != nil {
		return nil, notFound(err, "xet file "+hash)
	}
	f.Layout = layout
	rows, err := o.q.QueryContext(ctx, `SELECT xorb_hash FROM xet_file_xorbs WHERE file_hash = $1 ORDER BY xorb_hash`, hash)
	if err != nil {
		return nil, fmt.Errorf("xet file %s: %w", hash, err)
	}
	defer rows.Close()
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			return nil, fmt.Errorf("xet file %s: %w", hash, err)
		}
		f.Xorbs = append(f.Xorbs, x)
	}
	return f, rows.Err()
}

func (o *ops) XetFileInRepo(ctx context.Context, repoID int64, hash string) (*meta.XetFile, error) {
	var layout []byte
	f, err := scanXetFile(o.q.QueryRowContext(ctx, `SELECT `+xetFileCols+`, layout FROM xet_files f
		WHERE hash = $1 AND EXISTS (SELECT 1 FROM repo_lfs l WHERE l.repo_id = $2 AND l.oid = f.sha256)`, hash, repoID), &layout)
	if err != nil {
		return nil, notFound(err, "xet file "+hash)
	}
	f.Layout = layout
	return f, nil
}

func (o *ops) XetFilesBySHA256(ctx context.Context, oids []string) (map[string]*meta.XetFile, error) {
	out := make(map[string]*meta.XetFile, len(oids))
	for start := 0; start < len(oids); start += statBatch {
		chunk := oids[start:min(start+statBatch, len(oids))]
		args := make([]any, len(chunk))
		for i, h := range chunk {
			args[i] = h
		}
		rows, err := o.q.QueryContext(ctx, `SELECT `+xetFileCols+` FROM xet_files
			WHERE sha256 IN (`+placeholders(1, len(chunk))+`) ORDER BY registered_at`, args...)
		if err != nil {
			return nil, fmt.Errorf("xet files by sha256: %w", err)
		}
		for rows.Next() {
			f, err := scanXetFile(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("xet files by sha256: %w", err)
			}
			out[f.SHA256] = f // the latest registration wins
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("xet files by sha256: %w", err)
		}
	}
	return out, nil
}

func (o *ops) XetFilesAfter(ctx context.Context, after string, limit int) ([]meta.XetFile, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+xetFileCols+` FROM xet_files WHERE hash > $1 ORDER BY hash LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("xet files: %w", err)
	}
	defer rows.Close()
	var out []meta.XetFile
	for rows.Next() {
		f, err := scanXetFile(rows)
		if err != nil {
			return nil, fmt.Errorf("xet files: %w", err)
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

func (o *ops) DeleteXetFiles(ctx context.Context, sha256 string) (int, error) {
	// xet_file_xorbs rows go with their file (ON DELETE CASCADE).
	res, err := o.q.ExecContext(ctx, `DELETE FROM xet_files WHERE sha256 = $1`, sha256)
	if err != nil {
		return 0, fmt.Errorf("delete xet files of %s: %w", sha256, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete xet files of %s: %w", sha256, err)
	}
	return int(n), nil
}

func (o *ops) XetDedup(ctx context.Context, chunk string) (*meta.XetDedup, error) {
	d := meta.XetDedup{Chunk: chunk}
	err := o.q.QueryRowContext(ctx, `SELECT xorb_hash, file_hash FROM xet_dedup WHERE chunk_hash = $1`, chunk).Scan(&d.Xorb, &d.File)
	if err != nil {
		return nil, notFound(err, "dedup entry "+chunk)
	}
	return &d, nil
}

func (o *ops) XetXorbsAfter(ctx context.Context, after string, limit int) ([]meta.XetXorb, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT hash, size, raw_size, chunks, created_at, used_at FROM xet_xorbs
		WHERE hash > $1 ORDER BY hash LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("xorbs: %w", err)
	}
	defer rows.Close()
	var out []meta.XetXorb
	for rows.Next() {
		var x meta.XetXorb
		var created, used int64
		if err := rows.Scan(&x.Hash, &x.Size, &x.RawSize, &x.Chunks, &created, &used); err != nil {
			return nil, fmt.Errorf("xorbs: %w", err)
		}
		x.CreatedAt, x.UsedAt = fromMS(created), fromMS(used)
		out = append(out, x)
	}
	return out, rows.Err()
}

func (o *ops) DeleteXetXorb(ctx context.Context, hash string, before time.Time) (bool, error) {
	var gone bool
	err := o.inTx(ctx, func(o *ops) error {
		res, err := o.q.ExecContext(ctx, `DELETE FROM xet_xorbs WHERE hash = $1 AND used_at < $2
			AND NOT EXISTS (SELECT 1 FROM xet_file_xorbs WHERE xorb_hash = $1)`, hash, ms(before))
		if err != nil {
			return fmt.Errorf("delete xorb %s: %w", hash, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("delete xorb %s: %w", hash, err)
		}
		if gone = n > 0; !gone {
			return nil
		}
		if _, err := o.q.ExecContext(ctx, `DELETE FROM xet_dedup WHERE xorb_hash = $1`, hash); err != nil {
			return fmt.Errorf("delete xorb %s: %w", hash, err)
		}
		return nil
	})
	return gone, err
}
