package hub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Grant kinds: what a signed URL allows.
const (
	GrantUpload   = "up"   // PUT the whole object
	GrantPart     = "part" // PUT parts of a multipart upload
	GrantComplete = "done" // POST the multipart completion
	GrantDownload = "dl"   // GET the object
)

// Grant is the signed content of an upload or download URL. Clients send
// LFS PUTs without credentials (Python and JS both do), so the URL itself
// carries the authorisation, signed with the hub's key.
type Grant struct {
	Kind     string `json:"k"`
	RepoID   int64  `json:"r"`
	OID      string `json:"o"`
	Size     int64  `json:"s"`
	UploadID string `json:"u,omitempty"`
	Chunk    int64  `json:"c,omitempty"`
	Expires  int64  `json:"e"`
	// User is who the grant was issued to (0: anonymous). A download is
	// authorised again for that user when the URL is used, so a URL
	// stops working when the repository turns private or gated, or the
	// user loses access.
	User int64 `json:"w,omitempty"`
}

// Parts returns the number of parts of a multipart grant.
func (g *Grant) Parts() int {
	if g.Chunk <= 0 {
		return 1
	}
	return int((g.Size + g.Chunk - 1) / g.Chunk)
}

// PartSize returns the size of part n (1-based).
func (g *Grant) PartSize(n int) int64 {
	start := int64(n-1) * g.Chunk
	return min(g.Chunk, g.Size-start)
}

func (s *Service) sign(g Grant) string {
	payload, _ := json.Marshal(g)
	mac := hmac.New(sha256.New, s.signingKey)
	mac.Write(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac.Sum(nil))
}

// ParseGrant checks a signed token and returns its grant.
func (s *Service) ParseGrant(token, kind string) (*Grant, error) {
	bad := errorf(ErrForbidden, "Invalid or expired upload URL: ask for a new one")
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 {
		return nil, bad
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	got, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	mac := hmac.New(sha256.New, s.signingKey)
	mac.Write(payload)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return nil, bad
	}
	var g Grant
	if err := json.Unmarshal(payload, &g); err != nil || g.Kind != kind || time.Now().Unix() > g.Expires {
		return nil, bad
	}
	return &g, nil
}

// LFSObject is an object named in an LFS batch request.
type LFSObject struct {
	OID  string
	Size int64
}

// LFSAction is the batch answer for one object. Exactly one of Present,
// Upload, Download or Err is set.
type LFSAction struct {
	OID     string
	Size    int64
	Present bool // upload: already stored, nothing to do
	// Upload: Token authorises the PUT (basic) or the parts and the
	// completion (multipart, Chunk > 0).
	Upload *LFSUpload
	// Download: a token for the GET.
	Download string
	Err      *LFSError
}

// LFSUpload describes how to upload one object.
type LFSUpload struct {
	Token         string   // basic PUT, or the completion with multipart
	PartToken     string   // multipart parts through the hub
	PartURLs      []string // multipart parts straight to the blob store, if set
	Chunk         int64    // >0: multipart, in parts of Chunk bytes
	Parts         int
	ExpiresInSecs int64
}

// LFSError is a per-object error (git-lfs batch codes).
type LFSError struct {
	Code    int
	Message string
}

