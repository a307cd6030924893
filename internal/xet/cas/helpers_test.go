package cas

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
	"github.com/agorahub/agora/internal/xet/xettest"
)

// env is a service on real stores (SQLite and files) with two
// repositories.
type env struct {
	s      *Service
	m      meta.Store
	blobs  blob.Store
	repo   *meta.Repo
	other  *meta.Repo
	write  *Token // write token of repo
	read   *Token // read token of repo
	otherW *Token // write token of other
	dir    string // of the files store, if it is one
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	m, err := sqlitemeta.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, m, b)
	e.dir = dir
	return e
}

func newEnvOn(t *testing.T, m meta.Store, b blob.Store) *env {
	t.Helper()
	ks, err := blob.OpenKeyspace(b, XorbSpace)
	if err != nil {
		t.Fatal(err)
	}
	lg := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(t.Context(), lg, DefaultConfig(), m, ks)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{s: s, m: m, blobs: b}
	for i, name := range []string{"model", "other"} {
		r := &meta.Repo{PublicID: "00000000000000000000000" + string(rune('1'+i)), Type: meta.TypeModel, Namespace: "alice", Name: name, DefaultBranch: "main"}
		if err := m.CreateRepo(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.repo = r
		} else {
			e.other = r
		}
	}
	e.write = e.token(t, e.repo.ID, true)
	e.read = e.token(t, e.repo.ID, false)
	e.otherW = e.token(t, e.other.ID, true)
	return e
}

func (e *env) token(t *testing.T, repoID int64, write bool) *Token {
	t.Helper()
	raw, _ := e.s.IssueToken(repoID, 1, write)
	tok, err := e.s.ParseToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// send uploads u's xorbs and shard with tok.
func (e *env) send(t testing.TB, tok *Token, u *xettest.Upload) {
	t.Helper()
	for h, b := range u.Xorbs {
		if _, err := e.s.UploadXorb(t.Context(), tok, h.String(), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatalf("xorb %v: %v", h, err)
		}
	}
	if _, err := e.s.UploadShard(t.Context(), tok, bytes.NewReader(u.Shard(t)), nil); err != nil {
		t.Fatalf("shard: %v", err)
	}
}
