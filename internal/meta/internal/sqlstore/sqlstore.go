// Package sqlstore implements meta.Store on database/sql for the SQL
// dialects Agora supports. Every query is written once, with $N
// placeholders, which both SQLite (modernc) and PostgreSQL (pgx) accept
// natively, so no placeholder rewriting happens. What differs between the
// dialects (schema files, error classification, connection setup) stays in
// sqlitemeta and pgmeta.
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Dialect is what a database package tells the shared implementation.
type Dialect struct {
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(err error) bool
	// IsRetryable reports whether a transaction failed only because of
	// concurrency (busy database, serialisation failure) and may be rerun.
	IsRetryable func(err error) bool
	// Search returns the condition "r.lname contains the search term",
	// given the placeholder of the LIKE pattern (%term%, escaped with
	// backslashes) and whether the term is long enough for a trigram
	// index (3 characters or more, no wildcard characters).
	Search func(placeholder string, indexable bool) string
	// ResetSequence, if set, returns the statement that moves a table's
	// id sequence past its largest id (after a copy with explicit ids).
	ResetSequence func(table string) string
	// CacheStatements keeps prepared statements per query text, for
	// drivers that would otherwise parse every query on every call.
	CacheStatements bool
	// IsForeignKey reports whether err is a foreign-key violation, and
	// IsFull whether the database could not grow (see classified).
	IsForeignKey, IsFull func(err error) bool
}

// Store implements meta.Store.
type Store struct {
	db    *sql.DB
	d     Dialect
	cache *stmtCache // nil unless the dialect asks for it
	ops
}

var _ meta.Store = (*Store)(nil)

// New wraps an open, migrated database.
func New(db *sql.DB, d Dialect) *Store {
	s := &Store{db: db, d: d}
	s.ops = ops{q: classified{db, d}, d: d, top: s}
	if d.CacheStatements {
		s.cache = newStmtCache(db)
		s.ops.q = classified{s.cache, d}
	}
	return s
}

// DB returns the underlying database (for tests and admin tools).
func (s *Store) DB() *sql.DB { return s.db }

// Ping implements meta.Store.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements meta.Store.
func (s *Store) Close() error {
	if s.cache != nil {
		s.cache.close()
	}
	return s.db.Close()
}