// LFSBatch answers an LFS batch request for repository ref. op is
// "upload" or "download"; transfers lists what the client supports.
func (s *Service) LFSBatch(ctx context.Context, who *auth.Identity, ref RepoRef, op string, objects []LFSObject, transfers []string) ([]LFSAction, error) {
	var r *meta.Repo
	var err error
	switch op {
	case "upload":
		r, err = s.writableRepo(ctx, who, ref)
	case "download":
		// Signed download URLs hand out bytes: gating applies here as on
		// resolve.
		r, err = s.repoFor(ctx, who, ref, ReadContent)
		if errors.Is(err, ErrMoved) {
			r, err = nil, repoNotFound()
		}
	default:
		return nil, errorf(ErrInvalid, "Unknown LFS operation %q", op)
	}
	if err != nil {
		return nil, err
	}
	if len(objects) > 10_000 {
		return nil, errorf(ErrTooLarge, "At most 10000 objects per batch")
	}
	if op == "upload" {
		if err := s.lfsUploadQuota(ctx, r, objects); err != nil {
			return nil, err
		}
	}
	multipart := false
	for _, t := range transfers {
		if t == "multipart" {
			multipart = true
		}
	}
	ttl := s.cfg.UploadURLTTL
	exp := time.Now().Add(ttl).Unix()
	fills := false
	if op == "download" {
		if fills, err = s.fillsOnDownload(ctx, r); err != nil {
			return nil, err
		}
	}
	out := make([]LFSAction, 0, len(objects))
	for _, o := range objects {
		a := LFSAction{OID: o.OID, Size: o.Size}
		switch {
		case !gitobj.ValidSHA256(o.OID):
			a.Err = &LFSError{Code: 422, Message: "Invalid object id: expected 64 lowercase hex digits of a SHA-256"}
		case o.Size < 0:
			a.Err = &LFSError{Code: 422, Message: "Invalid object size"}
		case op == "upload" && o.Size > s.cfg.MaxLFSFile:
			a.Err = &LFSError{Code: 422, Message: fmt.Sprintf("Object is larger than the %d bytes this hub accepts", s.cfg.MaxLFSFile)}
		}
		if a.Err != nil {
			out = append(out, a)
			continue
		}
		lookup := s.meta.LFSObject
		if op == "upload" {
			// "Already uploaded" starts a client's session with the object:
			// keep the collector off it as if just uploaded (see GC).
			lookup = s.useLFSObject
		}
		size, err := lookup(ctx, r.ID, o.OID)
		known := err == nil
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return nil, fmt.Errorf("lfs batch: %w", err)
		}
		if !known && fills && o.Size > 0 {
			// Mirror hook: not cached yet, filled from the upstream when
			// the URL is used (the fill checks the size and the hash).
			size, known = o.Size, true
		}
		switch {
		case op == "download" && !known:
			a.Err = &LFSError{Code: 404, Message: "Object does not exist"}
		case op == "download":
			a.Size = size
			g := Grant{Kind: GrantDownload, RepoID: r.ID, OID: o.OID, Size: size, Expires: exp}
			if who != nil {
				g.User = who.User.ID
			}
			a.Download = s.sign(g)
		case known && size == o.Size:
			a.Present = true
		case known:
			a.Err = &LFSError{Code: 422, Message: fmt.Sprintf("Object %s is stored with size %d, not %d", o.OID, size, o.Size)}
		case multipart && o.Size > s.cfg.MultipartThreshold && s.cfg.MultipartChunk > 0:
			id, err := s.blobs.StartMultipart(ctx, o.OID, o.Size)
			if err != nil {
				return nil, fmt.Errorf("lfs batch: start multipart: %w", err)
			}
			g := Grant{Kind: GrantComplete, RepoID: r.ID, OID: o.OID, Size: o.Size, UploadID: id, Chunk: s.cfg.MultipartChunk, Expires: exp}
			pg := g
			pg.Kind = GrantPart
			a.Upload = &LFSUpload{Token: s.sign(g), PartToken: s.sign(pg), Chunk: g.Chunk, Parts: g.Parts(), ExpiresInSecs: int64(ttl.Seconds())}
			if ps, ok := s.blobs.(blob.PartPresigner); ok && s.cfg.DirectUploads {
				for n := 1; n <= g.Parts(); n++ {
					u, err := ps.PresignPart(ctx, id, n, ttl)
					if err != nil {
						return nil, fmt.Errorf("lfs batch: %w", err)
					}
					a.Upload.PartURLs = append(a.Upload.PartURLs, u)
				}
			}
		default:
			g := Grant{Kind: GrantUpload, RepoID: r.ID, OID: o.OID, Size: o.Size, Expires: exp}
			a.Upload = &LFSUpload{Token: s.sign(g), ExpiresInSecs: int64(ttl.Seconds())}
		}
		out = append(out, a)
	}
	return out, nil
}

