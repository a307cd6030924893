package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

type fixture struct {
	s          *Service
	m          meta.Store
	alice, bob *auth.Identity
	admin      *auth.Identity
	aliceRead  *auth.Identity
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	m, b := storetest.Local(t)
	cfg := DefaultConfig()
	cfg.LFSThreshold = 1 << 10
	cfg.MaxRegularFile = 64 << 10
	for _, f := range mutate {
		f(&cfg)
	}
	s, err := New(t.Context(), testLogger(t), cfg, m, b)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, m: m}
	mk := func(name string, admin bool, role string) *auth.Identity {
		u, err := m.UserByName(t.Context(), name)
		if err != nil {
			u = &meta.User{Name: name, IsAdmin: admin}
			if err := m.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		return &auth.Identity{User: u, Token: &meta.Token{Name: "t", Role: role}, Role: role}
	}
	f.alice = mk("alice", false, meta.RoleWrite)
	f.aliceRead = mk("alice", false, meta.RoleRead)
	f.bob = mk("bob", false, meta.RoleWrite)
	f.admin = mk("root", true, meta.RoleWrite)
	return f
}

var modelRef = RepoRef{Type: TypeModel, Namespace: "alice", Name: "m"}

func (f *fixture) create(t *testing.T, ref RepoRef, private bool) {
	t.Helper()
	if _, err := f.s.CreateRepo(t.Context(), f.alice, ref, CreateRepoOptions{Private: private}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) files(t *testing.T, ref RepoRef, rev string) map[string]string {
	t.Helper()
	_, _, ents, _, err := f.s.ListTree(t.Context(), f.alice, ref, rev, TreeOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		r, _ := f.s.GetRepo(t.Context(), f.alice, ref)
		data, err := f.s.ReadBlob(t.Context(), r, &e)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Path] = string(data)
	}
	return out
}

func put(path, content string) CommitOp {
	return CommitOp{Kind: OpFile, Path: path, Content: []byte(content)}
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
}

func TestCreateRepo(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	files := f.files(t, modelRef, "main")
	if !strings.Contains(files[".gitattributes"], "*.safetensors filter=lfs") {
		t.Fatalf("no default .gitattributes: %v", files)
	}
	// Same name as a dataset is fine; again as a model is a conflict.
	if _, err := f.s.CreateRepo(ctx, f.alice, RepoRef{Type: TypeDataset, Namespace: "alice", Name: "m"}, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.CreateRepo(ctx, f.alice, RepoRef{Type: TypeModel, Namespace: "Alice", Name: "M"}, CreateRepoOptions{})
	wantKind(t, err, ErrConflict)

	cases := []struct {
		name string
		who  *auth.Identity
		ref  RepoRef
		kind error
	}{
		{"anonymous", nil, RepoRef{TypeModel, "alice", "x"}, ErrUnauthenticated},
		{"read token", f.aliceRead, RepoRef{TypeModel, "alice", "x"}, ErrForbidden},
		{"other namespace", f.bob, RepoRef{TypeModel, "alice", "x"}, ErrForbidden},
		{"bad name", f.alice, RepoRef{TypeModel, "alice", "a..b"}, ErrInvalid},
		{"double dash", f.alice, RepoRef{TypeModel, "alice", "a--b"}, ErrInvalid},
		{"ends with .git", f.alice, RepoRef{TypeModel, "alice", "x.git"}, ErrInvalid},
		{"leading dash", f.alice, RepoRef{TypeModel, "alice", "-x"}, ErrInvalid},
		{"too long", f.alice, RepoRef{TypeModel, "alice", strings.Repeat("x", 97)}, ErrInvalid},
		{"slash", f.alice, RepoRef{TypeModel, "alice", "a/b"}, ErrInvalid},
		{"reserved namespace", f.admin, RepoRef{TypeModel, "api", "x"}, ErrInvalid},
		{"space type", f.alice, RepoRef{"space", "alice", "x"}, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.CreateRepo(ctx, tc.who, tc.ref, CreateRepoOptions{})
			wantKind(t, err, tc.kind)
		})
	}
	// An admin may create anywhere.
	if _, err := f.s.CreateRepo(ctx, f.admin, RepoRef{TypeModel, "bob", "by-admin"}, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestPrivateRepoIsInvisible(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, true)
	for _, who := range []*auth.Identity{nil, f.bob} {
		_, err := f.s.GetRepo(ctx, who, modelRef)
		wantKind(t, err, ErrRepoNotFound)
		_, _, _, err = f.s.FileAt(ctx, who, modelRef, "main", ".gitattributes")
		wantKind(t, err, ErrRepoNotFound)
		_, err = f.s.Commit(ctx, who, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{put("a", "b")}})
		wantKind(t, err, ErrRepoNotFound)
		rows, _, err := f.s.ListRepos(ctx, who, ListQuery{Type: TypeModel, Limit: 10})
		if err != nil || len(rows) != 0 {
			t.Fatalf("listing shows private repo: %v %v", rows, err)
		}
	}
	// The missing repo and the private one look the same.
	_, err1 := f.s.GetRepo(ctx, f.bob, modelRef)
	_, err2 := f.s.GetRepo(ctx, f.bob, RepoRef{TypeModel, "alice", "nope"})
	if err1.Error() != err2.Error() {
		t.Fatalf("private %q differs from missing %q", err1, err2)
	}
	if _, err := f.s.GetRepo(ctx, f.admin, modelRef); err != nil {
		t.Fatal(err)
	}
	// Read tokens read but do not write.
	if _, err := f.s.GetRepo(ctx, f.aliceRead, modelRef); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.Commit(ctx, f.aliceRead, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{put("a", "b")}})
	wantKind(t, err, ErrForbidden)
}

