package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// AccessRequest is a user's request for a gated repository.
type AccessRequest = meta.AccessRequest

// AccessCursor is a position in a listing of access requests.
type AccessCursor = meta.AccessCursor

// Access request states.
const (
	AccessPending  = meta.AccessPending
	AccessAccepted = meta.AccessAccepted
	AccessRejected = meta.AccessRejected
)

// Limits on what a request form may carry.
const (
	maxGateFields     = 50
	maxGateFieldBytes = 2000
	maxRejectReason   = 200
)

func notGated(r *meta.Repo) error {
	return errorf(ErrNotGated, "%s %s is not gated", r.Type, r.FullName())
}

// RequestAccess records the caller's request for a gated repository, with
// the answers to its form. In "auto" mode the request is accepted at once,
// in "manual" it waits for the owners. A rejected user cannot ask again
// (as on the Hub, where the form then does nothing); an accepted one keeps
// access. It returns the request's state.
func (s *Service) RequestAccess(ctx context.Context, who *auth.Identity, ref RepoRef, fields map[string]string) (string, error) {
	if who == nil {
		return "", errorf(ErrUnauthenticated, "You must be signed in to request access")
	}
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		return "", err
	}
	// A request hands the user's name and e-mail to the repository's
	// authors: an act of the account, which a read token (one pasted in
	// a CI log) or a token scoped to resources may not do.
	if err := requireAccountChange(who); err != nil {
		return "", err
	}
	if r.Gated == "" {
		return "", notGated(r)
	}
	if len(fields) > maxGateFields {
		return "", errorf(ErrInvalid, "Too many form fields")
	}
	for k, v := range fields {
		if len(k) > maxGateFieldBytes || len(v) > maxGateFieldBytes || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "", errorf(ErrInvalid, "Form field %q is too long or not text", k)
		}
	}
	cur, err := s.meta.GetAccessRequest(ctx, r.ID, who.User.ID)
	switch {
	case err == nil && (cur.Status == AccessAccepted || cur.Status == AccessRejected):
		return cur.Status, nil
	case err != nil && !errors.Is(err, meta.ErrNotFound):
		return "", fmt.Errorf("request access: %w", err)
	}
	req := &meta.AccessRequest{RepoID: r.ID, User: *who.User, Status: AccessPending, Fields: fields, CreatedAt: time.Now()}
	if r.Gated == "auto" {
		req.Status, req.ReviewedAt = AccessAccepted, req.CreatedAt
	}
	if err := s.meta.PutAccessRequest(ctx, req); err != nil {
		return "", fmt.Errorf("request access: %w", err)
	}
	s.audit(ctx, who, "access.request", r.Namespace, r.Type+":"+r.FullName(), map[string]any{"status": req.Status})
	return req.Status, nil
}

// AccessStatus returns the caller's request state for a repository ("" if
// none).
func (s *Service) AccessStatus(ctx context.Context, who *auth.Identity, r *Repo) (string, error) {
	if who == nil || r.Gated == "" {
		return "", nil
	}
	cur, err := s.meta.GetAccessRequest(ctx, r.ID, who.User.ID)
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("access status: %w", err)
	}
	return cur.Status, nil
}

// WithdrawAccessRequest cancels the caller's own pending request.
func (s *Service) WithdrawAccessRequest(ctx context.Context, who *auth.Identity, ref RepoRef) error {
	if who == nil {
		return errorf(ErrUnauthenticated, "You must be signed in")
	}
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		return err
	}
	if err := requireAccountChange(who); err != nil {
		return err
	}
	if r.Gated == "" {
		return notGated(r)
	}
	cur, err := s.meta.GetAccessRequest(ctx, r.ID, who.User.ID)
	if errors.Is(err, meta.ErrNotFound) || err == nil && cur.Status != AccessPending {
		return errorf(ErrNotFound, "No pending access request found for this repo and this user")
	}
	if err != nil {
		return fmt.Errorf("withdraw access request: %w", err)
	}
	if err := s.meta.DeleteAccessRequest(ctx, r.ID, who.User.ID); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("withdraw access request: %w", err)
	}
	return nil
}

// ListAccessRequests lists a gated repository's requests in a status, for
// those who may review them.
func (s *Service) ListAccessRequests(ctx context.Context, who *auth.Identity, ref RepoRef, status string, after AccessCursor, limit int) ([]AccessRequest, error) {
	r, err := s.repoFor(ctx, who, ref, ReadRequests)
	if err != nil {
		return nil, err
	}
	switch status {
	case AccessPending, AccessAccepted, AccessRejected:
	default:
		return nil, errorf(ErrInvalid, "Unknown access request status %q (pending, accepted or rejected)", status)
	}
	if r.Gated == "" {
		return nil, notGated(r)
	}
	return s.meta.ListAccessRequests(ctx, r.ID, status, after, limit)
}

