package hub

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/pgmeta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
	"github.com/agorahub/agora/internal/testenv"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

// Both stores tell whether anything was written (a store that stopped
// matching the interface would silently lose every cache kept by it).
var (
	_ dataVersioner = (*sqlitemeta.Store)(nil)
	_ dataVersioner = (*pgmeta.Store)(nil)
)

// TestReadsEveryWrite: two services on one store (two processes on one
// SQLite file, two replicas on one PostgreSQL database) keep refs and
// repository rows by the store's data version, and each serves what the
// other wrote at once: commits, tags made and deleted, visibility. The
// reading service's requests carry their arrival, as the server's do.
func TestReadsEveryWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) func() meta.Store
	}{
		{"sqlite", func(t *testing.T) func() meta.Store {
			dir := t.TempDir()
			return func() meta.Store { m, _ := storetest.LocalAt(t, dir); return m }
		}},
		{"postgres", postgresStores},
	} {
		t.Run(tc.name, func(t *testing.T) { testReadsEveryWrite(t, tc.open(t)) })
	}
}

// postgresStores opens stores on a fresh schema of the test server (the
// test is skipped without one), as replicas would.
func postgresStores(t *testing.T) func() meta.Store {
	u := testenv.PostgresSchema(t)
	return func() meta.Store {
		m, err := pgmeta.Open(t.Context(), u, pgmeta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
}

func testReadsEveryWrite(t *testing.T, openStore func() meta.Store) {
	blobs, err := fsblob.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	open := func() *Service {
		s, err := New(t.Context(), testLogger(t), DefaultConfig(), openStore(), blobs)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.dataVersion(t.Context()); !ok {
			t.Fatal("the store has no data version")
		}
		return s
	}
	// Each call is a request arriving now.
	req := func() context.Context { return WithRequest(t.Context(), "127.0.0.1", time.Now()) }
	ctx := t.Context()
	a, b := open(), open()
	u := &meta.User{Name: "alice"}
	if err := a.meta.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	alice := auth.Identity{User: u, Token: &meta.Token{Name: "t", Role: meta.RoleWrite}, Role: meta.RoleWrite}
	if _, err := a.CreateRepo(ctx, &alice, modelRef, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	sha := func(s *Service, rev string) string {
		t.Helper()
		info, err := s.Info(req(), nil, modelRef, rev)
		if err != nil {
			t.Fatalf("info at %q: %v", rev, err)
		}
		return info.Revision.Commit.String()
	}
	for i := range 5 {
		res, err := a.Commit(ctx, &alice, modelRef, CommitRequest{Revision: "main", Summary: "c",
			Ops: []CommitOp{put("f.txt", string(rune('a'+i)))}})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second read is from b's caches
			if got := sha(b, "main"); got != res.Commit.String() {
				t.Fatalf("commit %d: b serves %s, a committed %s", i, got, res.Commit)
			}
			if got := sha(b, ""); got != res.Commit.String() {
				t.Fatalf("commit %d: b serves %s at the default branch, a committed %s", i, got, res.Commit)
			}
		}
	}
	if _, err := b.Info(req(), nil, modelRef, "v1"); err == nil {
		t.Fatal("a tag not made yet resolves")
	}
	if err := a.CreateTag(ctx, &alice, modelRef, "main", "v1", ""); err != nil {
		t.Fatal(err)
	}
	if got, want := sha(b, "v1"), sha(a, "main"); got != want {
		t.Fatalf("tag v1: b serves %s, want %s", got, want)
	}
	if err := a.DeleteTag(ctx, &alice, modelRef, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(req(), nil, modelRef, "v1"); err == nil {
		t.Fatal("a deleted tag still resolves")
	}
	// A model derived from it counts at once on the other service too.
	children := func() int64 {
		t.Helper()
		info, err := b.Info(req(), nil, modelRef, "main")
		if err != nil {
			t.Fatal(err)
		}
		n, err := b.ChildrenCount(req(), nil, info.Repo)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := children(); n != 0 {
		t.Fatalf("%d children before any", n)
	}
	child := RepoRef{Type: TypeModel, Namespace: "alice", Name: "child"}
	if _, err := a.CreateRepo(ctx, &alice, child, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	card := "---\nbase_model: " + modelRef.Namespace + "/" + modelRef.Name + "\n---\n"
	if _, err := a.Commit(ctx, &alice, child, CommitRequest{Revision: "main", Summary: "card", Ops: []CommitOp{put("README.md", card)}}); err != nil {
		t.Fatal(err)
	}
	if n := children(); n != 1 {
		t.Fatalf("%d children after one was made, want 1", n)
	}
	yes := true
	if _, err := a.UpdateSettings(ctx, &alice, modelRef, RepoSettings{Private: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(req(), nil, modelRef, "main"); err == nil {
		t.Fatal("a repository made private is still served to anyone")
	}
}
