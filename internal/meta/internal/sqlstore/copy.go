package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/meta"
)

// copyTables lists the tables a hub's metadata lives in, parents first,
// with their columns. Derived search structures (FTS tables, trigram
// indexes) are rebuilt by the target's own schema; the tombstones of
// deleted repositories only matter to search indexes already running.
var copyTables = []struct {
	name    string
	cols    string
	idTable bool // has an identity column "id" whose sequence must follow
}{
	{"users", "id, name, lname, full_name, email, is_admin, password_hash, created_at, kind, default_private, details", true},
	{"tokens", "id, user_id, name, hash, role, created_at, expires_at, scopes", true},
	{"repos", "id, public_id, type, namespace, name, lname, private, gated, default_branch, allow_force_push, created_at, updated_at, downloads, likes, downloads_all_time, trending, changed_at, creator_id", true},
	{"org_members", "org_id, user_id, role, created_at", false},
	{"external_identities", "issuer, subject, user_id", false},
	{"repo_redirects", "type, lname, repo_id", false},
	{"objects", "repo_id, oid, kind, size, lfs_oid, lfs_size, data, zlib", false},
	{"refs", "repo_id, name, target", false},
	{"repo_lfs", "repo_id, oid, size, created_at", false},
	{"repo_meta", "repo_id, sha, card_data, card_error, pipeline_tag, library_name, num_parameters, info, tags", false},
	{"repo_tags", "repo_id, tag, pos", false},
	{"repo_lineage", "repo_id, base_lname, base_name, relation, pos", false},
	{"downloads_daily", "repo_id, day, n", false},
	{"likes", "user_id, repo_id, created_at", false},
	{"secrets", "name, value", false},
	{"scans", "key, repo_id, version, level, result, scanned_at", false},
	{"scan_queue", "key, repo_id, path, size, enqueued_at, lease_until", false},
	{"signing_keys", "id, user_id, name, pem, created_at", true},
	{"access_requests", "repo_id, user_id, status, fields, created_at, reviewed_at, reviewed_by, reason", false},
	{"audit_log", "id, at, actor_id, actor, action, namespace, target, detail, ip", true},
	{"namespace_quotas", "namespace, max_bytes", false}, // rate_counters are transient: not copied
	{"xet_xorbs", "hash, size, raw_size, chunks, idx, created_at, used_at", false},
	{"xet_files", "hash, sha256, size, layout, repo_id, user_id, created_at, registered_at", false},
	{"xet_file_xorbs", "file_hash, xorb_hash", false},
	{"xet_dedup", "chunk_hash, xorb_hash, file_hash", false},
	// Mirror fills and their chunks are transient leases, and the fence
	// counter starts afresh with them: none is copied.
	{"mirror_upstreams", "name, url, policy, token, backoff_until, updated_at", false},
	{"mirror_repos", "repo_id, upstream, upstream_private, upstream_gated, synced_at, pinned, created_at", false},
	{"mirror_objects", "upstream, oid, size, used_at", false},
}

type baser interface{ base() *Store }

func (s *Store) base() *Store { return s }

// CopyTo copies every record of s into dst, which must be another
// sqlstore-based store (SQLite or PostgreSQL) with an empty, migrated
// schema. Ids are preserved. progress is called per table.
func (s *Store) CopyTo(ctx context.Context, dst meta.Store, progress func(table string, rows int64)) error {
	b, ok := dst.(baser)
	if !ok {
		return errors.New("copy: the target is not a SQL metadata store")
	}
	d := b.base()
	var n int64
	if err := d.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM repos)`).Scan(&n); err != nil {
		return fmt.Errorf("copy: inspect target: %w", err)
	}
	if n > 0 {
		return errors.New("copy: the target store is not empty")
	}
	return d.InTx(ctx, func(tx meta.Tx) error {
		q := tx.(*ops).q
		for _, t := range copyTables {
			rows, err := s.db.QueryContext(ctx, `SELECT `+t.cols+` FROM `+t.name)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			ncol := len(strings.Split(t.cols, ","))
			ph := make([]string, ncol)
			for i := range ph {
				ph[i] = "$" + strconv.Itoa(i+1)
			}
			insert := `INSERT INTO ` + t.name + ` (` + t.cols + `) VALUES (` + strings.Join(ph, ", ") + `)`
			var count int64
			for rows.Next() {
				vals := make([]any, ncol)
				ptrs := make([]any, ncol)
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return fmt.Errorf("copy %s: %w", t.name, err)
				}
				for i, v := range vals {
					// SQLite returns TEXT as string and BLOB as []byte;
					// both drivers accept them back as is.
					if sv, ok := v.(sql.RawBytes); ok {
						vals[i] = []byte(sv)
					}
				}
				if _, err := q.ExecContext(ctx, insert, vals...); err != nil {
					rows.Close()
					return fmt.Errorf("copy %s: %w", t.name, err)
				}
				count++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			if t.idTable && d.d.ResetSequence != nil {
				if _, err := q.ExecContext(ctx, d.d.ResetSequence(t.name)); err != nil {
					return fmt.Errorf("copy %s: reset id sequence: %w", t.name, err)
				}
			}
			if progress != nil {
				progress(t.name, count)
			}
		}
		return nil
	})
}
