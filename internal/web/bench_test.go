package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

// BenchmarkRepoPage measures the server time of a repository page for a
// model with 1,000 files (the issue asks for < 20 ms), and of its file
// browser, over SQLite and the filesystem in a temporary directory.
//
//	go test ./internal/web -run '^$' -bench . -benchtime 200x
func BenchmarkRepoPage(b *testing.B) {
	e := newEnv(b)
	alice := e.user("alice", "", false)
	ref := e.repo(alice, hub.TypeModel, "alice", "big", false)
	files := []string{"README.md", tinyCard + strings.Repeat("\nMore text with a [link](https://example.org) and `code`.\n", 200),
		"config.json", `{"architectures":["LlamaForCausalLM"],"model_type":"llama"}`}
	for i := range 998 {
		files = append(files, fmt.Sprintf("shards/part-%02d/file-%04d.json", i/100, i), fmt.Sprintf(`{"n":%d}`, i))
	}
	e.commit(alice, ref, "Add 1000 files", files...)
	for _, bc := range []struct{ name, path string }{
		{"card", "/alice/big"},
		{"tree-100", "/alice/big/tree/main/shards/part-00"},
		{"commits", "/alice/big/commits/main"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, e.url+bc.path, nil)
			var size int
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d\n%s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}
