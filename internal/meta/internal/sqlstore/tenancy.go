package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// ---- organisations

func (o *ops) SetOrgMember(ctx context.Context, orgID, userID int64, role string) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`, orgID, userID, role, ms(time.Now()))
	if err != nil {
		return o.wrapWrite(err, "set org member")
	}
	return nil
}

func (o *ops) RemoveOrgMember(ctx context.Context, orgID, userID int64) error {
	res, err := o.q.ExecContext(ctx, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID)
	return rowsOrNotFound(res, err, "remove org member")
}

func (o *ops) OrgRole(ctx context.Context, orgID, userID int64) (string, error) {
	var role string
	err := o.q.QueryRowContext(ctx, `SELECT role FROM org_members WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&role)
	if err != nil {
		return "", notFound(err, "org role")
	}
	return role, nil
}

// members runs a membership query whose columns are the member's
// userCols, the organisation's userCols, the role and the time it joined.
func (o *ops) members(ctx context.Context, what, query string, args ...any) ([]meta.Member, error) {
	rows, err := o.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []meta.Member
	for rows.Next() {
		var us, os userScan
		var m meta.Member
		var created int64
		if err := rows.Scan(append(append(us.dest(), os.dest()...), &m.Role, &created)...); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		m.User, m.Org, m.CreatedAt = us.user(), os.user(), fromMS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (o *ops) OrgMembers(ctx context.Context, orgID int64, after string, limit int) ([]meta.Member, error) {
	if limit <= 0 {
		limit = 1000
	}
	return o.members(ctx, "org members", `SELECT `+userColsOf("u")+`, `+userColsOf("g")+`, m.role, m.created_at
		FROM org_members m JOIN users u ON u.id = m.user_id JOIN users g ON g.id = m.org_id
		WHERE m.org_id = $1 AND u.lname > $2 ORDER BY u.lname LIMIT `+strconv.Itoa(limit), orgID, strings.ToLower(after))
}

func (o *ops) CountOrgMembers(ctx context.Context, orgID int64) (int64, error) {
	var n int64
	if err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM org_members WHERE org_id = $1`, orgID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count org members: %w", err)
	}
	return n, nil
}

func (o *ops) UserOrgs(ctx context.Context, userID int64) ([]meta.Member, error) {
	return o.members(ctx, "user orgs", `SELECT `+userColsOf("u")+`, `+userColsOf("g")+`, m.role, m.created_at
		FROM org_members m JOIN users u ON u.id = m.user_id JOIN users g ON g.id = m.org_id
		WHERE m.user_id = $1 ORDER BY g.lname`, userID)
}

func (o *ops) UpdateOrg(ctx context.Context, org *meta.User) error {
	res, err := o.q.ExecContext(ctx, `UPDATE users SET full_name = $1, details = $2, default_private = $3 WHERE id = $4 AND kind = $5`,
		org.FullName, org.Details, b2i(org.DefaultPrivate), org.ID, meta.KindOrg)
	return rowsOrNotFound(res, err, "update org "+org.Name)
}

// ---- access requests

func (o *ops) PutAccessRequest(ctx context.Context, r *meta.AccessRequest) error {
	fields := ""
	if len(r.Fields) > 0 {
		b, err := json.Marshal(r.Fields)
		if err != nil {
			return fmt.Errorf("put access request: %w", err)
		}
		fields = string(b)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now()
	}
	var reviewed int64
	if !r.ReviewedAt.IsZero() {
		reviewed = ms(r.ReviewedAt)
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO access_requests (repo_id, user_id, status, fields, created_at, reviewed_at, reviewed_by, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (repo_id, user_id) DO UPDATE SET status = excluded.status, fields = excluded.fields,
		created_at = excluded.created_at, reviewed_at = excluded.reviewed_at, reviewed_by = excluded.reviewed_by, reason = excluded.reason`,
		r.RepoID, r.User.ID, r.Status, fields, ms(r.CreatedAt), reviewed, r.ReviewedBy, r.Reason)
	if err != nil {
		return o.wrapWrite(err, "put access request")
	}
	return nil
}

func (o *ops) DeleteAccessRequest(ctx context.Context, repoID, userID int64) error {
	res, err := o.q.ExecContext(ctx, `DELETE FROM access_requests WHERE repo_id = $1 AND user_id = $2`, repoID, userID)
	return rowsOrNotFound(res, err, "delete access request")
}

const accessCols = `a.repo_id, a.status, a.fields, a.created_at, a.reviewed_at, a.reviewed_by, a.reason`

func scanAccess(row interface{ Scan(...any) error }) (*meta.AccessRequest, error) {
	var r meta.AccessRequest
	var us userScan
	var fields string
	var created, reviewed int64
	if err := row.Scan(append([]any{&r.RepoID, &r.Status, &fields, &created, &reviewed, &r.ReviewedBy, &r.Reason}, us.dest()...)...); err != nil {
		return nil, err
	}
	r.User, r.CreatedAt = us.user(), fromMS(created)
	if reviewed != 0 {
		r.ReviewedAt = fromMS(reviewed)
	}
	if fields != "" {
		if err := json.Unmarshal([]byte(fields), &r.Fields); err != nil {
			return nil, fmt.Errorf("access request fields: %w", err)
		}
	}
	return &r, nil
}

func (o *ops) GetAccessRequest(ctx context.Context, repoID, userID int64) (*meta.AccessRequest, error) {
	r, err := scanAccess(o.q.QueryRowContext(ctx, `SELECT `+accessCols+`, `+userColsOf("u")+`
		FROM access_requests a JOIN users u ON u.id = a.user_id WHERE a.repo_id = $1 AND a.user_id = $2`, repoID, userID))
	if err != nil {
		return nil, notFound(err, "access request")
	}
	return r, nil
}

func (o *ops) ListAccessRequests(ctx context.Context, repoID int64, status string, after meta.AccessCursor, limit int) ([]meta.AccessRequest, error) {
	if limit <= 0 {
		limit = 1000
	}
	var afterMS int64 = -1
	if !after.CreatedAt.IsZero() {
		afterMS = ms(after.CreatedAt)
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+accessCols+`, `+userColsOf("u")+`
		FROM access_requests a JOIN users u ON u.id = a.user_id
		WHERE a.repo_id = $1 AND a.status = $2 AND (a.created_at > $3 OR a.created_at = $3 AND a.user_id > $4)
		ORDER BY a.created_at, a.user_id LIMIT `+strconv.Itoa(limit), repoID, status, afterMS, after.UserID)
	if err != nil {
		return nil, fmt.Errorf("list access requests: %w", err)
	}
	defer rows.Close()
	var out []meta.AccessRequest
	for rows.Next() {
		r, err := scanAccess(rows)
		if err != nil {
			return nil, fmt.Errorf("list access requests: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// ---- audit log

func (o *ops) AddAudit(ctx context.Context, e *meta.AuditEvent) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	err := o.q.QueryRowContext(ctx, `INSERT INTO audit_log (at, actor_id, actor, action, namespace, target, detail, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		ms(e.At), e.ActorID, e.Actor, e.Action, strings.ToLower(e.Namespace), e.Target, e.Detail, e.IP).Scan(&e.ID)
	if err != nil {
		return o.wrapWrite(err, "add audit event")
	}
	return nil
}

func (o *ops) ListAudit(ctx context.Context, namespace string, before int64, limit int) ([]meta.AuditEvent, error) {
	if limit <= 0 {
		limit = 100
	}
	where, args := `id < $1`, []any{before}
	if before <= 0 {
		args[0] = int64(1) << 62
	}
	if namespace != "" {
		where += ` AND namespace = $2`
		args = append(args, strings.ToLower(namespace))
	}
	rows, err := o.q.QueryContext(ctx, `SELECT id, at, actor_id, actor, action, namespace, target, detail, ip FROM audit_log
		WHERE `+where+` ORDER BY id DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []meta.AuditEvent
	for rows.Next() {
		var e meta.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.Namespace, &e.Target, &e.Detail, &e.IP); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ---- external identities

func (o *ops) LinkExternalIdentity(ctx context.Context, issuer, subject string, userID int64) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO external_identities (issuer, subject, user_id) VALUES ($1, $2, $3)`, issuer, subject, userID)
	if err != nil {
		return o.wrapWrite(err, "link external identity")
	}
	return nil
}

func (o *ops) UserByExternalIdentity(ctx context.Context, issuer, subject string) (*meta.User, error) {
	u, err := scanUser(o.q.QueryRowContext(ctx, `SELECT `+userColsOf("u")+` FROM external_identities x JOIN users u ON u.id = x.user_id
		WHERE x.issuer = $1 AND x.subject = $2`, issuer, subject))
	if err != nil {
		return nil, notFound(err, "external identity")
	}
	return u, nil
}
