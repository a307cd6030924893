package main

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/gitproto"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/route"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
	"github.com/agorahub/agora/internal/web"
)

// TestDocumentedRoutes walks every route of docs/api.md, which says for
// each which package answers it, through the route table (package route)
// as the server dispatches: the table must give the row to the package
// documented, and that package must have a handler for it. A documented
// route answered by another package, or by none, fails. The Hub's routes
// overlap (a repository's web path, its .git path, its LFS endpoints and
// resolve all start with the repository id), so the order of the table
// and each package's refusals matter as much as its claims.
func TestDocumentedRoutes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := documentedRoutes(t, string(doc))
	if len(rows) < 30 {
		t.Fatalf("only %d routes found in docs/api.md: has the table changed shape?", len(rows))
	}
	lg := slog.New(slog.DiscardHandler)
	m, b := storetest.Local(t)
	svc, err := hub.New(t.Context(), lg, hub.DefaultConfig(), m, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	owners := map[route.Owner]server.AddrRouter{}
	for _, r := range []server.AddrRouter{
		hubapi.New(lg, srv, svc, hubapi.Config{}),
		gitproto.New(lg, srv, svc, gitproto.Config{}),
		web.New(lg, srv, svc, web.Config{}),
	} {
		owners[r.Owner()] = r
	}
	for _, rt := range rows {
		req := httptest.NewRequest(rt.method, rt.path, nil)
		a := route.Parse(req.Method, req.URL.EscapedPath())
		got := string(a.Owner)
		if r, ok := owners[a.Owner]; !ok || r.RouteAddr(req, &a) == nil {
			got = "none (row " + a.Row + " of " + string(a.Owner) + ")"
		}
		if got != rt.pkg {
			t.Errorf("%s %s (docs/api.md line %d): answered by %s, documented as %s", rt.method, rt.path, rt.line, got, rt.pkg)
		}
	}
}

// docRoute is one concrete request for a documented route.
type docRoute struct {
	method, path, pkg string
	line              int
}

var (
	backticked = regexp.MustCompile("(?:([A-Z]+) )?`([^`]+)`")
	parens     = regexp.MustCompile(`\([^()]*\)`)
	pathWord   = regexp.MustCompile(`^[a-z][a-z0-9._-]*(/[a-z0-9._…-]*)*…?$`)
	choices    = regexp.MustCompile(`\{([a-z]+(?:,[a-z]+)+)\}`)
)

// documentedRoutes reads the route table of docs/api.md (| Method | Route
// | Status | Package |) into concrete requests: placeholders filled in,
// optional parts both ways, each method of the row.
func documentedRoutes(t *testing.T, doc string) []docRoute {
	var out []docRoute
	for i, line := range strings.Split(doc, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 || !strings.Contains(cells[1], "`/") {
			continue
		}
		methods := strings.Split(cells[0], ", ")
		if cells[0] == "*" {
			methods = []string{"GET", "POST"}
		}
		pkg := strings.Trim(cells[3], "` ")
		base, prev := "", ""
		for _, m := range backticked.FindAllStringSubmatch(parens.ReplaceAllString(cells[1], ""), -1) {
			item, ms := m[2], methods
			if m[1] != "" {
				ms = []string{m[1]}
			}
			var p string
			switch {
			case strings.HasPrefix(item, "/api/") || strings.HasPrefix(item, "/{"):
				p, prev = item, item
				// Words later in the cell (git-upload-pack) are under
				// this route's repository.
				if j := strings.Index(p, "{id}"); j >= 0 && base == "" {
					end := j + len("{id}")
					if strings.HasPrefix(p[end:], "[.git]") {
						end += len("[.git]")
					}
					base = p[:end] + "/"
				}
			case strings.HasPrefix(item, "…/") && prev != "":
				// …/members/{u} after …/members/{u}/role; …/grant after
				// …/handle.
				rel := strings.TrimPrefix(item, "…/")
				first, _, _ := strings.Cut(rel, "/")
				if k := strings.Index(prev, "/"+first+"/"); k >= 0 {
					p = prev[:k+1] + rel
				} else {
					p = path.Dir(prev) + "/" + rel
				}
			case strings.HasPrefix(item, "/") && prev != "":
				p = path.Dir(prev) + item // a sibling: /following after /followers
			case pathWord.MatchString(item) && base != "":
				p = base + item
			default:
				continue // a body or a value, not a route
			}
			for _, path := range expand(p) {
				for _, method := range ms {
					out = append(out, docRoute{method: method, path: path, pkg: pkg, line: i + 1})
				}
			}
		}
	}
	return out
}

// expand fills a documented route's placeholders: {T} with both
// repository kinds, {P} with both web prefixes, [optional] parts present
// and absent, … with a trailing segment.
func expand(p string) []string {
	if i := strings.Index(p, "["); i >= 0 {
		j := strings.Index(p[i:], "]") + i
		return slices.Concat(expand(p[:i]+p[i+1:j]+p[j+1:]), expand(p[:i]+p[j+1:]))
	}
	if strings.Contains(p, "{T}") {
		return slices.Concat(expand(strings.Replace(p, "{T}", "models", 1)), expand(strings.Replace(p, "{T}", "datasets", 1)))
	}
	if m := choices.FindStringSubmatchIndex(p); m != nil {
		var out []string
		for _, c := range strings.Split(p[m[2]:m[3]], ",") {
			out = append(out, expand(p[:m[0]]+c+p[m[1]:])...)
		}
		return out
	}
	if strings.Contains(p, "{P}") {
		return slices.Concat(expand(strings.Replace(p, "{P}", "", 1)), expand(strings.Replace(p, "{P}", "datasets/", 1)))
	}
	r := strings.NewReplacer("{id}", "alice/model", "{rev}", "main", "{branch}", "dev", "{tag}", "v1", "{user}", "alice", "{u}", "alice", "{o}", "acme", "{token}", "t0k3n", "{n}", "1",
		"{path}", "dir/file.txt", "/…", "/x", "…", "")
	return []string{r.Replace(p)}
}
