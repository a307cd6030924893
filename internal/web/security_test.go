package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/agorahub/agora/internal/hub"
)

// hostileCard tries every way we know for a card to run script, load
// active content, restyle the page or break out of the card's container.
const hostileCard = `---
license: mit
tags:
- "<script>alert('tag')</script>"
---
# Hostile <script>alert('inline')</script>

<script>alert(1)</script>
<SCRIPT SRC=https://evil.example/x.js></SCRIPT>

[markdown javascript link](javascript:alert(2))
[entity-encoded](jav&#x61;script:alert(2))
<a href="javascript:alert(3)">html javascript link</a>
<a href="JaVaScRiPt:alert(3)">mixed case</a>
<a href=" javascript:alert(3)">leading space</a>
<a href="vbscript:msgbox(1)">vbscript</a>
<a href="data:text/html,<script>alert(9)</script>">data link</a>

<img src=x onerror="alert(4)">
<img src="javascript:alert(5)">
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">
<img srcset="javascript:alert(1)">
<p onclick="alert(6)" style="position:fixed;top:0;left:0;width:100%;height:100%">click me</p>
<details open ontoggle=alert(13)><summary>s</summary></details>
<input type="checkbox" onclick=alert(12) checked>

<svg onload="alert(7)"><script>alert(8)</script><circle r="1"/></svg>
<svg><a xlink:href="javascript:alert(14)"><text>svg link</text></a></svg>
<math><mtext><table><mglyph><style><img src=x onerror=alert(10)></style></mglyph></table></mtext></math>
<noscript><p title="</noscript><img src=x onerror=alert(11)>"></noscript>

<iframe src="https://evil.example"></iframe>
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x">
<style>body { display: none }</style>
<link rel="stylesheet" href="https://evil.example/x.css">
<base href="https://evil.example/">
<meta http-equiv="refresh" content="0;url=https://evil.example">
<form action="/settings/tokens" method="post"><input name="name"><button>go</button></form>
<textarea></div></textarea>
`

// breakoutCard closes the page's elements to put its own next to them.
const breakoutCard = `# Break-out

</div></div></article></div></main>
<div id="escaped">broke out?</div>
<aside class="side"><section class="panel">fake panel</section></aside>
</body></html><p>after</p>
`

// forbidden are elements that must not survive in a card.
var forbidden = []string{"script", "iframe", "svg", "math", "style", "object", "embed", "link", "base",
	"meta", "form", "textarea", "noscript", "button"}

// attrsOf walks the parsed page.
func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for _, c := range strings.Fields(v) {
		if c == class {
			return true
		}
	}
	return false
}

func within(n *html.Node, pred func(*html.Node) bool) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if pred(p) {
			return true
		}
	}
	return false
}

var scriptURL = regexp.MustCompile(`(?i)^\s*(javascript|vbscript|data|file):`)

func TestCardXSS(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mallory := e.user("mallory", "", false)
	e.repo(mallory, hub.TypeModel, "mallory", "evil", false, "README.md", hostileCard)
	e.repo(mallory, hub.TypeModel, "mallory", "breakout", false, "README.md", breakoutCard)
	for _, name := range []string{"evil", "breakout"} {
		t.Run(name, func(t *testing.T) {
			res := e.browser().get("/mallory/" + name)
			if res.status != http.StatusOK {
				t.Fatalf("status %d\n%s", res.status, res.body)
			}
			checkInert(t, res)
			if name == "breakout" && !strings.Contains(res.body, `<div id="escaped">broke out?</div>`) {
				t.Error("the break-out card lost its content instead of keeping it inside the card")
			}
		})
	}
}