// blobError translates blob store errors of an upload.
func blobError(err error, g *Grant) error {
	switch {
	case errors.Is(err, blob.ErrDigestMismatch):
		return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("Uploaded content does not match the declared SHA-256 %s: nothing was stored", g.OID), Err: err}
	case errors.Is(err, blob.ErrSizeMismatch):
		return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("Uploaded content is not the declared %d bytes: nothing was stored", g.Size), Err: err}
	case errors.Is(err, blob.ErrInvalid):
		return &Error{Kind: ErrInvalid, Msg: "Invalid upload", Err: err}
	case errors.Is(err, blob.ErrNotFound):
		return &Error{Kind: ErrInvalid, Msg: "Unknown or finished upload", Err: err}
	}
	return err
}

// link records a verified object for the grant's repository.
func (s *Service) link(ctx context.Context, g *Grant, info blob.Info) (err error) {
	defer s.goneRepo(ctx, g.RepoID, &err)
	if err := s.meta.AddLFSObject(ctx, g.RepoID, info.OID, info.Size); err != nil {
		return fmt.Errorf("link lfs object %s: %w", info.OID, err)
	}
	s.lg.InfoContext(ctx, "lfs object stored", "oid", info.OID, "size", info.Size, "repo_id", g.RepoID)
	return nil
}

// UploadLFS receives a whole object (the basic transfer). The bytes are
// hashed while they are written; nothing is kept unless they match.
// contentLength is the request's declared length (-1 if unknown).
func (s *Service) UploadLFS(ctx context.Context, token string, contentLength int64, body io.Reader) error {
	g, err := s.ParseGrant(token, GrantUpload)
	if err != nil {
		return err
	}
	if contentLength >= 0 && contentLength != g.Size {
		return errorf(ErrInvalid, "Content-Length %d differs from the declared size %d of %s", contentLength, g.Size, g.OID)
	}
	w, err := s.blobs.Create(ctx, g.OID, g.Size)
	if err != nil {
		return blobError(err, g)
	}
	cb := &clientBody{r: body}
	if _, err := io.Copy(w, cb); err != nil {
		w.Abort()
		if cb.err != nil {
			return interrupted(g.OID, cb.err)
		}
		if errors.Is(err, blob.ErrSizeMismatch) {
			return blobError(err, g)
		}
		return fmt.Errorf("receive lfs object %s: %w", g.OID, err)
	}
	info, err := w.Commit(ctx)
	if err != nil {
		return blobError(err, g)
	}
	return s.link(ctx, g, info)
}

// UploadLFSPart receives part n of a multipart upload and returns its ETag.
func (s *Service) UploadLFSPart(ctx context.Context, token string, n int, contentLength int64, body io.Reader) (string, error) {
	g, err := s.ParseGrant(token, GrantPart)
	if err != nil {
		return "", err
	}
	if n < 1 || n > g.Parts() {
		return "", errorf(ErrInvalid, "Part %d is out of range 1..%d", n, g.Parts())
	}
	if contentLength >= 0 && contentLength != g.PartSize(n) {
		return "", errorf(ErrInvalid, "Part %d must be %d bytes, not %d", n, g.PartSize(n), contentLength)
	}
	cb := &clientBody{r: body}
	etag, err := s.blobs.UploadPart(ctx, g.UploadID, n, cb, g.PartSize(n))
	if err != nil {
		if cb.err != nil {
			return "", interrupted(g.OID, cb.err)
		}
		return "", blobError(err, g)
	}
	return etag, nil
}