func TestCommitAndHistory(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	res, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Summary: "add files", Description: "body text",
		Ops: []CommitOp{put("README.md", "# hi\n"), put("dir/a.txt", "a"), put("dir/sub/b.txt", "b")}})
	if err != nil {
		t.Fatal(err)
	}
	got := f.files(t, modelRef, res.Commit.String())
	if got["dir/sub/b.txt"] != "b" || got["README.md"] != "# hi\n" {
		t.Fatalf("files %v", got)
	}
	res2, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Summary: "rm",
		Ops: []CommitOp{{Kind: OpDeleteFolder, Path: "dir/"}, put("c.txt", "c")}})
	if err != nil {
		t.Fatal(err)
	}
	got = f.files(t, modelRef, "main")
	if _, ok := got["dir/a.txt"]; ok || got["c.txt"] != "c" {
		t.Fatalf("after delete folder: %v", got)
	}
	// The old commit is still readable.
	if old := f.files(t, modelRef, res.Commit.String()); old["dir/a.txt"] != "a" {
		t.Fatalf("old revision changed: %v", old)
	}
	_, _, list, total, err := f.s.ListCommits(ctx, nil, modelRef, "main", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || list[0].ID != res2.Commit || list[1].Title != "add files" || list[1].Message != "body text" ||
		list[2].Title != "initial commit" || list[1].Authors[0] != "alice" {
		t.Fatalf("history %d: %+v", total, list)
	}
	// Paging.
	_, _, page, _, err := f.s.ListCommits(ctx, nil, modelRef, "main", 1, 1)
	if err != nil || len(page) != 1 || page[0].ID != res.Commit {
		t.Fatalf("page: %+v %v", page, err)
	}
}

