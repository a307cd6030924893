package hub

import (
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

// TestSQLiteReadsEveryWrite: two services on one SQLite file (as the
// server and an `agora` command, or two processes, have it) keep refs and
// repository rows by the store's data version, and each serves what the
// other wrote at once: commits, tags made and deleted, visibility.
func TestSQLiteReadsEveryWrite(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	open := func() *Service {
		m, b := storetest.LocalAt(t, dir)
		s, err := New(ctx, testLogger(t), DefaultConfig(), m, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.dataVersion(); !ok {
			t.Fatal("the SQLite store has no data version")
		}
		return s
	}
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
		info, err := s.Info(ctx, nil, modelRef, rev)
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
	if _, err := b.Info(ctx, nil, modelRef, "v1"); err == nil {
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
	if _, err := b.Info(ctx, nil, modelRef, "v1"); err == nil {
		t.Fatal("a deleted tag still resolves")
	}
	yes := true
	if _, err := a.UpdateSettings(ctx, &alice, modelRef, RepoSettings{Private: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(ctx, nil, modelRef, "main"); err == nil {
		t.Fatal("a repository made private is still served to anyone")
	}
}
