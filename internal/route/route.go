// Package route is the one table of which package answers which URL
// (DESIGN.md, "Growing the house"). The Hub's URLs overlap: a
// repository's page, its downloads, its LFS endpoints and its git
// endpoints all start with the repository id, a canonical id ("gpt2") has
// one segment where others have two, and /api/… has its own shapes. The
// table below settles, in one place and in order, which handler package
// answers a request; the server dispatches on it, and each package then
// picks its own handler from the address parsed here, never parsing the
// repository part of the path again. cmd/agora's route test walks
// docs/api.md through the same table.
//
// Routing works on the escaped path split into segments (empty ones
// dropped), not on http.ServeMux patterns: the mux redirects
// non-canonical paths, which breaks POSTs and HEAD metadata requests, and
// "refs%2Fpr%2F1" or "a%2Fb" must stay single segments (PROTOCOL.md
// §7.3).
package route

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/agorahub/agora/internal/hub"
)

// Owner names the package that answers a row of the table.
type Owner string

// The owners, as docs/api.md names them.
const (
	None     Owner = ""
	Server   Owner = "server"   // /healthz, /readyz, /metrics
	CAS      Owner = "casapi"   // the Xet CAS
	HubAPI   Owner = "hubapi"   // the HF JSON API, downloads, LFS
	GitProto Owner = "gitproto" // git smart HTTP
	Web      Owner = "web"      // pages, static files, the HTML 404
)

// CASPrefix is the path segment the Xet CAS lives under (a reserved
// namespace, so no repository shadows it).
const CASPrefix = "cas"

// Repo is the repository a URL addresses, parsed once.
type Repo struct {
	// Ref is the repository: type, decoded namespace ("" for a canonical
	// id) and name, without a ".git" suffix.
	Ref hub.RepoRef
	// Git reports whether the id was written with ".git" (name.git).
	Git bool
	// Index is the id's first segment among the path's segments, and N
	// how many segments it takes (2, or 1 for a canonical id): what a
	// redirect after a rename replaces (server.MovedPath).
	Index, N int
	// Rest are the escaped segments after the id.
	Rest []string
}

// Addr is a request's path as the table reads it.
type Addr struct {
	// Owner answers the request; None only for an empty table.
	Owner Owner
	// Row is the table row that matched (its Pattern), for tests, logs
	// and docs.
	Row string
	// Segs are the escaped, non-empty path segments.
	Segs []string
	// Repo is set for the rows whose pattern holds a repository id.
	Repo *Repo
}

// Row is one line of the table: requests of the methods listed (all when
// empty) whose segments match go to Owner. Pattern is the row as
// docs/api.md writes routes: {T} models or datasets, {P} an optional
// "datasets/" or "models/" prefix, {D} an optional "datasets/", {id} a
// repository id, … any further segments.
type Row struct {
	Owner   Owner
	Methods []string
	Pattern string
	// match reports whether segs fit the pattern, and the repository
	// they address if the pattern has one.
	match func(segs []string) (*Repo, bool)
}

var (
	getHead = []string{http.MethodGet, http.MethodHead}
	post    = []string{http.MethodPost}
)

// table is tried in order; the last row takes everything.
var table = []Row{
	{Server, getHead, "/healthz, /readyz, /metrics", func(s []string) (*Repo, bool) {
		return nil, len(s) == 1 && (s[0] == "healthz" || s[0] == "readyz" || s[0] == "metrics")
	}},
	{CAS, nil, "/" + CASPrefix + "/…", func(s []string) (*Repo, bool) {
		return nil, len(s) > 0 && s[0] == CASPrefix
	}},
	// xet-core joins "/v1/telemetry" to the CAS URL's host, dropping its
	// path.
	{CAS, post, "/v1/telemetry", func(s []string) (*Repo, bool) {
		return nil, len(s) == 2 && s[0] == "v1" && s[1] == "telemetry"
	}},
	{HubAPI, nil, "/api/{T}/{id}[/…]", apiRepo},
	{HubAPI, nil, "/api/…", func(s []string) (*Repo, bool) { return nil, len(s) > 0 && s[0] == "api" }},
	// Discussion attachments and paper pages in Markdown, which the
	// clients fetch outside /api; both namespaces are reserved.
	{HubAPI, post, "/uploads", func(s []string) (*Repo, bool) { return nil, len(s) == 1 && s[0] == "uploads" }},
	{HubAPI, getHead, "/papers/…", func(s []string) (*Repo, bool) { return nil, len(s) > 1 && s[0] == "papers" }},
	// The JS client's oauthLoginUrl discovers the hub's OAuth provider.
	{HubAPI, getHead, "/.well-known/openid-configuration", func(s []string) (*Repo, bool) {
		return nil, len(s) == 2 && s[0] == ".well-known" && s[1] == "openid-configuration"
	}},
	{GitProto, getHead, "/{P}{id}[.git]/info/refs", fileRoute(func(rest []string, _ bool) bool {
		return len(rest) == 2 && rest[0] == "info" && rest[1] == "refs"
	})},
	{GitProto, post, "/{P}{id}[.git]/git-upload-pack, /{P}{id}[.git]/git-receive-pack", fileRoute(func(rest []string, _ bool) bool {
		return len(rest) == 1 && (rest[0] == "git-upload-pack" || rest[0] == "git-receive-pack")
	})},
	{HubAPI, nil, "/{P}{id}[.git]/info/lfs/…", fileRoute(func(rest []string, _ bool) bool {
		return len(rest) >= 3 && rest[0] == "info" && rest[1] == "lfs"
	})},
	{HubAPI, getHead, "/{P}{id}/resolve/{rev}/…, /{P}{id}/raw/{rev}/…", fileRoute(func(rest []string, git bool) bool {
		return !git && len(rest) >= 2 && (rest[0] == "resolve" || rest[0] == "raw")
	})},
	{Web, nil, "/{D}{ns}/{name}[/…]", webRepo},
	{Web, nil, "…", func([]string) (*Repo, bool) { return nil, true }},
}

