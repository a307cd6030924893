package web

import (
	"strings"
	"testing"
)

func TestResolveRelative(t *testing.T) {
	t.Parallel()
	base := "/alice/m/resolve/main"
	for _, tc := range []struct{ in, want string }{
		{"images/a.png", base + "/images/a.png"},
		{"./images/a.png", base + "/images/a.png"},
		{"../../../etc/passwd", base + "/etc/passwd"},
		{"a b.png", base + "/a%20b.png"},
		{"doc.md#usage", base + "/doc.md#usage"},
		{"#usage", "#usage"},
		{"/datasets/x/y", "/datasets/x/y"},
		{"https://example.org/a.png", "https://example.org/a.png"},
		{"//cdn.example.org/a.png", "//cdn.example.org/a.png"},
		{"mailto:a@example.org", "mailto:a@example.org"},
	} {
		if got := resolveRelative(tc.in, base); got != tc.want {
			t.Errorf("resolveRelative(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCardRender(t *testing.T) {
	t.Parallel()
	c := newCardRenderer(1 << 20)
	links := linkBase{Blob: "/a/m/blob/main", Resolve: "/a/m/resolve/main"}
	for _, tc := range []struct {
		name, in string
		want     []string
		not      []string
	}{
		{"gfm table", "| a | b |\n|---|---|\n| 1 | 2 |\n", []string{"<table>", "<td>1</td>"}, nil},
		{"task list", "- [x] done\n", []string{`<input checked="" disabled="" type="checkbox"/>`}, nil},
		{"code language", "```go\nx\n```\n", []string{`<code class="language-go">`}, nil},
		{"centered html", `<div align="center"><img src="logo.png" width="200"></div>`, []string{`<div align="center"><img src="/a/m/resolve/main/logo.png" width="200"/></div>`}, nil},
		{"mailto image dropped", `<img src="mailto:x@example.org">`, nil, []string{"<img"}},
		{"external link", "[x](https://example.org)", []string{`rel="nofollow noopener" target="_blank"`}, nil},
		{"entity smuggling", `<a href="&#106;avascript:alert(1)">x</a>`, nil, []string{"avascript"}},
		{"class injection", `<p class="repo-head">x</p>`, []string{"<p>x</p>"}, []string{"repo-head"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(c.render([]byte(tc.in), links))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("render(%q) = %q, want it to contain %q", tc.in, got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("render(%q) = %q, must not contain %q", tc.in, got, n)
				}
			}
		})
	}
}

// BenchmarkCardRender measures rendering a card without the cache (the
// first view of each README version).
func BenchmarkCardRender(b *testing.B) {
	c := newCardRenderer(1 << 20)
	body := []byte(strings.Repeat("## Section\n\nSome *text* with a [link](doc.md) and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<div align=\"center\"><img src=\"x.png\"></div>\n\n", 100))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		c.render(body, linkBase{Blob: "/a/m/blob/main", Resolve: "/a/m/resolve/main"})
	}
}
