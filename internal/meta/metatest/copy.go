package metatest

import (
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// SeedForCopy fills s with one record of every kind, for store-to-store
// copy tests; VerifyCopy checks a copy of it.
func SeedForCopy(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "copier")
	must(t, s.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "t", Hash: []byte("copyhash"), Role: meta.RoleWrite}))
	r := mkRepo(t, s, meta.TypeModel, "copier", "model", true)
	blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("copied\x00bytes")}
	must(t, s.PutObjects(ctx, r.ID, []gitobj.Object{blob}))
	must(t, s.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, blob.ID()))
	must(t, s.AddLFSObject(ctx, r.ID, strings.Repeat("d", 64), 77))
	must(t, s.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{Sha: blob.ID(), CardData: []byte(`{"license":"mit"}`), Tags: []string{"a", "b"},
		Bases: []meta.Edge{{Base: "x/y", Relation: meta.RelAdapter}}}))
	must(t, s.RenameRepo(ctx, r.ID, "copier", "model2"))
	must(t, s.RecordDownloads(ctx, 20000, map[int64]int64{r.ID: 3}))
	_, err := s.SetLike(ctx, u.ID, r.ID, true)
	must(t, err)
	_, err = s.Secret(ctx, "upload-signing-key", func() []byte { return []byte("k3y") })
	must(t, err)
	must(t, s.PutScan(ctx, &meta.ScanRecord{Key: "git:abc", RepoID: r.ID, Version: 1, Level: "safe", Result: []byte(`{}`), ScannedAt: time.UnixMilli(1)}))
	seedXetForCopy(t, s, r.ID)
	seedMirrorForCopy(t, s)
}

// VerifyCopy checks that dst holds what SeedForCopy wrote, and that new
// records get fresh ids.
func VerifyCopy(t *testing.T, dst meta.Store) {
	ctx := t.Context()
	u, err := dst.UserByName(ctx, "copier")
	must(t, err)
	tok, owner, err := dst.TokenByHash(ctx, []byte("copyhash"))
	must(t, err)
	if owner.ID != u.ID || tok.Role != meta.RoleWrite {
		t.Fatalf("token %+v %+v", tok, owner)
	}
	r, err := dst.RepoByName(ctx, meta.TypeModel, "copier", "model2")
	must(t, err)
	if !r.Private || r.Downloads != 3 || r.Likes != 1 {
		t.Fatalf("repo %+v", r)
	}
	if id, err := dst.Redirect(ctx, meta.TypeModel, "copier", "model"); err != nil || id != r.ID {
		t.Fatalf("redirect %d %v", id, err)
	}
	head, err := dst.GetRef(ctx, r.ID, "refs/heads/main")
	must(t, err)
	ob, err := dst.GetObject(ctx, r.ID, head)
	must(t, err)
	if string(ob.Data) != "copied\x00bytes" {
		t.Fatalf("object %q", ob.Data)
	}
	if n, err := dst.LFSObject(ctx, r.ID, strings.Repeat("d", 64)); err != nil || n != 77 {
		t.Fatalf("lfs %d %v", n, err)
	}
	m, err := dst.GetRepoMeta(ctx, r.ID)
	must(t, err)
	if string(m.CardData) != `{"license":"mit"}` || strings.Join(m.Tags, ",") != "a,b" {
		t.Fatalf("meta %+v", m)
	}
	if p, _ := dst.Parents(ctx, r.ID); len(p) != 1 || p[0].Relation != meta.RelAdapter {
		t.Fatalf("parents %+v", p)
	}
	key, err := dst.Secret(ctx, "upload-signing-key", func() []byte { return []byte("new") })
	must(t, err)
	if string(key) != "k3y" {
		t.Fatal("the signing key was not copied: signed URLs would break")
	}
	if sc, _ := dst.GetScans(ctx, []string{"git:abc"}); sc["git:abc"].Level != "safe" {
		t.Fatalf("scans %+v", sc)
	}
	verifyXetCopy(t, dst, r.ID)
	verifyMirrorCopy(t, dst)
	// Search finds the copied repository by name, and new ids follow the
	// copied ones.
	ls, err := dst.ListRepos(ctx, meta.RepoQuery{Type: meta.TypeModel, ViewerAll: true, Search: "model2"})
	must(t, err)
	if len(ls) != 1 {
		t.Fatalf("search after copy: %+v", ls)
	}
	nu := &meta.User{Name: "after-copy"}
	must(t, dst.CreateUser(ctx, nu))
	if nu.ID <= u.ID {
		t.Fatalf("new user id %d not after copied %d", nu.ID, u.ID)
	}
}
