package hub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
)

// gitBuilder makes git objects for push tests.
type gitBuilder struct {
	objs map[gitobj.ID]gitobj.Object
	n    int
}

func newGitBuilder() *gitBuilder { return &gitBuilder{objs: map[gitobj.ID]gitobj.Object{}} }

func (b *gitBuilder) add(o gitobj.Object) gitobj.ID {
	b.objs[o.ID()] = o
	return o.ID()
}

func (b *gitBuilder) blob(content string) gitobj.ID {
	return b.add(gitobj.Object{Kind: gitobj.KindBlob, Data: []byte(content)})
}

// tree builds a tree from raw entries (names are not checked, so that
// hostile trees can be made).
func (b *gitBuilder) tree(ents ...gitobj.TreeEntry) gitobj.ID {
	gitobj.SortTree(ents)
	var buf bytes.Buffer
	for _, e := range ents {
		buf.WriteString(e.Mode.String() + " " + e.Name + "\x00")
		buf.Write(e.ID[:])
	}
	return b.add(gitobj.Object{Kind: gitobj.KindTree, Data: buf.Bytes()})
}

func file(name string, id gitobj.ID) gitobj.TreeEntry {
	return gitobj.TreeEntry{Mode: gitobj.ModeFile, Name: name, ID: id}
}

func dir(name string, id gitobj.ID) gitobj.TreeEntry {
	return gitobj.TreeEntry{Mode: gitobj.ModeTree, Name: name, ID: id}
}

func (b *gitBuilder) commit(tree gitobj.ID, parents ...gitobj.ID) gitobj.ID {
	b.n++
	sig := gitobj.Signature{Name: "t", Email: "t@x", When: time.Unix(1_700_000_000+int64(b.n)*60, 0).UTC()}
	c := &gitobj.Commit{Tree: tree, Parents: parents, Author: sig, Committer: sig, Message: "c\n"}
	return b.add(gitobj.Object{Kind: gitobj.KindCommit, Data: c.Encode()})
}

func (b *gitBuilder) pack() *PushPack {
	return &PushPack{Objects: b.objs, Oversized: map[gitobj.ID]OversizedObject{}}
}

func head(t *testing.T, f *fixture, ref RepoRef, name string) gitobj.ID {
	t.Helper()
	r, err := f.s.GetRepo(t.Context(), f.alice, ref)
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.m.GetRef(t.Context(), r.ID, name)
	if err != nil {
		return gitobj.ZeroID
	}
	return id
}