func TestCommitIsAtomic(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	_, rv0, _ := f.s.ResolveRevision(ctx, nil, modelRef, "main")
	cases := []struct {
		name string
		ops  []CommitOp
		kind error
	}{
		{"delete missing file", []CommitOp{put("ok.txt", "x"), {Kind: OpDeleteFile, Path: "missing.txt"}}, ErrEntryNotFound},
		{"delete missing folder", []CommitOp{put("ok.txt", "x"), {Kind: OpDeleteFolder, Path: "nodir"}}, ErrEntryNotFound},
		{"dotdot", []CommitOp{put("ok.txt", "x"), put("a/../b", "x")}, ErrInvalid},
		{"absolute", []CommitOp{put("/etc/passwd", "x")}, ErrInvalid},
		{"git dir", []CommitOp{put(".git/config", "x")}, ErrInvalid},
		{"nested git dir", []CommitOp{put("a/.git/hooks/x", "x")}, ErrInvalid},
		{"empty segment", []CommitOp{put("a//b", "x")}, ErrInvalid},
		{"trailing slash", []CommitOp{put("a/", "x")}, ErrInvalid},
		{"NUL", []CommitOp{put("a\x00b", "x")}, ErrInvalid},
		{"control char", []CommitOp{put("a\x1bb", "x")}, ErrInvalid},
		{"backslash", []CommitOp{put(`a\b`, "x")}, ErrInvalid},
		{"empty path", []CommitOp{put("", "x")}, ErrInvalid},
		{"too large regular", []CommitOp{put("big.txt", strings.Repeat("x", 64<<10+1))}, ErrTooLarge},
		{"file over folder", []CommitOp{put(".gitattributes/x", "x")}, ErrInvalid},
		{"unknown lfs object", []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: strings.Repeat("a", 64), Size: 5}}, ErrInvalid},
		{"bad lfs oid", []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: "xyz", Size: 5}}, ErrInvalid},
		{"no operations", nil, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: tc.ops})
			wantKind(t, err, tc.kind)
			_, rv, _ := f.s.ResolveRevision(ctx, nil, modelRef, "main")
			if rv.Commit != rv0.Commit {
				t.Fatal("a rejected commit moved the branch")
			}
		})
	}
	_, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "nobranch", Ops: []CommitOp{put("a", "b")}})
	wantKind(t, err, ErrRevisionNotFound)
}

func TestStaleParent(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	_, rv0, _ := f.s.ResolveRevision(ctx, nil, modelRef, "main")
	res, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", ParentCommit: rv0.Commit.String(), Ops: []CommitOp{put("a", "1")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", ParentCommit: rv0.Commit.String(), Ops: []CommitOp{put("b", "2")}})
	wantKind(t, err, ErrStaleParent)
	// A short prefix of the right parent is accepted.
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", ParentCommit: res.Commit.String()[:7], Ops: []CommitOp{put("c", "3")}}); err != nil {
		t.Fatal(err)
	}
	if got := f.files(t, modelRef, "main"); got["b"] != "" || got["c"] != "3" {
		t.Fatalf("files %v", got)
	}
}

