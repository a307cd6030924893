package hubapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRangeRules checks the Range answers of PROTOCOL.md §2.6 on
// serveBytes (in-memory files) and serveFile (LFS content).
func TestRangeRules(t *testing.T) {
	data := []byte("0123456789")
	tests := []struct {
		rng, inm   string
		status     int
		contentRng string
		body       string
	}{
		{"", "", 200, "", "0123456789"},
		{"bytes=0-3", "", 206, "bytes 0-3/10", "0123"},
		{"bytes=7-", "", 206, "bytes 7-9/10", "789"},
		{"bytes=-2", "", 206, "bytes 8-9/10", "89"},
		{"bytes=-100", "", 206, "bytes 0-9/10", "0123456789"},
		{"bytes=5-100", "", 206, "bytes 5-9/10", "56789"},
		{"BYTES=0-1", "", 206, "bytes 0-1/10", "01"},
		{"bytes= 1-2 ", "", 206, "bytes 1-2/10", "12"},
		{"bytes=-0", "", 416, "bytes */10", ""},
		{"bytes=-00", "", 416, "bytes */10", ""},
		{"bytes=-0,0-1", "", 206, "bytes 0-1/10", "01"},
		{"bytes=10-", "", 416, "bytes */10", ""},
		{"bytes=5-2", "", 416, "bytes */10", ""},
		{"bytes=abc", "", 416, "bytes */10", ""},
		{"bytes=-", "", 416, "bytes */10", ""},
		{"bytes=--1", "", 416, "bytes */10", ""},
		{"bytes=0-99999999999999999999", "", 416, "bytes */10", ""},
		{"items=0-1", "", 200, "", "0123456789"},
		{"0-1", "", 200, "", "0123456789"},
		{"bytes=-0", `"etag"`, 304, "", ""},
	}
	for _, tc := range tests {
		for _, serve := range []struct {
			name string
			fn   func(w http.ResponseWriter, r *http.Request)
		}{
			{"bytes", func(w http.ResponseWriter, r *http.Request) { serveBytes(w, r, data) }},
			{"file", func(w http.ResponseWriter, r *http.Request) { serveFile(w, r, bytesReader(data), int64(len(data))) }},
		} {
			t.Run(serve.name+"/"+tc.rng+tc.inm, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				if tc.rng != "" {
					r.Header.Set("Range", tc.rng)
				}
				if tc.inm != "" {
					r.Header.Set("If-None-Match", tc.inm)
				}
				w := httptest.NewRecorder()
				w.Header().Set("ETag", `"etag"`)
				serve.fn(w, r)
				if w.Code != tc.status || w.Header().Get("Content-Range") != tc.contentRng {
					t.Errorf("%d Content-Range %q, want %d %q", w.Code, w.Header().Get("Content-Range"), tc.status, tc.contentRng)
				}
				if tc.status != 416 && w.Body.String() != tc.body {
					t.Errorf("body %q, want %q", w.Body.String(), tc.body)
				}
			})
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
