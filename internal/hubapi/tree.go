package hubapi

import (
	"encoding/json"
	"errors"
	"html"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

// securityJSON is the securityFileStatus object the HF clients parse:
// status, safe, avScan and pickleImportScan, all present. Agora runs no
// antivirus, which avScan says with status "unscanned".
func securityJSON(fs hub.FileSecurity) json.RawMessage {
	if fs.Result == nil {
		if b, ok := plainSecurity.Load(fs.Level); ok {
			return b.(json.RawMessage)
		}
	} else if b, ok := scannedSecurity.get(fs); ok {
		return b
	}
	// Fields in the order json.Marshal gives a map's keys: the objects
	// were maps, and a file list's statuses were most of paths-info's
	// encoding time.
	v := struct {
		AvScan           json.RawMessage `json:"avScan"`
		PickleImportScan any             `json:"pickleImportScan"`
		Safe             bool            `json:"safe"`
		Status           string          `json:"status"`
		WeightsOnly      *bool           `json:"weightsOnly,omitempty"`
	}{AvScan: json.RawMessage(`{"status":"unscanned","virusFound":false,"virusNames":null}`), Safe: fs.Level == "safe", Status: fs.Level}
	if fs.Result != nil {
		if p := fs.Result.PickleImportScan(); p != nil {
			v.PickleImportScan = p
		}
		w := fs.Result.WeightsOnly
		v.WeightsOnly = &w
	}
	b, _ := json.Marshal(v)
	if fs.Result == nil {
		plainSecurity.Store(fs.Level, json.RawMessage(b))
	} else {
		scannedSecurity.put(fs, b)
	}
	return b
}

// plainSecurity holds securityJSON's answers for files without a scan
// result, by level (a handful).
var plainSecurity sync.Map

// scannedSecurity holds securityJSON's answers for scan results, by the
// result the hub's status cache handed out (it reads a file's result anew
// at most once a second, and never changes one it handed out).
var scannedSecurity = &securityCache{}

// securityKey holds the result by identity (its pointer, as an any: the
// handlers do not name the scanner's types).
type securityKey struct {
	r     any
	level string
}

type securityCache struct {
	mu sync.Mutex
	m  map[securityKey]json.RawMessage
}

func (c *securityCache) get(fs hub.FileSecurity) (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[securityKey{fs.Result, fs.Level}]
	return b, ok
}

func (c *securityCache) put(fs hub.FileSecurity, b json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 4096 {
		c.m = map[securityKey]json.RawMessage{}
	}
	c.m[securityKey{fs.Result, fs.Level}] = b
}

// addSecurity sets securityFileStatus on the file entries of out.
func (h *Handler) addSecurity(r *http.Request, ents []hub.Entry, out []wire.TreeEntry) error {
	sec, err := h.hub.FilesSecurity(r.Context(), ents)
	if err != nil {
		return err
	}
	for i := range out {
		if fs, ok := sec[out[i].Path]; ok && out[i].Type == "file" {
			out[i].SecurityFileStatus = securityJSON(fs)
		}
	}
	return nil
}

func treeEntryJSON(e *hub.Entry) wire.TreeEntry {
	out := wire.TreeEntry{Type: e.Type, OID: e.OID.String(), Size: e.Size, Path: e.Path}
	if e.LFS != nil {
		out.LFS = &wire.LFSInfo{OID: e.LFS.OID, Size: e.LFS.Size, PointerSize: e.PointerSize}
	}
	if c := e.LastCommit; c != nil {
		out.LastCommit = &wire.LastCommit{ID: c.ID.String(), Title: c.Title, Date: isoTime(c.Date)}
	}
	return out
}

// splitRevPath separates a revision from a path in segments after
// "tree/" or "commits/". The revision is normally one encoded segment; the
// JS client inserts it raw, so "refs/pr/N" and "refs/convert/X" are taken
// whole, and otherwise the longest run of segments naming an existing ref
// wins (PROTOCOL.md §7.3).
func (h *Handler) splitRevPath(r *http.Request, q *req, segs []string) (rev string, path []string) {
	first, _ := unescape(segs[0])
	if strings.Contains(first, "/") || len(segs) == 1 {
		return first, segs[1:]
	}
	if first == "refs" && len(segs) >= 3 && (segs[1] == "pr" || segs[1] == "convert") {
		return "refs/" + segs[1] + "/" + segs[2], segs[3:]
	}
	who := server.Identity(r.Context())
	for k := len(segs); k >= 2; k-- {
		cand := joinRev(segs[:k])
		if _, _, err := h.hub.ResolveRevision(r.Context(), who, q.ref, cand); err == nil {
			return cand, segs[k:]
		}
	}
	return first, segs[1:]
}

func (h *Handler) tree(q *req, segs []string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rev, pathSegs := h.splitRevPath(r, q, segs)
		path, ok := joinPath(pathSegs)
		if !ok {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid path"}
		}
		qs := r.URL.Query()
		expand := boolParam(qs, "expand")
		def := 1000
		if expand {
			def = 50
		}
		limit, err := intParam(qs, "limit", def, def)
		if err != nil {
			return err
		}
		if limit == 0 {
			limit = def
		}
		offset, err := intParam(qs, "cursor", 0, 0)
		if err != nil {
			return err
		}
		who := server.Identity(r.Context())
		_, rv, ents, more, err := h.hub.ListTree(r.Context(), who, q.ref, rev, hub.TreeOptions{
			Path: path, Recursive: boolParam(qs, "recursive"), Expand: expand, Offset: offset, Limit: limit})
		if err != nil {
			return err
		}
		out := make([]wire.TreeEntry, 0, len(ents))
		for i := range ents {
			out = append(out, treeEntryJSON(&ents[i]))
		}
		if err := h.addXetHashes(r.Context(), out); err != nil {
			return err
		}
		if expand {
			if err := h.addSecurity(r, ents, out); err != nil {
				return err
			}
		}
		if more {
			h.nextLink(w, r, "cursor", strconv.Itoa(offset+len(ents)))
		}
		w.Header().Set("X-Repo-Commit", rv.Commit.String())
		writeEncoded(w, r, http.StatusOK, func(b []byte) []byte { return appendTreeEntries(b, out) })
		return nil
	}
}