// InTx implements meta.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx meta.Tx) error) error {
	const attempts = 8
	var err error
	for i := 0; i < attempts; i++ {
		err = s.inTxOnce(ctx, fn)
		if err == nil || !s.d.IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func (s *Store) inTxOnce(ctx context.Context, fn func(tx meta.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var q queryer = tx
	if s.cache != nil {
		q = txCache{tx: tx, c: s.cache}
	}
	if err := fn(&ops{q: classified{q, s.d}, d: s.d}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", s.d.classify(err))
	}
	return nil
}

type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops holds every store method; it runs on the database (each statement
// on its own) or inside a transaction.
type ops struct {
	q   queryer
	d   Dialect
	top *Store // set outside transactions, for methods that need one
}

// inTx runs fn in a transaction: the current one, or a new one.
func (o *ops) inTx(ctx context.Context, fn func(o *ops) error) error {
	if o.top == nil {
		return fn(o)
	}
	return o.top.InTx(ctx, func(tx meta.Tx) error { return fn(tx.(*ops)) })
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, meta.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (o *ops) wrapWrite(err error, what string) error {
	if o.d.IsUnique(err) {
		return fmt.Errorf("%s: %w", what, meta.ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ---- users

const userCols = `id, name, full_name, email, is_admin, password_hash, created_at, kind, default_private, details`

// userColsOf is userCols for a table alias.
func userColsOf(alias string) string {
	return strings.ReplaceAll("a.id, a.name, a.full_name, a.email, a.is_admin, a.password_hash, a.created_at, a.kind, a.default_private, a.details", "a.", alias+".")
}

func scanUser(row interface{ Scan(...any) error }) (*meta.User, error) {
	var us userScan
	if err := row.Scan(us.dest()...); err != nil {
		return nil, err
	}
	u := us.user()
	return &u, nil
}

// userScan receives the columns of userCols.
type userScan struct {
	u              meta.User
	admin, defPriv int
	created        int64
}

func (s *userScan) dest() []any {
	u := &s.u
	return []any{&u.ID, &u.Name, &u.FullName, &u.Email, &s.admin, &u.PasswordHash, &s.created, &u.Kind, &s.defPriv, &u.Details}
}

func (s *userScan) user() meta.User {
	u := s.u
	u.IsAdmin, u.DefaultPrivate, u.CreatedAt = s.admin != 0, s.defPriv != 0, fromMS(s.created)
	return u
}

func (o *ops) CreateUser(ctx context.Context, u *meta.User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	if u.Kind == "" {
		u.Kind = meta.KindUser
	}
	err := o.q.QueryRowContext(ctx, `INSERT INTO users (name, lname, full_name, email, is_admin, password_hash, created_at, kind, default_private, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		u.Name, strings.ToLower(u.Name), u.FullName, u.Email, b2i(u.IsAdmin), u.PasswordHash, ms(u.CreatedAt),
		u.Kind, b2i(u.DefaultPrivate), u.Details).Scan(&u.ID)
	if err != nil {
		return o.wrapWrite(err, "create user "+u.Name)
	}
	return nil
}

func (o *ops) UserByName(ctx context.Context, name string) (*meta.User, error) {
	u, err := scanUser(o.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE lname = $1`, strings.ToLower(name)))
	if err != nil {
		return nil, notFound(err, "user "+name)
	}
	return u, nil
}

func (o *ops) UserByID(ctx context.Context, id int64) (*meta.User, error) {
	u, err := scanUser(o.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "user "+strconv.FormatInt(id, 10))
	}
	return u, nil
}

func (o *ops) UpdateUser(ctx context.Context, u *meta.User) error {
	res, err := o.q.ExecContext(ctx, `UPDATE users SET full_name = $1, email = $2, is_admin = $3, password_hash = $4 WHERE id = $5`,
		u.FullName, u.Email, b2i(u.IsAdmin), u.PasswordHash, u.ID)
	return rowsOrNotFound(res, err, "update user "+u.Name)
}

func rowsOrNotFound(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, meta.ErrNotFound)
	}
	return nil
}

// ---- tokens

const tokenCols = `t.id, t.user_id, t.name, t.hash, t.role, t.created_at, t.expires_at, t.scopes`

type tokenScan struct {
	t                meta.Token
	created, expires int64
	scopes           string
}

func (s *tokenScan) dest() []any {
	t := &s.t
	return []any{&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Role, &s.created, &s.expires, &s.scopes}
}

func (s *tokenScan) token() (meta.Token, error) {
	t := s.t
	t.CreatedAt = fromMS(s.created)
	if s.expires != 0 {
		t.ExpiresAt = fromMS(s.expires)
	}
	if s.scopes != "" {
		t.Scopes = new(meta.TokenScopes)
		if err := json.Unmarshal([]byte(s.scopes), t.Scopes); err != nil {
			return t, fmt.Errorf("token %d: scopes: %w", t.ID, err)
		}
	}
	return t, nil
}

func (o *ops) CreateToken(ctx context.Context, t *meta.Token) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	var expires int64
	if !t.ExpiresAt.IsZero() {
		expires = ms(t.ExpiresAt)
	}
	scopes := ""
	if t.Scopes != nil {
		b, err := json.Marshal(t.Scopes)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		scopes = string(b)
	}
	err := o.q.QueryRowContext(ctx, `INSERT INTO tokens (user_id, name, hash, role, created_at, expires_at, scopes)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.UserID, t.Name, t.Hash, t.Role, ms(t.CreatedAt), expires, scopes).Scan(&t.ID)
	if err != nil {
		return o.wrapWrite(err, "create token")
	}
	return nil
}

func (o *ops) TokenByHash(ctx context.Context, hash []byte) (*meta.Token, *meta.User, error) {
	row := o.q.QueryRowContext(ctx, `SELECT `+tokenCols+`, `+userColsOf("u")+`
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash)
	var ts tokenScan
	var us userScan
	if err := row.Scan(append(ts.dest(), us.dest()...)...); err != nil {
		return nil, nil, notFound(err, "token")
	}
	t, err := ts.token()
	if err != nil {
		return nil, nil, err
	}
	u := us.user()
	return &t, &u, nil
}

func (o *ops) ListTokens(ctx context.Context, userID int64) ([]meta.Token, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens t WHERE t.user_id = $1 ORDER BY t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []meta.Token
	for rows.Next() {
		var ts tokenScan
		if err := rows.Scan(ts.dest()...); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t, err := ts.token()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (o *ops) DeleteTokensNamed(ctx context.Context, userID int64, name string) (int, error) {
	res, err := o.q.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = $1 AND name = $2`, userID, name)
	if err != nil {
		return 0, fmt.Errorf("delete tokens %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (o *ops) DeleteToken(ctx context.Context, userID, tokenID int64) error {
	res, err := o.q.ExecContext(ctx, `DELETE FROM tokens WHERE id = $1 AND user_id = $2`, tokenID, userID)
	return rowsOrNotFound(res, err, "delete token")
}

// ---- repos

const repoCols = `r.id, r.public_id, r.type, r.namespace, r.name, r.private, r.gated, r.default_branch,
	r.allow_force_push, r.created_at, r.updated_at, r.downloads, r.likes, r.downloads_all_time, r.trending, r.creator_id`

type repoScan struct {
	r                meta.Repo
	priv, force      int
	created, updated int64
}

func (s *repoScan) dest() []any {
	r := &s.r
	return []any{&r.ID, &r.PublicID, &r.Type, &r.Namespace, &r.Name, &s.priv, &r.Gated, &r.DefaultBranch,
		&s.force, &s.created, &s.updated, &r.Downloads, &r.Likes, &r.DownloadsAllTime, &r.Trending, &r.CreatorID}
}

func (s *repoScan) repo() meta.Repo {
	r := s.r
	r.Private, r.AllowForcePush = s.priv != 0, s.force != 0
	r.CreatedAt, r.UpdatedAt = fromMS(s.created), fromMS(s.updated)
	return r
}

func (o *ops) CreateRepo(ctx context.Context, r *meta.Repo) error {
	now := time.Now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	err := o.q.QueryRowContext(ctx, `INSERT INTO repos (public_id, type, namespace, name, lname, private, gated, default_branch,
		allow_force_push, created_at, updated_at, changed_at, creator_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		r.PublicID, r.Type, r.Namespace, r.Name, meta.LowerName(r.Namespace, r.Name), b2i(r.Private), r.Gated,
		r.DefaultBranch, b2i(r.AllowForcePush), ms(r.CreatedAt), ms(r.UpdatedAt), ms(time.Now()), r.CreatorID).Scan(&r.ID)
	if err != nil {
		return o.wrapWrite(err, "create repo "+r.FullName())
	}
	// A new repository takes its name back from any redirect.
	if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_redirects WHERE type = $1 AND lname = $2`,
		r.Type, meta.LowerName(r.Namespace, r.Name)); err != nil {
		return fmt.Errorf("create repo %s: clear redirect: %w", r.FullName(), err)
	}
	// SQLite may hand out the id of a deleted repository again.
	if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_tombstones WHERE repo_id = $1`, r.ID); err != nil {
		return fmt.Errorf("create repo %s: clear tombstone: %w", r.FullName(), err)
	}
	return nil
}

func (o *ops) oneRepo(ctx context.Context, what, where string, args ...any) (*meta.Repo, error) {
	var s repoScan
	if err := o.q.QueryRowContext(ctx, `SELECT `+repoCols+` FROM repos r WHERE `+where, args...).Scan(s.dest()...); err != nil {
		return nil, notFound(err, what)
	}
	r := s.repo()
	return &r, nil
}

func (o *ops) RepoByName(ctx context.Context, typ, namespace, name string) (*meta.Repo, error) {
	return o.oneRepo(ctx, "repo "+namespace+"/"+name, `r.type = $1 AND r.lname = $2`, typ, meta.LowerName(namespace, name))
}

func (o *ops) RepoWithHead(ctx context.Context, typ, namespace, name string) (*meta.Repo, gitobj.ID, error) {
	var s repoScan
	var head []byte
	err := o.q.QueryRowContext(ctx, `SELECT `+repoCols+`,
		(SELECT f.target FROM refs f WHERE f.repo_id = r.id AND f.name = 'refs/heads/' || r.default_branch)
		FROM repos r WHERE r.type = $1 AND r.lname = $2`, typ, meta.LowerName(namespace, name)).Scan(append(s.dest(), &head)...)
	if err != nil {
		return nil, gitobj.ZeroID, notFound(err, "repo "+namespace+"/"+name)
	}
	r := s.repo()
	var id gitobj.ID
	copy(id[:], head)
	return &r, id, nil
}

func (o *ops) RepoByID(ctx context.Context, id int64) (*meta.Repo, error) {
	return o.oneRepo(ctx, "repo "+strconv.FormatInt(id, 10), `r.id = $1`, id)
}

func (o *ops) UpdateRepo(ctx context.Context, r *meta.Repo) error {
	res, err := o.q.ExecContext(ctx, `UPDATE repos SET private = $1, gated = $2, default_branch = $3, allow_force_push = $4,
		updated_at = $5, changed_at = $7 WHERE id = $6`, b2i(r.Private), r.Gated, r.DefaultBranch, b2i(r.AllowForcePush), ms(r.UpdatedAt), r.ID, ms(time.Now()))
	return rowsOrNotFound(res, err, "update repo "+r.FullName())
}

func (o *ops) RenameRepo(ctx context.Context, id int64, namespace, name string) error {
	return o.inTx(ctx, func(o *ops) error {
		r, err := o.RepoByID(ctx, id)
		if err != nil {
			return err
		}
		newL := meta.LowerName(namespace, name)
		if _, err := o.q.ExecContext(ctx, `UPDATE repos SET namespace = $1, name = $2, lname = $3, changed_at = $5 WHERE id = $4`,
			namespace, name, newL, id, ms(time.Now())); err != nil {
			return o.wrapWrite(err, "rename repo "+r.FullName())
		}
		oldL := meta.LowerName(r.Namespace, r.Name)
		if oldL == newL {
			return nil // a change of case only
		}
		if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_redirects WHERE type = $1 AND lname = $2`, r.Type, newL); err != nil {
			return fmt.Errorf("rename repo: %w", err)
		}
		if _, err := o.q.ExecContext(ctx, `INSERT INTO repo_redirects (type, lname, repo_id) VALUES ($1, $2, $3)
			ON CONFLICT (type, lname) DO UPDATE SET repo_id = excluded.repo_id`, r.Type, oldL, id); err != nil {
			return fmt.Errorf("rename repo: record redirect: %w", err)
		}
		return nil
	})
}

func (o *ops) DeleteRepo(ctx context.Context, id int64) error {
	return o.inTx(ctx, func(o *ops) error {
		// Children first, so that the result does not depend on the
		// database enforcing ON DELETE CASCADE.
		for _, table := range []string{"objects", "refs", "repo_lfs", "repo_tags", "repo_meta", "repo_redirects", "repo_lineage", "likes", "downloads_daily", "scan_queue"} {
			if _, err := o.q.ExecContext(ctx, `DELETE FROM `+table+` WHERE repo_id = $1`, id); err != nil {
				return fmt.Errorf("delete repo %d: %s: %w", id, table, err)
			}
		}
		res, err := o.q.ExecContext(ctx, `DELETE FROM repos WHERE id = $1`, id)
		if err := rowsOrNotFound(res, err, "delete repo "+strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		if _, err := o.q.ExecContext(ctx, `INSERT INTO repo_tombstones (repo_id, changed_at) VALUES ($1, $2)
			ON CONFLICT (repo_id) DO UPDATE SET changed_at = excluded.changed_at`, id, ms(time.Now())); err != nil {
			return fmt.Errorf("delete repo %d: tombstone: %w", id, err)
		}
		return nil
	})
}

func (o *ops) Redirect(ctx context.Context, typ, namespace, name string) (int64, error) {
	var id int64
	err := o.q.QueryRowContext(ctx, `SELECT repo_id FROM repo_redirects WHERE type = $1 AND lname = $2`,
		typ, meta.LowerName(namespace, name)).Scan(&id)
	if err != nil {
		return 0, notFound(err, "redirect "+namespace+"/"+name)
	}
	return id, nil
}

// ---- objects

type keyed struct {
	id  gitobj.ID
	obj gitobj.Object
	z   []byte // obj.Data compressed, or nil to store it whole (packed.go)
}

func (o *ops) PutObjects(ctx context.Context, repoID int64, objs []gitobj.Object) error {
	if len(objs) == 0 {
		return nil
	}
	// Insert in id order: two transactions writing overlapping sets then
	// take their row locks in the same order and cannot deadlock.
	// Compressed before the transaction, which then holds its locks for
	// the inserts only.
	sorted := make([]keyed, len(objs))
	for i, obj := range objs {
		sorted[i] = keyed{obj.ID(), obj, stored(obj)}
	}
	slices.SortFunc(sorted, func(a, b keyed) int { return bytes.Compare(a.id[:], b.id[:]) })
	return o.inTx(ctx, func(o *ops) error {
		for _, k := range sorted {
			id, obj := k.id, k.obj
			var lfsOID sql.NullString
			var lfsSize sql.NullInt64
			if obj.Kind == gitobj.KindBlob {
				if p, ok := gitobj.ParsePointer(obj.Data); ok {
					lfsOID = sql.NullString{String: p.OID, Valid: true}
					lfsSize = sql.NullInt64{Int64: p.Size, Valid: true}
				}
			}
			data, z := k.z, 1
			if data == nil {
				data, z = obj.Data, 0
				if data == nil {
					data = []byte{}
				}
			}
			if _, err := o.q.ExecContext(ctx, `INSERT INTO objects (repo_id, oid, kind, size, lfs_oid, lfs_size, data, zlib)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (repo_id, oid) DO NOTHING`,
				repoID, id[:], int(obj.Kind), len(obj.Data), lfsOID, lfsSize, data, z); err != nil {
				return fmt.Errorf("put object %s: %w", id, err)
			}
		}
		return nil
	})
}

func (o *ops) GetObject(ctx context.Context, repoID int64, id gitobj.ID) (gitobj.Object, error) {
	var kind, size, z int
	var data []byte
	err := o.q.QueryRowContext(ctx, `SELECT kind, size, data, zlib FROM objects WHERE repo_id = $1 AND oid = $2`, repoID, id[:]).Scan(&kind, &size, &data, &z)
	if err != nil {
		return gitobj.Object{}, notFound(err, "object "+id.String())
	}
	if data, err = content(data, z, size); err != nil {
		return gitobj.Object{}, fmt.Errorf("object %s: %w", id, err)
	}
	return gitobj.Object{Kind: gitobj.Kind(kind), Data: data}, nil
}

// statBatch bounds the parameters of one IN list. SQLite binds "$N"
// parameters by name, with a linear search per parameter, so a list of n
// costs n² name comparisons: hundreds of ids per query are fine,
// thousands are not.
const statBatch = 100

func (o *ops) ObjectsByPrefix(ctx context.Context, repoID int64, kind gitobj.Kind, prefix string, limit int) ([]gitobj.ID, error) {
	lo, hi, err := prefixRange(prefix)
	if err != nil {
		return nil, err
	}
	// Both engines compare blobs/bytea bytewise, so an abbreviated id is a
	// range scan of the primary key.
	rows, err := o.q.QueryContext(ctx, `SELECT oid FROM objects
		WHERE repo_id = $1 AND oid >= $2 AND oid <= $3 AND kind = $4 ORDER BY oid LIMIT $5`,
		repoID, lo[:], hi[:], int(kind), limit)
	if err != nil {
		return nil, fmt.Errorf("objects by prefix %s: %w", prefix, err)
	}
	defer rows.Close()
	var out []gitobj.ID
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("objects by prefix %s: %w", prefix, err)
		}
		var id gitobj.ID
		copy(id[:], raw)
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("objects by prefix %s: %w", prefix, err)
	}
	return out, nil
}

// prefixRange turns a hex prefix into the lowest and highest ids that
// start with it.
func prefixRange(prefix string) (lo, hi gitobj.ID, err error) {
	if len(prefix) == 0 || len(prefix) > 2*len(lo) {
		return lo, hi, fmt.Errorf("objects by prefix: bad prefix length %d", len(prefix))
	}
	for i := range hi {
		hi[i] = 0xff
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return lo, hi, fmt.Errorf("objects by prefix: %q is not lowercase hex", prefix)
		}
		if i%2 == 0 {
			lo[i/2] = v << 4
			hi[i/2] = v<<4 | 0x0f
		} else {
			lo[i/2] |= v
			hi[i/2] = lo[i/2]
		}
	}
	return lo, hi, nil
}

func (o *ops) StatObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]meta.ObjectInfo, error) {
	out := make(map[gitobj.ID]meta.ObjectInfo, len(ids))
	for start := 0; start < len(ids); start += statBatch {
		chunk := ids[start:min(start+statBatch, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, repoID)
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id[:])
			ph[i] = "$" + strconv.Itoa(i+2)
		}
		rows, err := o.q.QueryContext(ctx, `SELECT oid, kind, size, lfs_oid, lfs_size FROM objects
			WHERE repo_id = $1 AND oid IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("stat objects: %w", err)
		}
		for rows.Next() {
			var raw []byte
			var kind int
			var size int64
			var lfsOID sql.NullString
			var lfsSize sql.NullInt64
			if err := rows.Scan(&raw, &kind, &size, &lfsOID, &lfsSize); err != nil {
				rows.Close()
				return nil, fmt.Errorf("stat objects: %w", err)
			}
			var id gitobj.ID
			copy(id[:], raw)
			info := meta.ObjectInfo{Kind: gitobj.Kind(kind), Size: size}
			if lfsOID.Valid {
				info.LFS = &gitobj.Pointer{OID: lfsOID.String, Size: lfsSize.Int64}
			}
			out[id] = info
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("stat objects: %w", err)
		}
	}
	return out, nil
}

// ---- refs

func (o *ops) ListRefs(ctx context.Context, repoID int64) ([]meta.Ref, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT name, target FROM refs WHERE repo_id = $1 ORDER BY name`, repoID)
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	defer rows.Close()
	var out []meta.Ref
	for rows.Next() {
		var r meta.Ref
		var raw []byte
		if err := rows.Scan(&r.Name, &raw); err != nil {
			return nil, fmt.Errorf("list refs: %w", err)
		}
		copy(r.Target[:], raw)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (o *ops) GetRef(ctx context.Context, repoID int64, name string) (gitobj.ID, error) {
	var raw []byte
	if err := o.q.QueryRowContext(ctx, `SELECT target FROM refs WHERE repo_id = $1 AND name = $2`, repoID, name).Scan(&raw); err != nil {
		return gitobj.ZeroID, notFound(err, "ref "+name)
	}
	var id gitobj.ID
	copy(id[:], raw)
	return id, nil
}

func (o *ops) UpdateRef(ctx context.Context, repoID int64, name string, old, new gitobj.ID) error {
	conflict := fmt.Errorf("update ref %s from %s: %w", name, old, meta.ErrConflict)
	var res sql.Result
	var err error
	switch {
	case old.IsZero() && new.IsZero():
		return fmt.Errorf("update ref %s: nothing to do", name)
	case old.IsZero():
		res, err = o.q.ExecContext(ctx, `INSERT INTO refs (repo_id, name, target) VALUES ($1, $2, $3) ON CONFLICT (repo_id, name) DO NOTHING`,
			repoID, name, new[:])
	case new.IsZero():
		res, err = o.q.ExecContext(ctx, `DELETE FROM refs WHERE repo_id = $1 AND name = $2 AND target = $3`, repoID, name, old[:])
	default:
		res, err = o.q.ExecContext(ctx, `UPDATE refs SET target = $1 WHERE repo_id = $2 AND name = $3 AND target = $4`,
			new[:], repoID, name, old[:])
	}
	if err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if n != 1 {
		// Nothing matched: a lost compare-and-swap, or a repository that
		// was deleted meanwhile, which must not look like a race worth
		// retrying.
		var one int
		err := o.q.QueryRowContext(ctx, `SELECT 1 FROM repos WHERE id = $1`, repoID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("update ref %s: repo %d: %w", name, repoID, meta.ErrNotFound)
		}
		return conflict
	}
	return nil
}

// ---- LFS links

func (o *ops) AddLFSObject(ctx context.Context, repoID int64, oid string, size int64) error {
	// created_at is the link's use time (meta.Maintenance): linking again
	// refreshes it, so that a fresh upload is never collected.
	_, err := o.q.ExecContext(ctx, `INSERT INTO repo_lfs (repo_id, oid, size, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (repo_id, oid) DO UPDATE SET created_at = excluded.created_at`, repoID, oid, size, ms(time.Now()))
	if err != nil {
		return fmt.Errorf("link lfs object %s: %w", oid, err)
	}
	return nil
}

func (o *ops) LFSObject(ctx context.Context, repoID int64, oid string) (int64, error) {
	var size int64
	if err := o.q.QueryRowContext(ctx, `SELECT size FROM repo_lfs WHERE repo_id = $1 AND oid = $2`, repoID, oid).Scan(&size); err != nil {
		return 0, notFound(err, "lfs object "+oid)
	}
	return size, nil
}

// ---- derived metadata

func (o *ops) PutRepoMeta(ctx context.Context, repoID int64, m *meta.RepoMeta) error {
	return o.inTx(ctx, func(o *ops) error {
		var card, info sql.NullString
		if m.CardData != nil {
			card = sql.NullString{String: string(m.CardData), Valid: true}
		}
		if m.Info != nil {
			info = sql.NullString{String: string(m.Info), Valid: true}
		}
		tags := distinctTags(m.Tags)
		tagsJSON, err := json.Marshal(tags)
		if err != nil {
			return fmt.Errorf("put repo meta: tags: %w", err)
		}
		if _, err := o.q.ExecContext(ctx, `INSERT INTO repo_meta (repo_id, sha, card_data, card_error, pipeline_tag, library_name,
			num_parameters, info, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (repo_id) DO UPDATE SET sha = excluded.sha, card_data = excluded.card_data, card_error = excluded.card_error,
			pipeline_tag = excluded.pipeline_tag, library_name = excluded.library_name, num_parameters = excluded.num_parameters,
			info = excluded.info, tags = excluded.tags`,
			repoID, m.Sha[:], card, m.CardError, m.PipelineTag, m.LibraryName, m.NumParameters, info, string(tagsJSON)); err != nil {
			return fmt.Errorf("put repo meta: %w", err)
		}
		if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_tags WHERE repo_id = $1`, repoID); err != nil {
			return fmt.Errorf("put repo meta: clear tags: %w", err)
		}
		if _, err := o.q.ExecContext(ctx, `UPDATE repos SET changed_at = $2 WHERE id = $1`, repoID, ms(time.Now())); err != nil {
			return fmt.Errorf("put repo meta: %w", err)
		}
		if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_lineage WHERE repo_id = $1`, repoID); err != nil {
			return fmt.Errorf("put repo meta: clear lineage: %w", err)
		}
		seenBase := map[string]bool{}
		for i, e := range m.Bases {
			l := strings.ToLower(e.Base)
			if seenBase[l] {
				continue
			}
			seenBase[l] = true
			if _, err := o.q.ExecContext(ctx, `INSERT INTO repo_lineage (repo_id, base_lname, base_name, relation, pos) VALUES ($1, $2, $3, $4, $5)`,
				repoID, l, e.Base, e.Relation, i); err != nil {
				return fmt.Errorf("put repo meta: lineage %q: %w", e.Base, err)
			}
		}
		for i, t := range tags {
			if _, err := o.q.ExecContext(ctx, `INSERT INTO repo_tags (repo_id, tag, pos) VALUES ($1, $2, $3)`, repoID, t, i); err != nil {
				return fmt.Errorf("put repo meta: tag %q: %w", t, err)
			}
		}
		return nil
	})
}

// distinctTags is tags without repeats, in order; never nil, so that no
// tags is stored as [].
func distinctTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func (o *ops) GetRepoMeta(ctx context.Context, repoID int64) (*meta.RepoMeta, error) {
	var m meta.RepoMeta
	var sha []byte
	var card, info, tags sql.NullString
	err := o.q.QueryRowContext(ctx, `SELECT m.sha, m.card_data, m.card_error, m.pipeline_tag, m.library_name, m.num_parameters, m.info,
		m.tags FROM repos r JOIN repo_meta m ON m.repo_id = r.id WHERE r.id = $1`, repoID).
		Scan(&sha, &card, &m.CardError, &m.PipelineTag, &m.LibraryName, &m.NumParameters, &info, &tags)
	if err != nil {
		return nil, notFound(err, "repo meta")
	}
	if m.Tags, err = decodeTags(tags); err != nil {
		return nil, fmt.Errorf("repo meta: %w", err)
	}
	copy(m.Sha[:], sha)
	if card.Valid {
		m.CardData = []byte(card.String)
	}
	if info.Valid {
		m.Info = []byte(info.String)
	}
	return &m, nil
}

// decodeTags reads a repo_meta.tags column; no tags is nil.
func decodeTags(col sql.NullString) ([]string, error) {
	if !col.Valid || col.String == "[]" {
		return nil, nil
	}
	if tags, ok := plainTags(col.String); ok {
		return tags, nil
	}
	var tags []string
	if err := json.Unmarshal([]byte(col.String), &tags); err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	return tags, nil
}

// plainTags decodes a JSON array of strings without escapes, the common
// case, in one pass and one allocation for the strings: every listing row
// decodes its tags, and encoding/json was a tenth of a listing's reads.
// ok is false for anything else (escapes, invalid UTF-8, other values),
// which json.Unmarshal then decodes or refuses.
func plainTags(s string) (tags []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || strings.IndexByte(s, '\\') >= 0 || !utf8.ValidString(s) {
		return nil, false
	}
	const space = " \t\r\n" // JSON's whitespace, no other
	body := strings.Trim(s[1:len(s)-1], space)
	if body == "" {
		return nil, true
	}
	tags = make([]string, 0, strings.Count(body, ",")+1)
	for {
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[1:], '"') + 1
		if end == 0 {
			return nil, false
		}
		tag := body[1:end]
		for i := range len(tag) {
			if tag[i] < 0x20 {
				return nil, false // JSON strings hold no raw control characters
			}
		}
		tags = append(tags, tag)
		body = strings.TrimLeft(body[end+1:], space)
		if body == "" {
			return tags, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = strings.TrimLeft(body[1:], space)
	}
}

// ---- secrets

func (o *ops) Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	var v []byte
	err := o.q.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	if _, err := o.q.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, gen()); err != nil {
		return nil, fmt.Errorf("create secret %s: %w", name, err)
	}
	if err := o.q.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", name, err)
	}
	return v, nil
}