// checkInert parses a repository page and checks that its card can do
// nothing: no active elements or attributes, no script URLs, and nothing
// outside the card's container.
func checkInert(t *testing.T, res response) {
	t.Helper()
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy = %q, want script-src 'self' without unsafe-inline", csp)
	}
	doc, err := html.Parse(strings.NewReader(res.body))
	if err != nil {
		t.Fatal(err)
	}
	isCard := func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "div" && hasClass(n, "markdown")
	}
	var card *html.Node
	walk(doc, func(n *html.Node) {
		if card == nil && isCard(n) {
			card = n
		}
	})
	if card == nil {
		t.Fatalf("no card on the page:\n%s", res.body)
	}
	// Inside the card: nothing active.
	walk(card, func(n *html.Node) {
		if n.Type != html.ElementNode || n == card {
			return
		}
		for _, f := range forbidden {
			if n.Data == f {
				t.Errorf("card contains <%s>", n.Data)
			}
		}
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(k, "on"):
				t.Errorf("card has event handler <%s %s=%q>", n.Data, a.Key, a.Val)
			case k == "style", k == "srcset", k == "formaction", k == "xlink:href", k == "class" && n.Data != "code":
				t.Errorf("card has <%s %s=%q>", n.Data, a.Key, a.Val)
			case k == "href" || k == "src" || k == "cite" || k == "action":
				if scriptURL.MatchString(a.Val) {
					t.Errorf("card has a script URL <%s %s=%q>", n.Data, a.Key, a.Val)
				}
			}
		}
		if n.Data == "img" {
			src, _ := attr(n, "src")
			if u, err := url.Parse(src); err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
				t.Errorf("card image with source %q", src)
			}
		}
		if n.Data == "input" {
			if typ, _ := attr(n, "type"); typ != "checkbox" {
				t.Errorf("card has <input type=%q>", typ)
			}
		}
	})
	// Nothing broke out: what the card injected is still inside it, and
	// the page keeps one main and one side column.
	var mains, sides int
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if id, _ := attr(n, "id"); id == "escaped" && !within(n, isCard) {
			t.Error("the card's <div id=escaped> escaped the card container")
		}
		if n.Data == "main" {
			mains++
		}
		if n.Data == "aside" && hasClass(n, "side") {
			sides++
		}
		// Outside the card, the page's own script only.
		if n.Data == "script" {
			if src, _ := attr(n, "src"); !strings.HasPrefix(src, "/static/app.js") {
				t.Errorf("page has a script %q", src)
			}
		}
	})
	if mains != 1 || sides != 1 {
		t.Errorf("page has %d <main> and %d side columns, want 1 and 1", mains, sides)
	}
	if strings.Contains(res.body, `id="escaped"`) && !strings.Contains(textOf(card), "broke out?") {
		t.Error("the break-out text is not inside the card")
	}
	// The front matter is text, not markup.
	if strings.Contains(res.body, "<script>alert('tag')") {
		t.Error("card metadata rendered as HTML")
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

// TestCSRF checks that every form refuses a POST without the token bound
// to the visitor's session.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("alice", "", false)
	bob := e.user("bob", "", false)
	e.repo(alice, hub.TypeModel, "alice", "m", false, "README.md", "# m\n")
	a := e.browser()
	a.as(alice)
	b := e.browser()
	b.as(bob)
	bobToken := csrf(t, b.page("/settings/tokens"))

	posts := []struct {
		path string
		form url.Values
	}{
		{"/settings/tokens", url.Values{"name": {"x"}, "role": {"write"}}},
		{"/settings/tokens/1/delete", url.Values{}},
		{"/new", url.Values{"type": {"model"}, "owner": {"alice"}, "name": {"csrf-made"}}},
		{"/alice/m/settings", url.Values{"action": {"visibility"}, "private": {"on"}}},
		{"/alice/m/settings", url.Values{"action": {"delete"}, "confirm": {"alice/m"}}},
		{"/logout", url.Values{}},
	}
	for _, p := range posts {
		for _, tc := range []struct {
			name  string
			token []string
		}{
			{"missing", nil},
			{"empty", []string{""}},
			{"forged", []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
			{"other session", []string{bobToken}},
		} {
			f := url.Values{}
			for k, v := range p.form {
				f[k] = v
			}
			if tc.token != nil {
				f["csrf"] = tc.token
			}
			if r := a.do(http.MethodPost, p.path, f); r.status != http.StatusForbidden {
				t.Errorf("POST %s with %s token: status %d, want 403", p.path, tc.name, r.status)
			}
		}
	}
	// Nothing happened.
	if toks, _ := e.svc.ListTokens(t.Context(), alice); len(toks) != 0 {
		t.Errorf("tokens created without a valid form token: %+v", toks)
	}
	if r, err := e.svc.GetRepo(t.Context(), nil, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "m"}); err != nil || r.Private {
		t.Errorf("repo changed without a valid form token: %+v %v", r, err)
	}
	if _, err := e.svc.GetRepo(t.Context(), alice, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "csrf-made"}); err == nil {
		t.Error("repo created without a valid form token")
	}
	// A cross-site sign-in (no pre-session cookie) is refused too.
	if r := e.browser().do(http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "csrf": {bobToken}}); r.status != http.StatusForbidden {
		t.Errorf("POST /login without the pre-session cookie: status %d, want 403", r.status)
	}
	// With the right token the same forms work.
	if r := a.post("/new", "/new", url.Values{"type": {"model"}, "owner": {"alice"}, "name": {"made"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/alice/made" {
		t.Errorf("POST /new with token: %d %q", r.status, r.header.Get("Location"))
	}
	if r := a.post("/", "/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("POST /logout with token: %d", r.status)
	}
	if body := a.page("/"); strings.Contains(body, "Sign out") {
		t.Error("still signed in after signing out")
	}
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user("alice", "alice-password", false)
	b := e.browser()
	r := b.post("/login", "/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {"//evil.example/x"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Errorf("sign in with an off-site next: %d %q, want 303 to /", r.status, r.header.Get("Location"))
	}
	var c *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "agora_session" {
			c = ck
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over http", c)
	}
	// A wrong password re-renders the form with 401.
	if r := e.browser().post("/login", "/login", url.Values{"username": {"alice"}, "password": {"nope"}}); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong user name or password") {
		t.Errorf("wrong password: %d", r.status)
	}
	// A forged session cookie is ignored and cleared.
	f := e.browser()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/", nil)
	req.AddCookie(&http.Cookie{Name: "agora_session", Value: "forged.value"})
	res, err := f.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Set-Cookie"), "agora_session=;") {
		t.Errorf("forged session: status %d, Set-Cookie %q", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}

// TestPublicURL checks pages behind a public URL with a path prefix and
// https: links carry the prefix, cookies are scoped to it and Secure.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, "https://example.org/hub")
	alice := e.user("alice", "alice-password", false)
	e.repo(alice, hub.TypeModel, "alice", "m", false, "README.md", "# m\n")
	b := e.browser()
	home := b.page("/hub/")
	for _, want := range []string{`href="/hub/models"`, `href="/hub/alice/m"`, `href="/hub/static/style.css?v=`} {
		if !strings.Contains(home, want) {
			t.Errorf("home page lacks %s", want)
		}
	}
	r := b.post("/hub/login", "/hub/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {"/alice/m"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/hub/alice/m" {
		t.Fatalf("sign in: %d %q", r.status, r.header.Get("Location"))
	}
	var c *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "agora_session" {
			c = ck
		}
	}
	if c == nil || !c.Secure || c.Path != "/hub" {
		t.Errorf("session cookie = %+v, want Secure with Path=/hub", c)
	}
	repo := b.page("/hub/alice/m")
	if !strings.Contains(repo, "git clone https://example.org/hub/alice/m") {
		t.Errorf("repo page lacks the clone command for the public URL")
	}
}
