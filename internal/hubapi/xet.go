package hubapi

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

// Xet is what the API needs of Xet storage (package cas provides it): CAS
// tokens, issued after the hub's own authorisation decision, and which LFS
// objects are stored as Xet files.
type Xet interface {
	// IssueToken returns a CAS token for repository repoID (read, or read
	// and write) and its expiry.
	IssueToken(repoID, userID int64, write bool) (string, time.Time)
	// FileHashes returns the Xet file hash of each of oids (LFS SHA-256s)
	// stored as a Xet file.
	FileHashes(ctx context.Context, oids []string) (map[string]string, error)
}

// xetFileInfo is the content type of the answer that opts
// @huggingface/hub into Xet downloads (lib/file-download-info.ts).
const xetFileInfo = "application/vnd.xet-fileinfo+json"

func (h *Handler) xetOn() bool { return h.cfg.Xet != nil && h.cfg.CASURL != nil }

// xetToken answers GET /api/{T}/{id}/xet-read-token/{rev} and
// xet-write-token/{rev} with both forms clients read: the JSON body
// (hf_xet, huggingface.js, Python ≥ 1.19) and the X-Xet-* headers (Python
// ≤ 1.18, git-xet). Read tokens need the hub's ReadContent decision, so
// gated repositories answer 401/403 GatedRepo; write tokens need
// WriteContent. create_pr uploads name the literal revision "None".
func (h *Handler) xetToken(q *req, rest []string, write bool) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !h.xetOn() {
			return &hub.Error{Kind: hub.ErrUnsupported, Msg: "Xet storage is turned off on this hub: set HF_HUB_DISABLE_XET=1 to upload with git-lfs"}
		}
		ctx := r.Context()
		who := server.Identity(ctx)
		act := hub.ReadContent
		if write {
			act = hub.WriteContent
		}
		repo, err := h.hub.Authorize(ctx, who, q.ref, act)
		if err != nil {
			return err
		}
		rev := joinRev(rest)
		createPR := boolParam(r.URL.Query(), "create_pr")
		if rev != "" && !(write && createPR && rev == "None") {
			if _, _, err := h.hub.ResolveRevision(ctx, who, q.ref, rev); err != nil {
				return err
			}
		}
		var uid int64
		if who != nil {
			uid = who.User.ID
		}
		tok, exp := h.cfg.Xet.IssueToken(repo.ID, uid, write)
		casURL := h.cfg.CASURL(r)
		hd := w.Header()
		hd.Set("X-Xet-Access-Token", tok)
		hd.Set("X-Xet-Cas-Url", casURL)
		hd.Set("X-Xet-Token-Expiration", strconv.FormatInt(exp.Unix(), 10))
		hd.Set("Cache-Control", "no-store")
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"accessToken": tok, "exp": exp.Unix(), "casUrl": casURL})
		return nil
	}
}

// xetTokenPath is the refresh route of a repository's read (or write)
// tokens, absolute: Python hands it to hf_xet as a URL.
func (h *Handler) xetTokenURL(r *http.Request, ref hub.RepoRef, kind, rev string) string {
	return h.srv.BaseURL(r) + "/api/" + ref.Type + "s/" + ref.FullName() + "/xet-" + kind + "-token/" + url.PathEscape(rev)
}

// xetHash returns the Xet file hash of an LFS file, or "" when it is not
// stored through Xet (or Xet is off).
func (h *Handler) xetHash(ctx context.Context, oid string) (string, error) {
	if !h.xetOn() {
		return "", nil
	}
	m, err := h.cfg.Xet.FileHashes(ctx, []string{oid})
	if err != nil {
		return "", err
	}
	return m[oid], nil
}

