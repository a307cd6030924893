package hub

import (
	"slices"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/gitobj"
)

// rawTree builds a tree from entries as given: unsorted, duplicated or
// with any mode text, as a hostile client can send.
func (b *gitBuilder) rawTree(ents ...[3]string) gitobj.ID {
	var data []byte
	for _, e := range ents {
		id, err := gitobj.ParseID(e[2])
		if err != nil {
			panic(err)
		}
		data = append(data, e[0]+" "+e[1]+"\x00"...)
		data = append(data, id[:]...)
	}
	return b.add(gitobj.Object{Kind: gitobj.KindTree, Data: data})
}

// TestPushGitRules checks that a push is refused when any object of its
// pack breaks git's fsck rules, and nothing changes.
func TestPushGitRules(t *testing.T) {
	const main = "refs/heads/main"
	const hostileModules = "[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n"
	cases := []struct {
		name string
		// build returns the new commit for main, parented on head.
		build func(b *gitBuilder, head gitobj.ID) gitobj.ID
		want  string // prefix of the reason; "" for success
	}{
		{"benign .gitmodules", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.commit(b.tree(file(".gitmodules", b.blob("[submodule \"x\"]\n\tpath = x\n\turl = https://example.com/x.git\n"))), head)
		}, ""},
		{"NTFS alias of .git", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.commit(b.tree(dir("git~1", b.tree(file("config", b.blob("x"))))), head)
		}, "invalid path"},
		{"HFS alias of .git", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.commit(b.tree(dir(".g\u200cit", b.tree(file("config", b.blob("x"))))), head)
		}, "invalid path"},
		{"unsorted tree", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			a := b.blob("a").String()
			return b.commit(b.rawTree([3]string{"100644", "b", a}, [3]string{"100644", "a", a}), head)
		}, "git fsck refuses tree"},
		{"duplicate entries", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			a := b.blob("a").String()
			return b.commit(b.rawTree([3]string{"100644", "a", a}, [3]string{"100644", "a", a}), head)
		}, "git fsck refuses tree"},
		{"zero-padded mode", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.commit(b.rawTree([3]string{"0100644", "a", b.blob("a").String()}), head)
		}, "git fsck refuses tree"},
		{"hostile .gitmodules", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.commit(b.tree(file(".gitmodules", b.blob(hostileModules))), head)
		}, `git fsck refuses .gitmodules ".gitmodules" of tree`},
		{"hostile .gitmodules under a short name", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.commit(b.tree(dir("sub", b.tree(file("GITMOD~1", b.blob(hostileModules))))), head)
		}, `git fsck refuses .gitmodules "GITMOD~1"`},
		{"NUL in commit message", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			sig := "t <t@x> 1700000000 +0000"
			return b.add(gitobj.Object{Kind: gitobj.KindCommit, Data: []byte("tree " + gitobj.EmptyTreeID.String() + "\nparent " + head.String() +
				"\nauthor " + sig + "\ncommitter " + sig + "\n\nhello\x00world\n")})
		}, "git fsck refuses commit"},
		{"bad author", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			return b.add(gitobj.Object{Kind: gitobj.KindCommit, Data: []byte("tree " + gitobj.EmptyTreeID.String() + "\nparent " + head.String() +
				"\nauthor t <t@x> 01700000000 +0000\ncommitter t <t@x> 1 +0000\n\nm\n")})
		}, "git fsck refuses commit"},
		{"hostile object the refs do not reach", func(b *gitBuilder, head gitobj.ID) gitobj.ID {
			b.tree(file(".gitmodules", b.blob(hostileModules)))
			return b.commit(b.tree(file("ok.txt", b.blob("ok"))), head)
		}, "git fsck refuses"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.create(t, modelRef, false)
			g, err := f.s.OpenGitRepo(t.Context(), f.alice, modelRef, true)
			if err != nil {
				t.Fatal(err)
			}
			b := newGitBuilder()
			b.add(gitobj.Object{Kind: gitobj.KindTree}) // for the hand-written commits
			old := head(t, f, modelRef, main)
			c := tc.build(b, old)
			before, _ := f.m.ListRefs(t.Context(), g.r.ID)
			reasons, err := g.Push(t.Context(), []RefUpdate{{main, old, c}}, b.pack())
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if reasons[0] != "" {
					t.Fatalf("refused: %q", reasons[0])
				}
				return
			}
			t.Logf("reason: %s", reasons[0])
			if !strings.HasPrefix(reasons[0], tc.want) {
				t.Errorf("reason %q, want prefix %q", reasons[0], tc.want)
			}
			after, _ := f.m.ListRefs(t.Context(), g.r.ID)
			if !slices.Equal(before, after) {
				t.Errorf("a refused push changed refs: %v → %v", before, after)
			}
		})
	}
}

// TestCommitGitRules checks that the commit API refuses, as invalid
// requests, paths, file contents and messages that git's fsck refuses.
func TestCommitGitRules(t *testing.T) {
	const hostileModules = "[submodule \"x\"]\n\turl = --upload-pack=touch /tmp/pwned\n"
	cases := []struct {
		name string
		req  CommitRequest
		ok   bool
	}{
		{"benign .gitmodules", CommitRequest{Ops: []CommitOp{put(".gitmodules", "[submodule \"x\"]\n\tpath = x\n\turl = ../x.git\n")}}, true},
		{"benign .gitattributes", CommitRequest{Ops: []CommitOp{put("data/.gitattributes", "*.bin -text\n")}}, true},
		{".git", CommitRequest{Ops: []CommitOp{put(".git/config", "x")}}, false},
		{"NTFS short name", CommitRequest{Ops: []CommitOp{put("git~1/config", "x")}}, false},
		{"NTFS stream", CommitRequest{Ops: []CommitOp{put(".git::$INDEX_ALLOCATION/config", "x")}}, false},
		{"trailing dot and space", CommitRequest{Ops: []CommitOp{put("a/.git. /hooks/post-checkout", "x")}}, false},
		{"HFS ignorable", CommitRequest{Ops: []CommitOp{put(".gi\ufefft/hooks/post-checkout", "x")}}, false},
		{".gitmodules folder", CommitRequest{Ops: []CommitOp{put(".gitmodules/x", "x")}}, false},
		{"hostile .gitmodules", CommitRequest{Ops: []CommitOp{put(".gitmodules", hostileModules)}}, false},
		{"hostile .gitmodules short name", CommitRequest{Ops: []CommitOp{put("GITMOD~1", hostileModules)}}, false},
		{"long .gitattributes line", CommitRequest{Ops: []CommitOp{put(".gitattributes", strings.Repeat("a", 4096))}}, false},
		{"NUL in summary", CommitRequest{Summary: "a\x00b", Ops: []CommitOp{put("a.txt", "x")}}, false},
		{"NUL in description", CommitRequest{Description: "a\x00b", Ops: []CommitOp{put("a.txt", "x")}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.create(t, modelRef, false)
			tc.req.Revision = "main"
			_, err := f.s.Commit(t.Context(), f.alice, modelRef, tc.req)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Logf("error: %v", err)
			wantKind(t, err, ErrInvalid)
		})
	}
	t.Run("super-squash message", func(t *testing.T) {
		f := newFixture(t)
		f.create(t, modelRef, false)
		_, err := f.s.SuperSquash(t.Context(), f.alice, modelRef, "main", "a\x00b")
		wantKind(t, err, ErrInvalid)
	})
}
