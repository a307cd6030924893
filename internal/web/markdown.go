package web

import (
	"bytes"
	"html/template"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxCardBody bounds the Markdown rendered for a card; the rest is cut
// (the blob page still offers the whole file).
const maxCardBody = 1 << 20

// cardRenderer turns a model card's Markdown into HTML that is safe to
// put in a page, and caches the result by content: a README blob id never
// changes meaning (DESIGN.md decision 6).
//
// The steps, in order:
//
//  1. goldmark with GFM renders the Markdown, passing raw HTML through
//     (cards are full of <div align="center"> and <img>);
//  2. bluemonday's UGC policy, narrowed further, keeps only harmless
//     elements and attributes: no script, style, iframe, svg, form or
//     event handler, and only http, https, mailto and relative URLs;
//  3. the HTML5 parser re-reads the result as the children of a <div>
//     and it is serialised again, so the output is a balanced tree:
//     a stray </div> in a card cannot close the page's own elements.
//     While walking the tree, relative links are pointed into the
//     repository and images that are not http(s) or relative are dropped.
type cardRenderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy

	mu    sync.Mutex
	cache map[string]template.HTML
	bytes int
	max   int
}

func newCardRenderer(maxCache int) *cardRenderer {
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		goldmark.WithRendererOptions(gmhtml.WithUnsafe()),
	)
	return &cardRenderer{md: md, policy: cardPolicy(), cache: map[string]template.HTML{}, max: maxCache}
}

func cardPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("align").Matching(regexp.MustCompile(`(?i)^(left|right|center|justify)$`)).
		OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[\w+#.-]{1,40}$`)).OnElements("code")
	// GFM task lists render disabled checkboxes.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnFullyQualifiedLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// linkBase says where a card's relative links point: files open in the
// blob view, images load from resolve.
type linkBase struct {
	Blob    string // "/ns/name/blob/main"
	Resolve string // "/ns/name/resolve/main"
}

// Render returns a card body as safe HTML. key identifies the content
// and the link base (it is the cache key); load reads the Markdown only
// when the cache does not have it.
func (c *cardRenderer) Render(key string, load func() ([]byte, error), links linkBase) (template.HTML, error) {
	c.mu.Lock()
	out, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	body, err := load()
	if err != nil {
		return "", err
	}
	out = c.render(body, links)
	c.mu.Lock()
	if c.bytes+len(out) > c.max {
		c.cache, c.bytes = map[string]template.HTML{}, 0
	}
	c.cache[key] = out
	c.bytes += len(out) + len(key)
	c.mu.Unlock()
	return out, nil
}

func (c *cardRenderer) render(body []byte, links linkBase) template.HTML {
	truncated := false
	if len(body) > maxCardBody {
		body, truncated = body[:maxCardBody], true
	}
	var md bytes.Buffer
	if err := c.md.Convert(body, &md); err != nil {
		// goldmark fails only on writer errors; show the text instead.
		return template.HTML("<pre>" + template.HTMLEscapeString(string(body)) + "</pre>")
	}
	clean := c.policy.SanitizeReader(&md)
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(clean, ctx)
	if err != nil {
		return ""
	}
	root := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	fixLinks(root, links)
	var out bytes.Buffer
	for n := root.FirstChild; n != nil; n = n.NextSibling {
		if err := html.Render(&out, n); err != nil {
			return ""
		}
	}
	if truncated {
		out.WriteString(`<p class="note">This card is longer than 1 MB: the rest is not shown.</p>`)
	}
	// The tree came out of the sanitizer and the HTML5 serialiser: this
	// is the one place where markup from a card becomes trusted.
	return template.HTML(out.String())
}

// fixLinks walks n: relative links and images are resolved against the
// repository, and images whose source is neither http(s) nor relative
// are removed.
func fixLinks(n *html.Node, links linkBase) {
	for ch := n.FirstChild; ch != nil; {
		next := ch.NextSibling
		if ch.Type == html.ElementNode && ch.DataAtom == atom.Img && !imageAllowed(ch) {
			n.RemoveChild(ch)
		} else {
			fixLinks(ch, links)
		}
		ch = next
	}
	if n.Type != html.ElementNode {
		return
	}
	for i, a := range n.Attr {
		switch {
		case n.DataAtom == atom.A && a.Key == "href":
			n.Attr[i].Val = resolveRelative(a.Val, links.Blob)
		case n.DataAtom == atom.Img && a.Key == "src":
			n.Attr[i].Val = resolveRelative(a.Val, links.Resolve)
		}
	}
}

func imageAllowed(n *html.Node) bool {
	for _, a := range n.Attr {
		if a.Key != "src" {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(a.Val))
		if err != nil {
			return false
		}
		s := strings.ToLower(u.Scheme)
		return s == "" || s == "http" || s == "https"
	}
	return false
}

// resolveRelative points a path relative to the card ("images/a.png",
// "./LICENSE") at base; absolute URLs, site paths and fragments stay.
func resolveRelative(ref, base string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "" || strings.HasPrefix(u.Path, "/") {
		return ref
	}
	out := base + escapePath(path.Clean("/"+u.Path))
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	return out
}