// xetResolve adds the Xet headers to the resolve answer of an LFS file
// stored through Xet (X-Xet-Hash, Link xet-auth and
// xet-reconstruction-info, X-Xet-Refresh-Route), which send Xet clients to
// the CAS; and answers the JS client's file-info probe (an Accept of
// application/vnd.xet-fileinfo+json) itself, reporting whether it did.
func (h *Handler) xetResolve(w http.ResponseWriter, r *http.Request, q *req, commit string, e *hub.Entry) (bool, error) {
	hash, err := h.xetHash(r.Context(), e.LFS.OID)
	if err != nil || hash == "" {
		return false, err
	}
	refresh := h.xetTokenURL(r, q.ref, "read", commit)
	recon := h.cfg.CASURL(r) + "/v1/reconstructions/" + hash
	hd := w.Header()
	hd.Set("X-Xet-Hash", hash)
	hd.Set("X-Xet-Refresh-Route", refresh)
	hd.Set("Link", "<"+refresh+`>; rel="xet-auth", <`+recon+`>; rel="xet-reconstruction-info"`)
	if !acceptsXetFileInfo(r) {
		return false, nil
	}
	// huggingface.js reads the headers and ignores the body; it then
	// fetches /v2/reconstructions only.
	hd.Set("Content-Type", xetFileInfo)
	hd.Del("Content-Disposition")
	b, _ := json.Marshal(map[string]any{"hash": hash, "size": e.LFS.Size, "refreshUrl": refresh, "reconstructionUrl": recon})
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
	return true, nil
}

func acceptsXetFileInfo(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == xetFileInfo {
			return true
		}
	}
	return false
}

// addXetHashes sets xetHash on the LFS entries stored through Xet: Python
// then downloads them through Xet straight from the tree listing.
func (h *Handler) addXetHashes(ctx context.Context, out []wire.TreeEntry) error {
	if !h.xetOn() {
		return nil
	}
	var oids []string
	for i := range out {
		if out[i].LFS != nil {
			oids = append(oids, out[i].LFS.OID)
		}
	}
	if len(oids) == 0 {
		return nil
	}
	m, err := h.xetHashes.get(ctx, h.cfg.Xet, oids)
	if err != nil {
		return err
	}
	for i := range out {
		if out[i].LFS != nil {
			out[i].XetHash = m[out[i].LFS.OID]
		}
	}
	return nil
}

// xetHashTTL bounds how long a listing may advertise what was stored
// through Xet a moment ago: an object committed through LFS and uploaded
// through Xet since is listed without its xetHash (clients then download
// it through resolve, which serves either), and a Xet file deleted since
// is still named, for at most this long. Without it the lookup was a
// seventh of a tree listing's CPU.
const xetHashTTL = time.Second

// xetHashCache remembers, per LFS object, its Xet file hash ("" for none)
// for xetHashTTL; safe for concurrent use.
type xetHashCache struct {
	mu sync.Mutex
	m  map[string]xetHashEntry
}

type xetHashEntry struct {
	hash string
	at   time.Time
}

func (c *xetHashCache) get(ctx context.Context, x Xet, oids []string) (map[string]string, error) {
	now := time.Now()
	out := make(map[string]string, len(oids))
	var miss []string
	c.mu.Lock()
	for _, oid := range oids {
		if e, ok := c.m[oid]; ok && now.Sub(e.at) < xetHashTTL {
			out[oid] = e.hash
		} else {
			miss = append(miss, oid)
		}
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	got, err := x.FileHashes(ctx, miss)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]xetHashEntry{}
	}
	for _, oid := range miss {
		out[oid] = got[oid]
		c.m[oid] = xetHashEntry{hash: got[oid], at: now}
	}
	c.mu.Unlock()
	return out, nil
}

// xetBatch reports whether an LFS batch request is answered with the xet
// transfer: an upload from a client that offers it (huggingface.js,
// Python 0.36–1.19).
func (h *Handler) xetBatch(body *wire.LFSBatchRequest) bool {
	return h.xetOn() && body.Operation == "upload" && contains(body.Transfers, "xet")
}

