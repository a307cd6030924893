package hubapi_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

// fullBlobs fails every write as a full disk does once full is set.
type fullBlobs struct {
	blob.Store
	full *bool
}

func (f fullBlobs) Create(ctx context.Context, oid string, size int64) (blob.Writer, error) {
	w, err := f.Store.Create(ctx, oid, size)
	if err != nil || !*f.full {
		return w, err
	}
	return fullWriter{w}, nil
}

type fullWriter struct{ blob.Writer }

func (fullWriter) Write([]byte) (int, error) {
	return 0, fmt.Errorf("write tmp/x: %w (no space left on device)", blob.ErrNoSpace)
}

// TestStorageFullIs507: an upload into a full blob store and a commit into
// a full database both answer 507 with a message saying storage is full,
// not a bare 500; nothing is kept.
func TestStorageFullIs507(t *testing.T) {
	m, b := storetest.Local(t)
	full := false
	lg := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := hub.New(t.Context(), lg, hub.DefaultConfig(), m, fullBlobs{b, &full})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(hubapi.New(lg, srv, svc, hubapi.Config{}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	u := &meta.User{Name: "alice"}
	if err := m.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	secret := auth.NewTokenSecret()
	if err := m.CreateToken(t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(secret), Role: meta.RoleWrite}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: ts.URL, alice: string(secret), store: m}
	e.createModel("m")

	content := []byte("bytes for a full disk")
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])
	var batch struct {
		Objects []struct {
			Actions map[string]struct{ Href string }
		}
	}
	r := e.mustOK(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice,
		map[string]any{"operation": "upload", "objects": []map[string]any{{"oid": oid, "size": len(content)}}}))
	json.Unmarshal(r.body, &batch)
	href := batch.Objects[0].Actions["upload"].Href
	full = true
	put := e.do("PUT", strings.TrimPrefix(href, ts.URL), "", content)
	// Random text: objects are stored compressed, and 64 KiB of one
	// letter would fit in the last page.
	noise := make([]byte, 48<<10)
	rand.Read(noise)
	commit := func() resp {
		return e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("full", ""), file("x.txt", hex.EncodeToString(noise))))
	}
	fillDatabase(t, m)
	tests := []struct {
		name string
		r    resp
	}{
		{"LFS upload into a full blob store", put},
		{"commit into a full database", commit()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r.status != 507 || !strings.Contains(tc.r.h.Get("X-Error-Message"), "Storage is full") {
				t.Errorf("status %d, X-Error-Message %q: %s", tc.r.status, tc.r.h.Get("X-Error-Message"), tc.r.body)
			}
		})
	}
	if _, err := b.Stat(t.Context(), oid); err == nil {
		t.Error("the refused upload was stored")
	}
}

// fillDatabase caps every connection of m's pool at the pages in use, so
// that the next write that needs a page fails as on a full disk.
func fillDatabase(t *testing.T, m *sqlitemeta.Store) {
	ctx := t.Context()
	var pages int64
	if err := m.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	var conns []*sql.Conn
	st := m.DB().Stats() // less the connection the store keeps open
	for range st.MaxOpenConnections - st.InUse {
		c, err := m.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
}
