// Package gitproto serves git's smart HTTP protocol: the ref
// advertisement (protocol v0 and v2), upload-pack for clone and fetch
// (including shallow fetches) and receive-pack for push, for models
// (/{ns}/{name}[.git]/…) and datasets (/datasets/{ns}/{name}[.git]/…).
// The git-lfs endpoints under .git/info/lfs belong to hubapi.
//
// Handlers speak the wire format only: which objects a fetch needs and
// whether a push is acceptable are decided by hub ([hub.GitRepo]), which
// applies the rules of API commits to pushes. Packs are streamed: a clone
// writes each object as it is read from the store, and a push is parsed
// within limits (internal/gitobj/packfile) before hub sees it.
//
// Authentication: anonymous callers may clone public repositories; a
// missing or private repository answers 401 with a Basic challenge to
// them (so git asks for credentials, and the two cases look the same),
// and 404 to authenticated callers without access. Every push needs a
// token with write access.
package gitproto

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/route"
	"github.com/agorahub/agora/internal/server"
)

// Config holds the protocol's limits.
type Config struct {
	// MaxPushSize bounds the pack of one push, in bytes.
	MaxPushSize int64
}

// DefaultMaxPushSize is the default of [Config.MaxPushSize].
const DefaultMaxPushSize = 2 << 30

// maxRequestBody bounds an upload-pack request once decompressed: wants,
// haves and arguments (a have is 50 bytes).
const maxRequestBody = 64 << 20

// agent is sent as the agent capability.
const agent = "agora/1"

// Handler serves git smart HTTP.
type Handler struct {
	lg  *slog.Logger
	srv *server.Server
	hub *hub.Service
	cfg Config
	// packs keeps objects compressed for clones (pack.go); packed
	// records each pack sent for the metrics.
	packs  *packCache
	packed func(objects int, bytes int64, d time.Duration)
}

// New returns the handler.
func New(lg *slog.Logger, srv *server.Server, h *hub.Service, cfg Config) *Handler {
	if cfg.MaxPushSize <= 0 {
		cfg.MaxPushSize = DefaultMaxPushSize
	}
	return &Handler{lg: lg, srv: srv, hub: h, cfg: cfg, packs: newPackCache(DefaultPackCacheBytes), packed: packMetrics(srv)}
}

// packMetrics registers the git pack throughput metrics.
func packMetrics(srv *server.Server) func(int, int64, time.Duration) {
	if srv == nil {
		return func(int, int64, time.Duration) {}
	}
	objects := srv.Counter("agora_git_pack_objects_total", "Objects sent in git packs (clones and fetches).")
	sent := srv.Counter("agora_git_pack_bytes_total", "Bytes of git packs sent.")
	secs := srv.Histogram("agora_git_pack_seconds", "Time to stream one git pack to a client.", []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120, 600})
	return func(n int, b int64, d time.Duration) {
		objects(float64(n))
		sent(float64(b))
		secs(d.Seconds())
	}
}

// target is a matched request: the repository and the index of its
// namespace segment (to rewrite the path of a renamed repository).
type target struct {
	ref hub.RepoRef
	// nsIndex is the index of the id's first segment, idSegs how many it
	// has (1 for a canonical id without a namespace).
	nsIndex, idSegs int
	// git reports whether the URL wrote the id with ".git".
	git bool
}

// Owner implements server.AddrRouter: the rows of the route table this
// package answers, /{P}{id}[.git]/ followed by info/refs,
// git-upload-pack or git-receive-pack.
func (h *Handler) Owner() route.Owner { return route.GitProto }

// RouteAddr implements server.AddrRouter.
func (h *Handler) RouteAddr(r *http.Request, a *route.Addr) http.Handler {
	rp := a.Repo
	if rp == nil {
		return nil
	}
	t := &target{ref: rp.Ref, nsIndex: rp.Index, idSegs: rp.N, git: rp.Git}
	rest := rp.Rest
	var name string
	var fn server.HandlerFunc
	switch {
	case len(rest) == 2 && rest[0] == "info" && rest[1] == "refs" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		name, fn = "git-info-refs", h.infoRefs(t)
	case len(rest) == 1 && rest[0] == "git-upload-pack" && r.Method == http.MethodPost:
		name, fn = "git-upload-pack", h.uploadPack(t)
	case len(rest) == 1 && rest[0] == "git-receive-pack" && r.Method == http.MethodPost:
		name, fn = "git-receive-pack", h.receivePack(t)
	default:
		return nil
	}
	inner := h.srv.Adapt(writeError, fn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.SetRoute(r, name)
		inner.ServeHTTP(w, r)
	})
}

// Route implements server.Router for the requests the route table gives
// this package (servers dispatch through RouteAddr).
func (h *Handler) Route(r *http.Request, segs []string) http.Handler {
	a := route.Parse(r.Method, r.URL.EscapedPath())
	if a.Owner != route.GitProto {
		return nil
	}
	return h.RouteAddr(r, &a)
}

// writeError renders errors as git shows them: a plain-text body (git
// prints it after "remote:"), with a Basic challenge on 401 so that git
// asks for credentials.
func writeError(w http.ResponseWriter, r *http.Request, p server.Problem) {
	server.SetErrorHeaders(w, p)
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Agora"`)
	}
	if p.Status == 499 {
		return
	}
	msg := p.Message(r)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(p.Status)
	fmt.Fprintln(w, msg)
}

var errAuthRequired = &hub.Error{Kind: hub.ErrUnauthenticated,
	Msg: "Authentication required: use a token of this hub as the password"}