// AccessRequestID is the id of a user's request for a repository, as
// listings give it ("requestId") and handle accepts it instead of a user
// name (huggingface_hub 2.x): 24 hex digits, the repository's and the
// user's ids.
func AccessRequestID(repoID, userID int64) string {
	return fmt.Sprintf("%012x%012x", repoID, userID)
}

func parseAccessRequestID(id string) (repoID, userID int64, ok bool) {
	if len(id) != 24 {
		return 0, 0, false
	}
	_, err1 := fmt.Sscanf(id[:12], "%x", &repoID)
	_, err2 := fmt.Sscanf(id[12:], "%x", &userID)
	return repoID, userID, err1 == nil && err2 == nil
}

// HandleAccessRequest moves a request to status (accepted, rejected, or
// pending to cancel a decision), with a rejection reason. The request is
// named by its user's name or by its id (exactly one).
func (s *Service) HandleAccessRequest(ctx context.Context, who *auth.Identity, ref RepoRef, user, requestID, status, reason string) error {
	r, err := s.managedRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	if r.Gated == "" {
		return notGated(r)
	}
	switch status {
	case AccessPending, AccessAccepted, AccessRejected:
	default:
		return errorf(ErrInvalid, "status must be pending, accepted or rejected")
	}
	if utf8.RuneCountInString(reason) > maxRejectReason {
		return errorf(ErrInvalid, "The rejection reason is longer than %d characters", maxRejectReason)
	}
	var u *meta.User
	if requestID != "" {
		repoID, userID, ok := parseAccessRequestID(requestID)
		if !ok || repoID != r.ID {
			return errorf(ErrNotFound, "No access request found matching your criteria")
		}
		u, err = s.meta.UserByID(ctx, userID)
	} else {
		u, err = s.meta.UserByName(ctx, strings.TrimSpace(user))
	}
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.IsOrg() {
		return errorf(ErrNotFound, "User not found")
	}
	if err != nil {
		return err
	}
	cur, err := s.meta.GetAccessRequest(ctx, r.ID, u.ID)
	if errors.Is(err, meta.ErrNotFound) || err == nil && (cur.Status == status || !isRequestState(cur.Status)) {
		return errorf(ErrNotFound, "No access request found matching your criteria")
	}
	if err != nil {
		return fmt.Errorf("handle access request: %w", err)
	}
	cur.Status, cur.ReviewedAt, cur.ReviewedBy, cur.Reason = status, time.Now(), who.User.ID, ""
	if status == AccessRejected {
		cur.Reason = reason
	}
	if err := s.meta.PutAccessRequest(ctx, cur); err != nil {
		return fmt.Errorf("handle access request: %w", err)
	}
	s.audit(ctx, who, "access."+status, r.Namespace, r.Type+":"+r.FullName(), map[string]any{"user": u.Name, "reason": cur.Reason})
	return nil
}

func isRequestState(s string) bool {
	return s == AccessPending || s == AccessAccepted || s == AccessRejected
}

// GrantAccess gives user access to a gated repository without a request.
func (s *Service) GrantAccess(ctx context.Context, who *auth.Identity, ref RepoRef, user string) error {
	r, err := s.managedRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	if r.Gated == "" {
		return notGated(r)
	}
	u, err := s.meta.UserByName(ctx, strings.TrimSpace(user))
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.IsOrg() {
		return errorf(ErrNotFound, "User not found")
	}
	if err != nil {
		return err
	}
	cur, err := s.meta.GetAccessRequest(ctx, r.ID, u.ID)
	if err == nil && cur.Status == AccessAccepted {
		return errorf(ErrInvalid, "That user already has access to the repo")
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("grant access: %w", err)
	}
	now := time.Now()
	req := &meta.AccessRequest{RepoID: r.ID, User: *u, Status: AccessAccepted, CreatedAt: now, ReviewedAt: now, ReviewedBy: who.User.ID}
	if err := s.meta.PutAccessRequest(ctx, req); err != nil {
		return fmt.Errorf("grant access: %w", err)
	}
	s.audit(ctx, who, "access.grant", r.Namespace, r.Type+":"+r.FullName(), map[string]any{"user": u.Name})
	return nil
}
