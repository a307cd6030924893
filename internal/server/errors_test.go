package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		status   int
		code     string
		internal bool
	}{
		{"repo not found", &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}, 404, "RepoNotFound", false},
		{"bare error", errors.New("boom"), 500, "", true},
		{"full blob store", fmt.Errorf("receive: %w", fmt.Errorf("commit blob: %w (no space left on device)", blob.ErrNoSpace)), 507, "", false},
		{"full database", fmt.Errorf("commit to a/b: %w", meta.ErrNoSpace), 507, "", false},
		{"interrupted upload", &hub.Error{Kind: hub.ErrInvalid, Msg: "interrupted", Err: io.ErrUnexpectedEOF}, 400, "", false},
		{"stalled upload", &hub.Error{Kind: hub.ErrInvalid, Msg: "interrupted", Err: errSlowBody}, 408, "", false},
		{"client gone", &hub.Error{Kind: hub.ErrInvalid, Msg: "interrupted", Err: context.Canceled}, 499, "", false},
		{"store not found is no user answer", fmt.Errorf("read: %w", meta.ErrNotFound), 500, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Classify(tc.err)
			if p.Status != tc.status || p.Code != tc.code || p.Internal != tc.internal {
				t.Errorf("Classify(%v) = %d %q internal=%v, want %d %q internal=%v", tc.err, p.Status, p.Code, p.Internal, tc.status, tc.code, tc.internal)
			}
			if p.Status == http.StatusInsufficientStorage && p.Msg == "" {
				t.Error("507 without a message")
			}
		})
	}
}

// TestReadyzNamesAFullStore: a readiness check failing with hub.ErrNoSpace
// is reported as "storage is full"; other failures only name the check.
func TestReadyzNamesAFullStore(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"full", fmt.Errorf("%w: 3 MiB free", hub.ErrNoSpace), "disk: not ready: storage is full\n"},
		{"down", errors.New("dial tcp: connection refused"), "disk: not ready\n"},
		{"ok", nil, "ok\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(testLogger(t), Config{}, tokens{}, []Check{{Name: "disk", Fn: func(context.Context) error { return tc.err }}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
			if wantCode := map[bool]int{true: 200, false: 503}[tc.err == nil]; rec.Code != wantCode {
				t.Errorf("status %d, want %d", rec.Code, wantCode)
			}
		})
	}
}