// TestConcurrentCommits has many committers on one branch without a
// parent commit: every file of every commit must be there at the end.
func TestConcurrentCommits(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	// A second service on the same database stands for a second replica:
	// it shares no in-process lock with the first.
	other, err := New(ctx, testLogger(t), f.s.cfg, f.m, f.s.blobs)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 12, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		svc := f.s
		if w%2 == 1 {
			svc = other
		}
		wg.Go(func() {
			for i := range each {
				_, err := svc.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main",
					Ops: []CommitOp{put(fmt.Sprintf("w%d/f%d.txt", w, i), "x")}})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := f.files(t, modelRef, "main")
	for w := range workers {
		for i := range each {
			if _, ok := got[fmt.Sprintf("w%d/f%d.txt", w, i)]; !ok {
				t.Errorf("lost w%d/f%d.txt", w, i)
			}
		}
	}
	_, _, _, total, err := f.s.ListCommits(ctx, nil, modelRef, "main", 0, 1)
	if err != nil || total != workers*each+1 {
		t.Fatalf("history has %d commits, want %d (%v)", total, workers*each+1, err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestLFSUploadAndCommit(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	data := bytes.Repeat([]byte{1, 2, 3, 0}, 5000)
	oid := sha(data)
	acts, err := f.s.LFSBatch(ctx, f.alice, modelRef, "upload", []LFSObject{{OID: oid, Size: int64(len(data))}}, []string{"basic"})
	if err != nil || len(acts) != 1 || acts[0].Upload == nil {
		t.Fatalf("batch: %+v %v", acts, err)
	}
	tok := acts[0].Upload.Token
	// Content that does not match is refused and leaves nothing.
	wrong := append([]byte{9}, data[1:]...)
	err = f.s.UploadLFS(ctx, tok, int64(len(wrong)), bytes.NewReader(wrong))
	wantKind(t, err, ErrInvalid)
	err = f.s.UploadLFS(ctx, tok, -1, bytes.NewReader(data[:100]))
	wantKind(t, err, ErrInvalid)
	err = f.s.UploadLFS(ctx, tok, 5, bytes.NewReader(data))
	wantKind(t, err, ErrInvalid)
	if _, err := f.s.blobs.Stat(ctx, oid); err == nil {
		t.Fatal("mismatching upload left an object")
	}
	_, err = f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: oid, Size: int64(len(data))}}})
	wantKind(t, err, ErrInvalid)
	// A forged or expired token is refused.
	wantKind(t, f.s.UploadLFS(ctx, tok+"x", -1, bytes.NewReader(data)), ErrForbidden)
	if err := f.s.UploadLFS(ctx, tok, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.s.VerifyLFS(ctx, f.alice, modelRef, oid, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	// Now present: the batch asks for nothing.
	acts, _ = f.s.LFSBatch(ctx, f.alice, modelRef, "upload", []LFSObject{{OID: oid, Size: int64(len(data))}}, nil)
	if !acts[0].Present {
		t.Fatalf("object not reported present: %+v", acts[0])
	}
	// A wrong declared size is refused.
	_, err = f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: oid, Size: 1}}})
	wantKind(t, err, ErrInvalid)
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: oid, Size: -1}}}); err != nil {
		t.Fatal(err)
	}
	r, rv, e, err := f.s.FileAt(ctx, nil, modelRef, "main", "w.bin")
	if err != nil || e.LFS == nil || e.LFS.OID != oid || e.Size != int64(len(data)) {
		t.Fatalf("FileAt: %+v %v", e, err)
	}
	c, err := f.s.OpenContent(ctx, r, e, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.File.Close()
	got := make([]byte, len(data))
	if _, err := c.File.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content differs: %v", err)
	}
	_ = rv
	// Another repository does not get the object for free by naming it.
	other := RepoRef{TypeModel, "bob", "thief"}
	if _, err := f.s.CreateRepo(ctx, f.bob, other, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Commit(ctx, f.bob, other, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: oid, Size: int64(len(data))}}})
	wantKind(t, err, ErrInvalid)
	acts, _ = f.s.LFSBatch(ctx, f.bob, other, "upload", []LFSObject{{OID: oid, Size: int64(len(data))}}, nil)
	if acts[0].Present || acts[0].Upload == nil {
		t.Fatalf("other repo sees the object as present: %+v", acts[0])
	}
}

func TestMultipartUpload(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MultipartThreshold = 1 << 20; c.MultipartChunk = 5 << 20 })
	ctx := t.Context()
	f.create(t, modelRef, false)
	data := bytes.Repeat([]byte("0123456789abcdef"), (11<<20)/16)
	oid := sha(data)
	acts, err := f.s.LFSBatch(ctx, f.alice, modelRef, "upload", []LFSObject{{OID: oid, Size: int64(len(data))}}, []string{"basic", "multipart"})
	if err != nil || acts[0].Upload == nil || acts[0].Upload.Parts != 3 {
		t.Fatalf("batch: %+v %v", acts, err)
	}
	up := acts[0].Upload
	var parts []Part
	for n := 1; n <= up.Parts; n++ {
		chunk := data[(n-1)*(5<<20) : min(n*(5<<20), len(data))]
		etag, err := f.s.UploadLFSPart(ctx, up.PartToken, n, int64(len(chunk)), bytes.NewReader(chunk))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, Part{Number: n, ETag: etag})
	}
	// The part token cannot complete, nor the completion token upload parts.
	wantKind(t, f.s.CompleteLFS(ctx, up.PartToken, oid, parts), ErrForbidden)
	if err := f.s.CompleteLFS(ctx, up.Token, oid, parts); err != nil {
		t.Fatal(err)
	}
	if size, err := f.m.LFSObject(ctx, mustRepo(t, f, modelRef).ID, oid); err != nil || size != int64(len(data)) {
		t.Fatalf("not linked: %d %v", size, err)
	}
}