// open opens the repository for the caller. Anonymous callers get 401 for
// repositories they cannot see (missing or private alike) and for any
// push.
func (h *Handler) open(w http.ResponseWriter, r *http.Request, t *target, write bool) (*hub.GitRepo, bool, error) {
	who := server.Identity(r.Context())
	if write && who == nil {
		return nil, false, errAuthRequired
	}
	g, err := h.hub.OpenGitRepo(r.Context(), who, t.ref, write)
	if err == nil {
		return g, false, nil
	}
	if who == nil && errors.Is(err, hub.ErrRepoNotFound) {
		return nil, false, errAuthRequired
	}
	if m, ok := errors.AsType[*hub.MovedError](err); ok {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return nil, false, &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
		}
		// git follows a redirect of the first request and uses the new
		// base URL for the rest.
		name := m.Name
		if t.git {
			name += ".git"
		}
		loc, ok := server.MovedPath(r, t.nsIndex, t.idSegs, m.Namespace, name)
		if !ok {
			return nil, false, err
		}
		http.Redirect(w, r, h.srv.BaseURL(r)+loc, http.StatusTemporaryRedirect)
		return nil, true, nil
	}
	return nil, false, err
}

// requestBody returns the body, decompressed when git sent it gzipped.
func requestBody(r *http.Request) (io.Reader, func(), error) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
		return r.Body, func() {}, nil
	case "gzip", "x-gzip":
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, nil, &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid gzip request body"}
		}
		return z, func() { z.Close() }, nil
	}
	return nil, nil, &hub.Error{Kind: hub.ErrInvalid, Msg: "Unsupported Content-Encoding " + r.Header.Get("Content-Encoding")}
}

// protocolV2 reports whether the client asked for protocol v2.
func protocolV2(r *http.Request) bool {
	for _, h := range r.Header.Values("Git-Protocol") {
		for kv := range strings.SplitSeq(h, ":") {
			if strings.TrimSpace(kv) == "version=2" {
				return true
			}
		}
	}
	return false
}

func noCache(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	hd.Set("Pragma", "no-cache")
	hd.Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
}

// infoRefs serves GET info/refs?service=…: the ref advertisement (v0) or
// the capability advertisement (v2).
func (h *Handler) infoRefs(t *target) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		service := r.URL.Query().Get("service")
		var write bool
		switch service {
		case "git-upload-pack":
		case "git-receive-pack":
			write = true
		default:
			return &hub.Error{Kind: hub.ErrForbidden, Msg: "This hub speaks git's smart HTTP protocol only: use git 1.6.6 or later"}
		}
		g, done, err := h.open(w, r, t, write)
		if err != nil || done {
			return err
		}
		v2 := !write && protocolV2(r)
		var head string
		var refs []hub.GitRef
		if !v2 {
			if head, refs, err = g.Refs(r.Context()); err != nil {
				return err
			}
		}
		w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
		noCache(w)
		if r.Method == http.MethodHead {
			return nil
		}
		pw := &pktWriter{w: w}
		if v2 {
			writeV2Capabilities(pw)
			return nil
		}
		pw.linef("# service=%s", service)
		pw.flush()
		if write {
			advertiseReceive(pw, refs)
		} else {
			advertiseUpload(pw, head, refs)
		}
		return nil
	}
}

// uploadCaps are the capabilities of upload-pack v0.
const uploadCaps = "multi_ack_detailed side-band-64k side-band no-progress include-tag shallow deepen-since deepen-not deepen-relative allow-reachable-sha1-in-want object-format=sha1 agent=" + agent

// receiveCaps are the capabilities of receive-pack. no-thin asks clients
// for self-contained packs (a thin one is still resolved against the
// repository).
const receiveCaps = "report-status delete-refs ofs-delta no-thin atomic quiet object-format=sha1 agent=" + agent

func advertiseUpload(pw *pktWriter, head string, refs []hub.GitRef) {
	caps := uploadCaps
	var headID string
	if head != "" {
		caps = "symref=HEAD:" + head + " " + caps
		for _, rf := range refs {
			if rf.Name == head {
				headID = rf.ID.String()
			}
		}
	}
	first := true
	line := func(id, name string) {
		if first {
			pw.write([]byte(id + " " + name + "\x00" + caps + "\n"))
			first = false
			return
		}
		pw.linef("%s %s", id, name)
	}
	if headID != "" {
		line(headID, "HEAD")
	}
	for _, rf := range refs {
		line(rf.ID.String(), rf.Name)
		if !rf.Peeled.IsZero() {
			line(rf.Peeled.String(), rf.Name+"^{}")
		}
	}
	if first {
		line(strings.Repeat("0", 40), "capabilities^{}")
	}
	pw.flush()
}

// advertiseReceive lists the refs a push may change: branches and tags.
func advertiseReceive(pw *pktWriter, refs []hub.GitRef) {
	first := true
	for _, rf := range refs {
		if !strings.HasPrefix(rf.Name, "refs/heads/") && !strings.HasPrefix(rf.Name, "refs/tags/") {
			continue
		}
		if first {
			pw.write([]byte(rf.ID.String() + " " + rf.Name + "\x00" + receiveCaps + "\n"))
			first = false
			continue
		}
		pw.linef("%s %s", rf.ID, rf.Name)
	}
	if first {
		pw.write([]byte(strings.Repeat("0", 40) + " capabilities^{}\x00" + receiveCaps + "\n"))
	}
	pw.flush()
}

// writeV2Capabilities writes the protocol v2 capability advertisement.
func writeV2Capabilities(pw *pktWriter) {
	pw.linef("version 2")
	pw.linef("agent=%s", agent)
	pw.linef("ls-refs")
	pw.linef("fetch=shallow")
	pw.linef("object-format=sha1")
	pw.flush()
}