// Table returns the rows in the order they are tried (for docs and
// tests; the rows are shared, do not modify them).
func Table() []Row { return table }

// Parse reads a request's method and escaped path through the table.
func Parse(method, escapedPath string) Addr {
	segs := Segments(escapedPath)
	for _, row := range table {
		if len(row.Methods) > 0 && !has(row.Methods, method) {
			continue
		}
		if repo, ok := row.match(segs); ok {
			return Addr{Owner: row.Owner, Row: row.Pattern, Segs: segs, Repo: repo}
		}
	}
	return Addr{Segs: segs}
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Segments splits an escaped path into its non-empty segments (still
// escaped: decode each with url.PathUnescape).
func Segments(escapedPath string) []string {
	parts := strings.Split(escapedPath, "/")
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// apiRepo matches /api/{models,datasets}/{id}[/…]: the id is
// "namespace/name", or a canonical one-segment id when a route keyword
// follows it or nothing does.
func apiRepo(s []string) (*Repo, bool) {
	if len(s) < 3 || s[0] != "api" {
		return nil, false
	}
	typ := ""
	switch s[1] {
	case "models":
		typ = hub.TypeModel
	case "datasets":
		typ = hub.TypeDataset
	default:
		return nil, false
	}
	ns, name, n, ok := repoSegments(s[2:], true)
	if !ok {
		return nil, false
	}
	return &Repo{Ref: hub.RepoRef{Type: typ, Namespace: ns, Name: name}, Index: 2, N: n, Rest: s[2+n:]}, true
}

// fileRoute matches /{P}{id}[.git]/{rest} where ok accepts rest: the
// paths of downloads, LFS and git, whose canonical ids are recognised by
// the route keyword after them.
func fileRoute(ok func(rest []string, git bool) bool) func([]string) (*Repo, bool) {
	return func(segs []string) (*Repo, bool) {
		if len(segs) == 0 {
			return nil, false
		}
		typ, start := hub.TypeModel, 0
		switch segs[0] {
		case "datasets":
			typ, start = hub.TypeDataset, 1
		case "models":
			start = 1 // /models/ns/name/… is accepted as an alias
		case "api", "spaces", CASPrefix:
			return nil, false
		}
		s := segs[start:]
		ns, name, n, found := repoSegments(s, false)
		if !found || len(s) < n+1 {
			return nil, false
		}
		base, git := strings.CutSuffix(name, ".git")
		rest := s[n:]
		if !ok(rest, git) {
			return nil, false
		}
		return &Repo{Ref: hub.RepoRef{Type: typ, Namespace: ns, Name: base}, Git: git, Index: start, N: n, Rest: rest}, true
	}
}

// webRepo matches the pages of a repository, /{ns}/{name}[/…] and
// /datasets/{ns}/{name}[/…]: always two segments, both valid names (the
// pages have no canonical ids).
func webRepo(s []string) (*Repo, bool) {
	typ, start := hub.TypeModel, 0
	if len(s) > 0 && s[0] == "datasets" {
		typ, start = hub.TypeDataset, 1
	}
	if len(s)-start < 2 {
		return nil, false
	}
	ns, err1 := url.PathUnescape(s[start])
	name, err2 := url.PathUnescape(s[start+1])
	if err1 != nil || err2 != nil || !hub.ValidNamespace(ns) || !hub.ValidName(name) {
		return nil, false
	}
	return &Repo{Ref: hub.RepoRef{Type: typ, Namespace: ns, Name: name}, Index: start, N: 2, Rest: s[start+2:]}, true
}

// repoSegments reads a repository id at the start of segs:
// "namespace/name", or a canonical id without a namespace ("gpt2") when
// the segment after it is a route keyword or, with allowAlone, when it is
// the last segment. Repository names equal to a keyword are refused at
// creation, so the two readings never compete.
func repoSegments(segs []string, allowAlone bool) (namespace, name string, n int, ok bool) {
	switch {
	case len(segs) == 0:
		return "", "", 0, false
	case len(segs) == 1 && allowAlone, len(segs) >= 2 && hub.IsRouteKeyword(segs[1]):
		name, err := url.PathUnescape(segs[0])
		if err != nil || name == "" {
			return "", "", 0, false
		}
		return "", name, 1, true
	case len(segs) >= 2:
		ns, err1 := url.PathUnescape(segs[0])
		name, err2 := url.PathUnescape(segs[1])
		if err1 != nil || err2 != nil {
			return "", "", 0, false
		}
		return ns, name, 2, true
	}
	return "", "", 0, false
}