func mustRepo(t *testing.T, f *fixture, ref RepoRef) *Repo {
	r, err := f.s.GetRepo(t.Context(), f.alice, ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBranchesTagsAndRevisions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	first, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{put("v.txt", "1")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateBranch(ctx, f.alice, modelRef, "feature/x", BranchOptions{}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.s.CreateBranch(ctx, f.alice, modelRef, "feature/x", BranchOptions{}), ErrConflict)
	wantKind(t, f.s.CreateBranch(ctx, f.alice, modelRef, "feature", BranchOptions{}), ErrConflict)
	for _, bad := range []string{"a..b", "a b", "-x", "x.lock", "refs/heads/x", "HEAD", strings.Repeat("a", 40), "x~1", "a:b"} {
		wantKind(t, f.s.CreateBranch(ctx, f.alice, modelRef, bad, BranchOptions{}), ErrInvalid)
	}
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "feature/x", Ops: []CommitOp{put("v.txt", "2")}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateTag(ctx, f.alice, modelRef, first.Commit.String(), "v1.0", "release one"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateTag(ctx, f.alice, modelRef, "feature/x", "light", ""); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.s.CreateTag(ctx, f.alice, modelRef, "main", "v1.0", ""), ErrConflict)
	for rev, want := range map[string]string{"main": "1", "feature/x": "2", "v1.0": "1", "light": "2", "refs/heads/feature/x": "2",
		first.Commit.String(): "1", strings.ToUpper(first.Commit.String()): "1", "HEAD": "1"} {
		if got := f.files(t, modelRef, rev)["v.txt"]; got != want {
			t.Errorf("rev %s: v.txt = %q, want %q", rev, got, want)
		}
	}
	_, _, err = f.s.ResolveRevision(ctx, nil, modelRef, "nope")
	wantKind(t, err, ErrRevisionNotFound)
	_, _, err = f.s.ResolveRevision(ctx, nil, modelRef, strings.Repeat("0", 40))
	wantKind(t, err, ErrRevisionNotFound)
	_, err = f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "v1.0", Ops: []CommitOp{put("a", "b")}})
	wantKind(t, err, ErrInvalid)
	refs, err := f.s.ListRefs(ctx, nil, modelRef)
	if err != nil || len(refs.Branches) != 2 || len(refs.Tags) != 2 || refs.Tags[1].TargetCommit != first.Commit {
		t.Fatalf("refs %+v %v", refs, err)
	}
	wantKind(t, f.s.DeleteBranch(ctx, f.alice, modelRef, "main"), ErrForbidden)
	if err := f.s.DeleteBranch(ctx, f.alice, modelRef, "feature/x"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.s.DeleteBranch(ctx, f.alice, modelRef, "feature/x"), ErrRevisionNotFound)
	if err := f.s.DeleteTag(ctx, f.alice, modelRef, "v1.0"); err != nil {
		t.Fatal(err)
	}
	// A pull request commit lands on refs/pr/1 and leaves main alone.
	pr, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", CreatePR: true, Ops: []CommitOp{put("v.txt", "pr")}})
	if err != nil || pr.PRNumber != 1 {
		t.Fatalf("PR: %+v %v", pr, err)
	}
	if f.files(t, modelRef, "refs/pr/1")["v.txt"] != "pr" || f.files(t, modelRef, "main")["v.txt"] != "1" {
		t.Fatal("PR commit misplaced")
	}
}