// CompleteLFS assembles a multipart upload after checking the parts
// listed by the client, then verifies the object.
func (s *Service) CompleteLFS(ctx context.Context, token, oid string, parts []blob.Part) error {
	g, err := s.ParseGrant(token, GrantComplete)
	if err != nil {
		return err
	}
	// A refused completion ends the upload like a failed one: the client
	// starts over with a new batch, so its parts must not stay behind.
	if oid != "" && oid != g.OID {
		s.blobs.AbortMultipart(context.WithoutCancel(ctx), g.UploadID)
		return errorf(ErrInvalid, "Completion names object %s, the upload is for %s", oid, g.OID)
	}
	if len(parts) != g.Parts() {
		s.blobs.AbortMultipart(context.WithoutCancel(ctx), g.UploadID)
		return errorf(ErrInvalid, "Expected %d parts, got %d", g.Parts(), len(parts))
	}
	info, err := s.blobs.CompleteMultipart(ctx, g.UploadID, g.OID, g.Size, parts)
	if err != nil {
		return blobError(err, g)
	}
	return s.link(ctx, g, info)
}

// Part is one completed part of a multipart upload.
type Part = blob.Part

// VerifyLFS confirms that an object was received for repository ref.
func (s *Service) VerifyLFS(ctx context.Context, who *auth.Identity, ref RepoRef, oid string, size int64) error {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	got, err := s.meta.LFSObject(ctx, r.ID, oid)
	if errors.Is(err, meta.ErrNotFound) {
		return errorf(ErrEntryNotFound, "Object %s was not received", oid)
	}
	if err != nil {
		return fmt.Errorf("verify %s: %w", oid, err)
	}
	if got != size {
		return errorf(ErrInvalid, "Object %s has %d bytes, not %d", oid, got, size)
	}
	return nil
}

// OpenLFSDownload opens the object a download grant names.
func (s *Service) OpenLFSDownload(ctx context.Context, token string, redirect bool) (*Grant, *Content, error) {
	g, err := s.ParseGrant(token, GrantDownload)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.recheckDownload(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.meta.LFSObject(ctx, g.RepoID, g.OID); err != nil {
		if !errors.Is(err, meta.ErrNotFound) {
			return nil, nil, err
		}
		// A mirrored object not cached yet is filled by OpenContent's
		// mirror hook.
		fills, err := s.fillsOnDownload(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		if !fills {
			return nil, nil, errorf(ErrEntryNotFound, "Object does not exist")
		}
	}
	c, err := s.OpenContent(ctx, r, &Entry{Path: g.OID, LFS: &gitobj.Pointer{OID: g.OID, Size: g.Size}}, redirect, s.cfg.UploadURLTTL)
	return g, c, err
}

// fillsOnDownload is the mirror hook of git-lfs downloads: it reports
// whether objects of repository r the store does not hold are fetched
// from r's upstream when asked for (r is a mirrored repository and
// upstreams are configured), so that `git clone` of a mirror gets its LFS
// files as /resolve does.
func (s *Service) fillsOnDownload(ctx context.Context, r *meta.Repo) (bool, error) {
	if s.Mirror == nil {
		return false, nil
	}
	_, err := s.meta.MirrorRepo(ctx, r.ID)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("mirror of %s: %w", r.FullName(), err)
	}
	return true, nil
}

// recheckDownload authorises a download grant again at use, for the user
// it was issued to, with today's repository state.
func (s *Service) recheckDownload(ctx context.Context, g *Grant) (*meta.Repo, error) {
	r, err := s.meta.RepoByID(ctx, g.RepoID)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errorf(ErrEntryNotFound, "Object does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("download grant: %w", err)
	}
	var who *auth.Identity
	if g.User != 0 {
		u, err := s.meta.UserByID(ctx, g.User)
		if errors.Is(err, meta.ErrNotFound) {
			return nil, errorf(ErrForbidden, "Invalid or expired download URL: ask for a new one")
		}
		if err != nil {
			return nil, fmt.Errorf("download grant: %w", err)
		}
		who = &auth.Identity{User: u, Role: meta.RoleRead}
	}
	if err := s.authorize(ctx, who, r, ReadContent); err != nil {
		return nil, errorf(ErrForbidden, "Invalid or expired download URL: ask for a new one")
	}
	return r, nil
}