func TestPushRules(t *testing.T) {
	const main = "refs/heads/main"
	type setup struct {
		f    *fixture
		g    *GitRepo
		b    *gitBuilder
		main gitobj.ID // head of main
		root gitobj.ID // its tree
		over map[gitobj.ID]OversizedObject
	}
	lfsContent := []byte(strings.Repeat("weights", 500))
	sum := sha256.Sum256(lfsContent)
	lfsOID := hex.EncodeToString(sum[:])
	cases := []struct {
		name string
		// build returns the commands; the pack is s.b's objects.
		build func(t *testing.T, s *setup) []RefUpdate
		// want is the reason of each command, "" for success; a prefix
		// match.
		want      []string
		forcePush bool
	}{
		{name: "fast-forward", want: []string{""}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(file("a.txt", s.b.blob("a"))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "dot-git path", want: []string{"invalid path"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(dir(".git", s.b.tree(file("config", s.b.blob("x"))))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "dot-git case-insensitive", want: []string{"invalid path"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(dir("sub", s.b.tree(dir(".GIT", s.b.tree(file("hooks", s.b.blob("x"))))))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "dot-dot name", want: []string{"invalid tree"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(file("..", s.b.blob("x"))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "control character", want: []string{"invalid path"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(file("a\x01b", s.b.blob("x"))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "submodule", want: []string{"submodules are not supported"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(gitobj.TreeEntry{Mode: gitobj.ModeGitlink, Name: "sub", ID: s.main}), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "large regular file", want: []string{`data/big.bin is 2.0 KiB, larger than 1.0 KiB`}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(dir("data", s.b.tree(file("big.bin", s.b.blob(strings.Repeat("x", 2048)))))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "oversized object", want: []string{`huge.bin is 64.0 MiB`}, build: func(t *testing.T, s *setup) []RefUpdate {
			id := gitobj.Hash(gitobj.KindBlob, []byte("pretend"))
			c := s.b.commit(s.b.tree(file("huge.bin", id)), s.main)
			s.over[id] = OversizedObject{Kind: gitobj.KindBlob, Size: 64 << 20}
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "lfs pointer not uploaded", want: []string{"LFS object " + lfsOID + " for w.safetensors was not uploaded"}, build: func(t *testing.T, s *setup) []RefUpdate {
			p := gitobj.Pointer{OID: lfsOID, Size: int64(len(lfsContent))}.Encode()
			c := s.b.commit(s.b.tree(file("w.safetensors", s.b.blob(string(p)))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "lfs pointer uploaded", want: []string{""}, build: func(t *testing.T, s *setup) []RefUpdate {
			w, err := s.f.s.blobs.Create(t.Context(), lfsOID, int64(len(lfsContent)))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(lfsContent)
			if _, err := w.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.f.m.AddLFSObject(t.Context(), s.g.r.ID, lfsOID, int64(len(lfsContent))); err != nil {
				t.Fatal(err)
			}
			p := gitobj.Pointer{OID: lfsOID, Size: int64(len(lfsContent))}.Encode()
			c := s.b.commit(s.b.tree(file("w.safetensors", s.b.blob(string(p)))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "lfs pointer wrong size", want: []string{"LFS pointer w.bin says 5 bytes"}, build: func(t *testing.T, s *setup) []RefUpdate {
			if err := s.f.m.AddLFSObject(t.Context(), s.g.r.ID, lfsOID, int64(len(lfsContent))); err != nil {
				t.Fatal(err)
			}
			p := gitobj.Pointer{OID: lfsOID, Size: 5}.Encode()
			c := s.b.commit(s.b.tree(file("w.bin", s.b.blob(string(p)))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "missing object", want: []string{"missing object"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.tree(file("a.txt", gitobj.Hash(gitobj.KindBlob, []byte("not sent")))), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "missing parent", want: []string{"missing object"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.root, gitobj.Hash(gitobj.KindCommit, []byte("nope")))
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "wrong kind", want: []string{"object"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.b.blob("i am not a tree"), s.main)
			return []RefUpdate{{main, s.main, c}}
		}},
		{name: "branch to a tree", want: []string{"object"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{"refs/heads/x", gitobj.ZeroID, s.b.tree(file("a", s.b.blob("a")))}}
		}},
		{name: "pr namespace", want: []string{"refusing to update refs outside"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{"refs/pr/1", gitobj.ZeroID, s.main}}
		}},
		{name: "convert namespace", want: []string{"refusing to update refs outside"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{"refs/convert/parquet", gitobj.ZeroID, s.main}}
		}},
		{name: "bad ref name", want: []string{"invalid ref name"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{"refs/heads/a..b", gitobj.ZeroID, s.main}}
		}},
		{name: "delete default branch", want: []string{"refusing to delete the default branch main"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{main, s.main, gitobj.ZeroID}}
		}},
		{name: "stale old value", want: []string{"fetch first"}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.root, s.main)
			return []RefUpdate{{main, c, s.b.commit(s.root, c)}}
		}},
		{name: "create existing", want: []string{"fetch first"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{main, gitobj.ZeroID, s.b.commit(s.root, s.main)}}
		}},
		{name: "non-fast-forward", want: []string{"non-fast-forward"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{main, s.main, s.b.commit(s.root)}}
		}},
		{name: "force push allowed", forcePush: true, want: []string{""}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{main, s.main, s.b.commit(s.root)}}
		}},
		{name: "branch and annotated tag", want: []string{"", ""}, build: func(t *testing.T, s *setup) []RefUpdate {
			c := s.b.commit(s.root, s.main)
			tag := s.b.add(gitobj.Object{Kind: gitobj.KindTag, Data: (&gitobj.Tag{Object: c, Type: gitobj.KindCommit, Name: "v1",
				Tagger: gitobj.Signature{Name: "t", Email: "t@x", When: time.Unix(0, 0).UTC()}, Message: "v1\n"}).Encode()})
			return []RefUpdate{{"refs/heads/dev", gitobj.ZeroID, c}, {"refs/tags/v1", gitobj.ZeroID, tag}}
		}},
		{name: "tag to a blob", want: []string{"tags must point at commits"}, build: func(t *testing.T, s *setup) []RefUpdate {
			tag := s.b.add(gitobj.Object{Kind: gitobj.KindTag, Data: (&gitobj.Tag{Object: s.b.blob("b"), Type: gitobj.KindBlob, Name: "v1",
				Tagger: gitobj.Signature{Name: "t", Email: "t@x", When: time.Unix(0, 0).UTC()}, Message: "v1\n"}).Encode()})
			return []RefUpdate{{"refs/tags/v1", gitobj.ZeroID, tag}}
		}},
		{name: "atomic", want: []string{reasonAtomic, "invalid path"}, build: func(t *testing.T, s *setup) []RefUpdate {
			good := s.b.commit(s.root, s.main)
			bad := s.b.commit(s.b.tree(dir(".git", s.b.tree(file("x", s.b.blob("x"))))), s.main)
			return []RefUpdate{{"refs/heads/good", gitobj.ZeroID, good}, {"refs/heads/bad", gitobj.ZeroID, bad}}
		}},
		{name: "ref name conflict", want: []string{"ref conflicts with existing refs/heads/main"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{"refs/heads/main/sub", gitobj.ZeroID, s.main}}
		}},
		{name: "same ref twice", want: []string{reasonAtomic, "ref given twice"}, build: func(t *testing.T, s *setup) []RefUpdate {
			return []RefUpdate{{"refs/heads/x", gitobj.ZeroID, s.main}, {"refs/heads/x", gitobj.ZeroID, s.main}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.create(t, modelRef, false)
			if tc.forcePush {
				yes := true
				if _, err := f.s.UpdateSettings(t.Context(), f.alice, modelRef, RepoSettings{AllowForcePush: &yes}); err != nil {
					t.Fatal(err)
				}
			}
			g, err := f.s.OpenGitRepo(t.Context(), f.alice, modelRef, true)
			if err != nil {
				t.Fatal(err)
			}
			s := &setup{f: f, g: g, b: newGitBuilder(), main: head(t, f, modelRef, main), over: map[gitobj.ID]OversizedObject{}}
			c, err := g.objs.commit(t.Context(), s.main)
			if err != nil {
				t.Fatal(err)
			}
			s.root = c.Tree
			before, _ := f.m.ListRefs(t.Context(), g.r.ID)
			cmds := tc.build(t, s)
			pack := s.b.pack()
			pack.Oversized = s.over
			reasons, err := g.Push(t.Context(), cmds, pack)
			if err != nil {
				t.Fatal(err)
			}
			if len(reasons) != len(tc.want) {
				t.Fatalf("reasons = %q, want %d", reasons, len(tc.want))
			}
			ok := true
			for i, w := range tc.want {
				if (w == "" && reasons[i] != "") || (w != "" && !strings.HasPrefix(reasons[i], w)) {
					t.Errorf("command %d (%s): reason %q, want %q", i, cmds[i].Name, reasons[i], w)
				}
				ok = ok && w == ""
			}
			after, _ := f.m.ListRefs(t.Context(), g.r.ID)
			if !ok && !slices.Equal(before, after) {
				t.Errorf("a refused push changed refs: %v → %v", before, after)
			}
			if ok {
				for _, c := range cmds {
					if got := head(t, f, modelRef, c.Name); got != c.New {
						t.Errorf("%s = %s, want %s", c.Name, got, c.New)
					}
				}
			}
		})
	}
}

// TestPushUpdatesMetadata checks that a push to the default branch
// updates the derived metadata and the repository's update time, and is
// visible to the API at once.
func TestPushUpdatesMetadata(t *testing.T) {
	f := newFixture(t)
	f.create(t, modelRef, false)
	r0, _ := f.s.GetRepo(t.Context(), f.alice, modelRef)
	g, err := f.s.OpenGitRepo(t.Context(), f.alice, modelRef, true)
	if err != nil {
		t.Fatal(err)
	}
	b := newGitBuilder()
	old := head(t, f, modelRef, "refs/heads/main")
	readme := b.blob("---\nlicense: apache-2.0\npipeline_tag: text-generation\n---\n# M\n")
	c := b.commit(b.tree(file("README.md", readme)), old)
	time.Sleep(10 * time.Millisecond)
	reasons, err := g.Push(t.Context(), []RefUpdate{{"refs/heads/main", old, c}}, b.pack())
	if err != nil || reasons[0] != "" {
		t.Fatalf("push: %q, %v", reasons, err)
	}
	m, err := f.m.GetRepoMeta(t.Context(), g.r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sha != c || m.PipelineTag != "text-generation" || !slices.Contains(m.Tags, "license:apache-2.0") {
		t.Errorf("derived = sha %s pipeline %q tags %v", m.Sha, m.PipelineTag, m.Tags)
	}
	r1, _ := f.s.GetRepo(t.Context(), f.alice, modelRef)
	if !r1.UpdatedAt.After(r0.UpdatedAt) {
		t.Errorf("UpdatedAt not bumped: %v → %v", r0.UpdatedAt, r1.UpdatedAt)
	}
	files := f.files(t, modelRef, "main")
	if !strings.Contains(files["README.md"], "apache-2.0") {
		t.Errorf("files after push = %v", files)
	}
}

func TestOpenGitRepoAccess(t *testing.T) {
	f := newFixture(t)
	f.create(t, modelRef, true)
	if _, err := f.s.OpenGitRepo(t.Context(), f.alice, modelRef, true); err != nil {
		t.Errorf("owner write: %v", err)
	}
	_, err := f.s.OpenGitRepo(t.Context(), nil, modelRef, false)
	wantKind(t, err, ErrRepoNotFound)
	_, err = f.s.OpenGitRepo(t.Context(), f.bob, modelRef, false)
	wantKind(t, err, ErrRepoNotFound)
	_, err = f.s.OpenGitRepo(t.Context(), f.aliceRead, modelRef, true)
	wantKind(t, err, ErrForbidden)
	if _, err := f.s.OpenGitRepo(t.Context(), f.aliceRead, modelRef, false); err != nil {
		t.Errorf("read token read: %v", err)
	}
	// Gated repositories guard clones as they guard downloads.
	gated := RepoRef{Type: TypeModel, Namespace: "alice", Name: "gated"}
	f.create(t, gated, false)
	for _, mode := range []string{"auto", "manual"} {
		if _, err := f.s.UpdateSettings(t.Context(), f.alice, gated, RepoSettings{Gated: &mode}); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.OpenGitRepo(t.Context(), nil, gated, false)
		wantKind(t, err, ErrGatedSignIn)
		_, err = f.s.OpenGitRepo(t.Context(), f.bob, gated, false)
		wantKind(t, err, ErrGated)
		if _, err := f.s.OpenGitRepo(t.Context(), f.alice, gated, false); err != nil {
			t.Errorf("owner clone of a %s-gated repo: %v", mode, err)
		}
	}
}

// TestPlanFetch checks the objects a fetch sends: everything for a clone,
// only what is new past the haves, and the boundary of a shallow clone.
func TestPlanFetch(t *testing.T) {
	f := newFixture(t)
	f.create(t, modelRef, false)
	g, err := f.s.OpenGitRepo(t.Context(), f.alice, modelRef, true)
	if err != nil {
		t.Fatal(err)
	}
	b := newGitBuilder()
	c0 := head(t, f, modelRef, "refs/heads/main")
	shared := b.tree(file("big.txt", b.blob("unchanged")))
	t1 := b.tree(dir("d", shared), file("v.txt", b.blob("1")))
	c1 := b.commit(t1, c0)
	t2 := b.tree(dir("d", shared), file("v.txt", b.blob("2")))
	c2 := b.commit(t2, c1)
	tag := b.add(gitobj.Object{Kind: gitobj.KindTag, Data: (&gitobj.Tag{Object: c2, Type: gitobj.KindCommit, Name: "v2",
		Tagger: gitobj.Signature{Name: "t", Email: "t@x", When: time.Unix(0, 0).UTC()}, Message: "v2\n"}).Encode()})
	reasons, err := g.Push(t.Context(), []RefUpdate{{"refs/heads/main", c0, c2}, {"refs/tags/v2", gitobj.ZeroID, tag}}, b.pack())
	if err != nil || reasons[0] != "" || reasons[1] != "" {
		t.Fatalf("push: %q %v", reasons, err)
	}
	ids := func(p *FetchPlan) []gitobj.ID {
		var out []gitobj.ID
		for _, o := range p.Objects {
			out = append(out, o.ID)
		}
		return out
	}
	// Clone: every object reachable from main, once.
	p, err := g.PlanFetch(t.Context(), FetchRequest{Wants: []gitobj.ID{c2}})
	if err != nil {
		t.Fatal(err)
	}
	all := ids(p)
	for _, want := range []gitobj.ID{c0, c1, c2, t1, t2, shared} {
		if !slices.Contains(all, want) {
			t.Errorf("clone plan lacks %s", want)
		}
	}
	if slices.Contains(all, tag) {
		t.Error("clone plan has the tag without include-tag")
	}
	seen := map[gitobj.ID]bool{}
	for _, id := range all {
		if seen[id] {
			t.Errorf("object %s planned twice", id)
		}
		seen[id] = true
	}
	// Fetch from c1: c2, its root tree and the new blob only.
	p, err = g.PlanFetch(t.Context(), FetchRequest{Wants: []gitobj.ID{c2}, Haves: []gitobj.ID{c1}, IncludeTag: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(p)
	want := []gitobj.ID{c2, t2, gitobj.Hash(gitobj.KindBlob, []byte("2")), tag}
	slices.SortFunc(got, func(a, b gitobj.ID) int { return bytes.Compare(a[:], b[:]) })
	slices.SortFunc(want, func(a, b gitobj.ID) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(got, want) {
		t.Errorf("incremental plan = %v, want %v", got, want)
	}
	// Shallow clone of depth 1: c2 becomes shallow, c1 is not sent.
	p, err = g.PlanFetch(t.Context(), FetchRequest{Wants: []gitobj.ID{c2}, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Shallow, []gitobj.ID{c2}) || slices.Contains(ids(p), c1) {
		t.Errorf("depth 1: shallow %v, objects %v", p.Shallow, ids(p))
	}
	// Deepening by one from that clone: c2 is unshallowed, c1 is sent
	// with what c2's tree lacks.
	p, err = g.PlanFetch(t.Context(), FetchRequest{Wants: []gitobj.ID{c2}, Haves: []gitobj.ID{c2}, Shallow: []gitobj.ID{c2}, Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Unshallow, []gitobj.ID{c2}) || !slices.Equal(p.Shallow, []gitobj.ID{c1}) || !slices.Contains(ids(p), c1) || slices.Contains(ids(p), shared) {
		t.Errorf("deepen: shallow %v unshallow %v objects %v", p.Shallow, p.Unshallow, ids(p))
	}
	// An unknown want is refused.
	_, err = g.PlanFetch(t.Context(), FetchRequest{Wants: []gitobj.ID{gitobj.Hash(gitobj.KindCommit, []byte("x"))}})
	wantKind(t, err, ErrInvalid)
	// Refs: HEAD is main, the tag is peeled.
	headRef, refs, err := g.Refs(t.Context())
	if err != nil || headRef != "refs/heads/main" {
		t.Fatalf("Refs: head %q, %v", headRef, err)
	}
	for _, rf := range refs {
		if rf.Name == "refs/tags/v2" && (rf.ID != tag || rf.Peeled != c2) {
			t.Errorf("tag ref = %+v", rf)
		}
	}
}