func TestMoveAndDelete(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	to := RepoRef{TypeModel, "alice", "renamed"}
	wantKind(t, f.s.MoveRepo(ctx, f.bob, modelRef, to), ErrForbidden)
	wantKind(t, f.s.MoveRepo(ctx, f.alice, modelRef, RepoRef{TypeModel, "bob", "x"}), ErrForbidden)
	if err := f.s.MoveRepo(ctx, f.alice, modelRef, to); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.GetRepo(ctx, nil, modelRef)
	var moved *MovedError
	if !errors.As(err, &moved) || moved.Name != "renamed" {
		t.Fatalf("old name: %v", err)
	}
	wantKind(t, f.s.DeleteRepo(ctx, f.bob, to), ErrForbidden)
	if err := f.s.DeleteRepo(ctx, f.alice, to); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GetRepo(ctx, f.alice, to)
	wantKind(t, err, ErrRepoNotFound)
	_, err = f.s.GetRepo(ctx, f.alice, modelRef)
	wantKind(t, err, ErrRepoNotFound)
}

func TestPreupload(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{put("same.txt", "x"), put(".gitignore", "*.log\n")}}); err != nil {
		t.Fatal(err)
	}
	files := []PreuploadFile{
		{Path: "model.safetensors", Sample: []byte("{}"), Size: 10},
		{Path: "big.txt", Sample: []byte("hello"), Size: 2 << 10},
		{Path: "bin.dat", Sample: []byte{1, 0, 2}, Size: 3},
		{Path: "empty.bin", Size: 0},
		{Path: "notes.txt", Sample: []byte("hi"), Size: 2},
		{Path: "same.txt", Sample: []byte("x"), Size: 1},
		{Path: "run.log", Sample: []byte("x"), Size: 1},
	}
	res, head, err := f.s.Preupload(ctx, f.alice, modelRef, "main", files, nil, nil)
	if err != nil || head.IsZero() {
		t.Fatal(err)
	}
	want := map[string]bool{"model.safetensors": true, "big.txt": true, "bin.dat": true, "empty.bin": false, "notes.txt": false, "same.txt": false, "run.log": false}
	for _, r := range res {
		if r.LFS != want[r.Path] {
			t.Errorf("%s: lfs = %v", r.Path, r.LFS)
		}
	}
	if res[5].OID != "c1b0730e0133447badcfd47fd144e254807b06e1" {
		t.Errorf("same.txt oid %q", res[5].OID)
	}
	if !res[6].ShouldIgnore || res[4].ShouldIgnore {
		t.Errorf("gitignore not applied: %+v", res)
	}
	// A .gitattributes sent with the commit replaces the repository's.
	attrs := "*.txt filter=lfs diff=lfs merge=lfs -text\n"
	res, _, err = f.s.Preupload(ctx, f.alice, modelRef, "main", files[4:5], &attrs, nil)
	if err != nil || !res[0].LFS {
		t.Fatalf("request gitattributes ignored: %+v %v", res, err)
	}
}

func TestGatedRepos(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	for _, tc := range []struct {
		gate string
		who  *auth.Identity
		kind error
	}{
		{"auto", nil, ErrGatedSignIn},
		// Auto still needs the request (accepted at once, see
		// TestAccessRequests).
		{"auto", f.bob, ErrGated},
		{"manual", f.bob, ErrGated},
		{"manual", f.alice, nil},
		{"manual", f.admin, nil},
		{"", nil, nil},
	} {
		g := tc.gate
		if _, err := f.s.UpdateSettings(ctx, f.alice, modelRef, RepoSettings{Gated: &g}); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := f.s.FileAt(ctx, tc.who, modelRef, "main", ".gitattributes")
		if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
			t.Errorf("gated %q: err = %v, want %v", tc.gate, err, tc.kind)
		}
		// Info stays visible: the repository exists for everyone.
		if _, err := f.s.GetRepo(ctx, tc.who, modelRef); err != nil {
			t.Errorf("gated %q: info hidden: %v", tc.gate, err)
		}
	}
}