// maxPaths bounds one paths-info request (the Hub's limit).
const maxPaths = 1000

// pathsInfo authorises and resolves the revision before it reads the
// body, as every route with a body must (route.first), but through
// ResolveRevision, whose one query also answers for the default branch:
// the repository is read once per request.
func (h *Handler) pathsInfo(q *req, rev string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		repo, rv, err := h.hub.ResolveRevision(r.Context(), server.Identity(r.Context()), q.ref, rev)
		if err != nil {
			return err
		}
		var paths []string
		var expand bool
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			var body struct {
				Paths  []string `json:"paths"`
				Expand bool     `json:"expand"`
			}
			if err := decodeJSON(w, r, &body); err != nil {
				return err
			}
			paths, expand = body.Paths, body.Expand
		} else {
			r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
			if err := r.ParseForm(); err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					return err
				}
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid form body"}
			}
			paths = r.PostForm["paths"]
			expand = boolParam(r.PostForm, "expand")
		}
		if len(paths) > maxPaths {
			return &hub.Error{Kind: hub.ErrTooLarge, Msg: "At most 1000 paths per request"}
		}
		ents, err := h.hub.PathsInfoAt(r.Context(), repo, rv, paths, expand)
		if err != nil {
			return err
		}
		out := make([]wire.TreeEntry, 0, len(ents))
		for i := range ents {
			out = append(out, treeEntryJSON(&ents[i]))
		}
		if err := h.addXetHashes(r.Context(), out); err != nil {
			return err
		}
		if expand {
			if err := h.addSecurity(r, ents, out); err != nil {
				return err
			}
		}
		w.Header().Set("X-Repo-Commit", rv.Commit.String())
		writeEncoded(w, r, http.StatusOK, func(b []byte) []byte { return appendTreeEntries(b, out) })
		return nil
	}
}

func refsJSON(in []hub.RefInfo) []wire.Ref {
	out := make([]wire.Ref, 0, len(in))
	for _, r := range in {
		out = append(out, wire.Ref{Name: r.Name, Ref: r.Ref, TargetCommit: r.TargetCommit.String()})
	}
	return out
}

func (h *Handler) refs(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		refs, err := h.hub.ListRefs(r.Context(), server.Identity(r.Context()), q.ref)
		if err != nil {
			return err
		}
		out := wire.Refs{Branches: refsJSON(refs.Branches), Converts: refsJSON(refs.Converts), Tags: refsJSON(refs.Tags)}
		if boolParam(r.URL.Query(), "include_prs") {
			prs := refsJSON(refs.PullRequests)
			out.PullRequests = &prs
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) commits(q *req, segs []string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rev, rest := h.splitRevPath(r, q, segs)
		if len(rest) > 0 {
			return &hub.Error{Kind: hub.ErrUnsupported, Msg: "Listing the commits of a path is not supported yet"}
		}
		qs := r.URL.Query()
		limit, err := intParam(qs, "limit", 50, 1000)
		if err != nil {
			return err
		}
		if limit == 0 {
			limit = 50
		}
		page, err := intParam(qs, "p", 0, 0)
		if err != nil {
			return err
		}
		_, rv, list, total, err := h.hub.ListCommits(r.Context(), server.Identity(r.Context()), q.ref, rev, page*limit, limit)
		if err != nil {
			return err
		}
		formatted := contains(listParam(qs, "expand"), "formatted")
		out := make([]wire.Commit, 0, len(list))
		for _, c := range list {
			wc := wire.Commit{ID: c.ID.String(), Title: c.Title, Message: c.Message, Date: isoTime(c.Date)}
			for _, a := range c.Authors {
				wc.Authors = append(wc.Authors, wire.CommitAuthor{User: a})
			}
			for _, p := range c.Parents {
				wc.Parents = append(wc.Parents, p.String())
			}
			if formatted {
				wc.Formatted = &wire.CommitFormatted{Title: html.EscapeString(c.Title), Message: html.EscapeString(c.Message)}
			}
			out = append(out, wc)
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(total))
		w.Header().Set("X-Repo-Commit", rv.Commit.String())
		if (page+1)*limit < total {
			h.nextLink(w, r, "p", strconv.Itoa(page+1))
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}