// writeXetBatch answers an LFS upload batch with "transfer": "xet": objects
// the repository has need nothing; the others get an upload action whose
// href refreshes the write token and whose headers carry the first one
// (lib/commit.ts). Python ignores the actions and asks for the token
// itself.
func (h *Handler) writeXetBatch(w http.ResponseWriter, r *http.Request, q *req, body *wire.LFSBatchRequest, acts []hub.LFSAction) error {
	ctx := r.Context()
	who := server.Identity(ctx)
	rev := "main"
	if body.Ref != nil && body.Ref.Name != "" {
		rev = strings.TrimPrefix(body.Ref.Name, "refs/heads/")
	}
	var tok, href string
	var exp time.Time
	out := wire.LFSBatchResponse{Transfer: "xet", HashAlgo: "sha256", Objects: make([]wire.LFSBatchObject, 0, len(acts))}
	for _, a := range acts {
		o := wire.LFSBatchObject{OID: a.OID, Size: a.Size, Authenticated: true}
		switch {
		case a.Err != nil:
			o.Error = &wire.LFSError{Code: a.Err.Code, Message: a.Err.Message}
		case a.Upload != nil:
			if tok == "" {
				repo, err := h.hub.Authorize(ctx, who, q.ref, hub.WriteContent)
				if err != nil {
					return err
				}
				var uid int64
				if who != nil {
					uid = who.User.ID
				}
				tok, exp = h.cfg.Xet.IssueToken(repo.ID, uid, true)
				href = h.xetTokenURL(r, q.ref, "write", rev)
			}
			o.Actions = map[string]*wire.LFSAction{"upload": {Href: href, Header: map[string]string{
				"X-Xet-Cas-Url":          h.cfg.CASURL(r),
				"X-Xet-Access-Token":     tok,
				"X-Xet-Token-Expiration": strconv.FormatInt(exp.Unix(), 10),
				"X-Xet-Session-Id":       server.RequestID(ctx),
			}, ExpiresIn: int64(time.Until(exp).Seconds())}}
		}
		out.Objects = append(out.Objects, o)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", lfsMediaType)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// withoutMultipart drops the multipart transfer from an offer answered
// with xet, so that the hub prepares no multipart upload for it.
func withoutMultipart(transfers []string) []string {
	var out []string
	for _, t := range transfers {
		if t != "multipart" {
			out = append(out, t)
		}
	}
	return out
}

// rangeWriter is content that writes a range of itself faster than
// http.ServeContent's copy through a 32 KiB buffer would: a file stored
// through Xet sends its uncompressed chunks with sendfile and its decoded
// ones in large pieces (cas.File).
type rangeWriter interface {
	WriteRange(w io.Writer, off, n int64) (int64, error)
}

// serveRangeWriter serves content with the conditional and range rules of
// http.ServeContent for one range (resolve's ETag is already set); it
// reports false, having written nothing, for what it leaves to
// ServeContent: several ranges.
func serveRangeWriter(w http.ResponseWriter, r *http.Request, rw rangeWriter, size int64) bool {
	hd := w.Header()
	etag := hd.Get("ETag")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etag != "" && (inm == etag || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	off, n, status := int64(0), size, http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" {
		if ir := r.Header.Get("If-Range"); ir == "" || ir == etag {
			spec, ok := strings.CutPrefix(rh, "bytes=")
			if ok && strings.Contains(spec, ",") {
				return false
			}
			a, b, cut := strings.Cut(strings.TrimSpace(spec), "-")
			start, err1 := strconv.ParseInt(a, 10, 64)
			end, err2 := strconv.ParseInt(b, 10, 64)
			switch {
			case !ok || !cut:
				// Malformed: ignored, as by ServeContent.
			case a == "" && err2 == nil && end > 0:
				off, n, status = max(0, size-end), min(end, size), http.StatusPartialContent
			case err1 == nil && start >= 0 && start < size && b == "":
				off, n, status = start, size-start, http.StatusPartialContent
			case err1 == nil && err2 == nil && start >= 0 && start < size && end >= start:
				off, n, status = start, min(end, size-1)-start+1, http.StatusPartialContent
			case err1 == nil && start >= size, a == "" && err2 == nil && end == 0:
				hd.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
				http.Error(w, "invalid range: failed to overlap", http.StatusRequestedRangeNotSatisfiable)
				return true
			}
		}
	}
	if status == http.StatusPartialContent {
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+strconv.FormatInt(size, 10))
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		defer server.CorkBody(r.Context(), n)()
		rw.WriteRange(w, off, n) // an error here is the client gone, or a broken store the log shows
	}
	return true
}
