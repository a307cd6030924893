package gitobj

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/testenv"
)

// gitCmd runs the git binary in dir with a fixed, isolated environment.
func gitCmd(t *testing.T, dir string, stdin []byte, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "git", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append([]string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestIDsMatchGitBinary(t *testing.T) {
	testenv.MustHaveExecPath(t, "git")
	dir := t.TempDir()
	gitCmd(t, dir, nil, nil, "init", "-q", "--bare", "repo.git")
	repo := filepath.Join(dir, "repo.git")

	blobs := map[string][]byte{
		"empty":  {},
		"text":   []byte("hello world\n"),
		"binary": {0, 1, 2, 0xff, 0xfe, '\n', 0},
		"lfs":    Pointer{OID: strings.Repeat("ab", 32), Size: 123456789}.Encode(),
	}
	ids := map[string]ID{}
	for name, data := range blobs {
		t.Run("blob/"+name, func(t *testing.T) {
			want := gitCmd(t, repo, data, nil, "hash-object", "-w", "--stdin")
			got := Hash(KindBlob, data)
			if got.String() != want {
				t.Fatalf("blob %s: got %s, git says %s", name, got, want)
			}
			ids[name] = got
		})
	}

	// A sub-tree whose name sorts differently with and without the
	// trailing '/' ("a.b" < "a/" but "a" < "a.b"), plus every mode.
	sub := []TreeEntry{{Mode: ModeFile, Name: "x", ID: ids["text"]}}
	subData, err := EncodeTree(sub)
	if err != nil {
		t.Fatal(err)
	}
	subID := Hash(KindTree, subData)
	gitSub := gitCmd(t, repo, []byte(fmt.Sprintf("100644 blob %s\tx\n", ids["text"])), nil, "mktree")
	if subID.String() != gitSub {
		t.Fatalf("sub-tree: got %s, git says %s", subID, gitSub)
	}
	root := []TreeEntry{
		{Mode: ModeFile, Name: "a.b", ID: ids["empty"]},
		{Mode: ModeTree, Name: "a", ID: subID},
		{Mode: ModeExec, Name: "run.sh", ID: ids["binary"]},
		{Mode: ModeSymlink, Name: "link", ID: ids["text"]},
		{Mode: ModeFile, Name: "model.safetensors", ID: ids["lfs"]},
		{Mode: ModeFile, Name: "ü-名前.txt", ID: ids["text"]},
	}
	var mk strings.Builder
	for _, e := range root {
		kind := "blob"
		if e.Mode.IsTree() {
			kind = "tree"
		}
		fmt.Fprintf(&mk, "%06o %s %s\t%s\n", uint32(e.Mode), kind, e.ID, e.Name)
	}
	rootData, err := EncodeTree(root)
	if err != nil {
		t.Fatal(err)
	}
	rootID := Hash(KindTree, rootData)
	if want := gitCmd(t, repo, []byte(mk.String()), nil, "mktree"); rootID.String() != want {
		t.Fatalf("root tree: got %s, git says %s", rootID, want)
	}
	dec, err := DecodeTree(rootData)
	if err != nil || len(dec) != len(root) {
		t.Fatalf("DecodeTree: %v, %d entries", err, len(dec))
	}

	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", -(7*3600+30*60)))
	parentCommit := &Commit{
		Tree:      rootID,
		Author:    Signature{Name: "Ada Lovelace", Email: "ada@example.org", When: when},
		Committer: Signature{Name: "Ada Lovelace", Email: "ada@example.org", When: when},
		Message:   "initial commit\n",
	}
	env := []string{
		"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.org", "GIT_AUTHOR_DATE=1772627767 -0730",
		"GIT_COMMITTER_NAME=Ada Lovelace", "GIT_COMMITTER_EMAIL=ada@example.org", "GIT_COMMITTER_DATE=1772627767 -0730",
	}
	if when.Unix() != 1772627767 {
		t.Fatalf("fixture time drifted: %d", when.Unix())
	}
	p1 := Hash(KindCommit, parentCommit.Encode())
	if want := gitCmd(t, repo, []byte("initial commit\n"), env, "commit-tree", rootID.String()); p1.String() != want {
		t.Fatalf("commit: got %s, git says %s", p1, want)
	}
	child := &Commit{
		Tree: subID, Parents: []ID{p1},
		Author: parentCommit.Author, Committer: parentCommit.Committer,
		Message: "second\n\nwith a body\n",
	}
	c2 := Hash(KindCommit, child.Encode())
	if want := gitCmd(t, repo, []byte("second\n\nwith a body\n"), env, "commit-tree", subID.String(), "-p", p1.String()); c2.String() != want {
		t.Fatalf("child commit: got %s, git says %s", c2, want)
	}
	back, err := DecodeCommit(child.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if back.Tree != subID || len(back.Parents) != 1 || back.Parents[0] != p1 || !back.Author.When.Equal(when) || back.Message != child.Message {
		t.Fatalf("DecodeCommit round trip: %+v", back)
	}
	if _, off := back.Author.When.Zone(); off != -(7*3600 + 30*60) {
		t.Fatalf("time zone lost: %d", off)
	}
	tag := &Tag{Object: c2, Type: KindCommit, Name: "v1.0", Tagger: parentCommit.Author, Message: "release\n"}
	if _, err := DecodeTag(tag.Encode()); err != nil {
		t.Fatal(err)
	}
	tagID := Hash(KindTag, tag.Encode())
	if want := gitCmd(t, repo, tag.Encode(), nil, "hash-object", "-t", "tag", "--stdin"); tagID.String() != want {
		t.Fatalf("tag: got %s, git says %s", tagID, want)
	}
	if EmptyTreeID.String() != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Fatalf("empty tree id %s", EmptyTreeID)
	}
}

func TestValidatePath(t *testing.T) {
	good := []string{"a", "a/b/c.txt", "weird name (1).bin", "ü/名前", ".gitattributes", ".github/x", "a..b", "...", ".gitx"}
	for _, p := range good {
		if err := ValidatePath(p); err != nil {
			t.Errorf("ValidatePath(%q) = %v, want nil", p, err)
		}
	}
	bad := []string{"", "/abs", "a//b", "a/", "./a", "a/../b", "..", ".git/config", "x/.GIT/y", ".git", "a\\b",
		"a\x00b", "a\nb", "tab\there", "del\x7f", string([]byte{0xff, 0xfe}), strings.Repeat("a", 256), ".git.", ".git "}
	for _, p := range bad {
		if err := ValidatePath(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidatePath(%q) = %v, want ErrInvalid", p, err)
		}
	}
}

func TestPointer(t *testing.T) {
	p := Pointer{OID: strings.Repeat("0f", 32), Size: 42}
	got, ok := ParsePointer(p.Encode())
	if !ok || got != p {
		t.Fatalf("round trip: %v %v", got, ok)
	}
	for _, bad := range []string{
		"version https://git-lfs.github.com/spec/v1\noid sha256:xyz\nsize 1\n",
		"version https://git-lfs.github.com/spec/v1\nsize 1\n",
		"hello",
		"version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.Repeat("0f", 32) + "\nsize -1\n",
	} {
		if _, ok := ParsePointer([]byte(bad)); ok {
			t.Errorf("ParsePointer(%q) ok", bad)
		}
	}
}

type memTrees map[ID][]TreeEntry

func (m memTrees) read(_ context.Context, id ID) ([]TreeEntry, error) {
	e, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("no tree %s", id)
	}
	return append([]TreeEntry(nil), e...), nil
}

func (m memTrees) store(objs []Object) {
	for _, o := range objs {
		ents, err := DecodeTree(o.Data)
		if err != nil {
			panic(err)
		}
		m[o.ID()] = ents
	}
}

// flatten lists every blob path under root.
func (m memTrees) flatten(t *testing.T, root ID, prefix string) map[string]ID {
	out := map[string]ID{}
	if root == EmptyTreeID {
		return out
	}
	for _, e := range m[root] {
		if e.Mode.IsTree() {
			for k, v := range m.flatten(t, e.ID, prefix+e.Name+"/") {
				out[k] = v
			}
		} else {
			out[prefix+e.Name] = e.ID
		}
	}
	return out
}

func TestEditor(t *testing.T) {
	ctx := t.Context()
	trees := memTrees{}
	b := func(s string) ID { return Hash(KindBlob, []byte(s)) }

	ed := NewEditor(trees.read, ZeroID)
	for _, p := range []string{"a.txt", "dir/b.txt", "dir/sub/c.txt", "other/d.txt"} {
		if err := ed.Put(ctx, p, ModeFile, b(p)); err != nil {
			t.Fatal(err)
		}
	}
	root1, objs, err := ed.Write()
	if err != nil {
		t.Fatal(err)
	}
	trees.store(objs)
	if got := trees.flatten(t, root1, ""); len(got) != 4 || got["dir/sub/c.txt"] != b("dir/sub/c.txt") {
		t.Fatalf("after puts: %v", got)
	}

	cases := []struct {
		name    string
		edit    func(*Editor) error
		want    []string
		wantErr error
	}{
		{"delete file", func(e *Editor) error { return e.Delete(ctx, "dir/b.txt") }, []string{"a.txt", "dir/sub/c.txt", "other/d.txt"}, nil},
		{"delete folder", func(e *Editor) error { return e.DeleteDir(ctx, "dir") }, []string{"a.txt", "other/d.txt"}, nil},
		{"delete last file removes folder", func(e *Editor) error { return e.Delete(ctx, "other/d.txt") }, []string{"a.txt", "dir/b.txt", "dir/sub/c.txt"}, nil},
		{"delete missing", func(e *Editor) error { return e.Delete(ctx, "nope.txt") }, nil, ErrPathNotFound},
		{"delete folder as file", func(e *Editor) error { return e.Delete(ctx, "dir") }, nil, ErrPathNotFound},
		{"delete file as folder", func(e *Editor) error { return e.DeleteDir(ctx, "a.txt") }, nil, ErrPathNotFound},
		{"delete under a file", func(e *Editor) error { return e.Delete(ctx, "a.txt/x") }, nil, ErrPathNotFound},
		{"file over folder", func(e *Editor) error { return e.Put(ctx, "dir", ModeFile, b("x")) }, nil, ErrPathConflict},
		{"folder over file", func(e *Editor) error { return e.Put(ctx, "a.txt/x", ModeFile, b("x")) }, nil, ErrPathConflict},
		{"everything", func(e *Editor) error {
			for _, p := range []string{"a.txt", "dir/b.txt", "dir/sub/c.txt", "other/d.txt"} {
				if err := e.Delete(ctx, p); err != nil {
					return err
				}
			}
			return nil
		}, []string{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ed := NewEditor(trees.read, root1)
			err := tc.edit(ed)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			root, objs, err := ed.Write()
			if err != nil {
				t.Fatal(err)
			}
			local := memTrees{}
			for k, v := range trees {
				local[k] = v
			}
			local.store(objs)
			got := local.flatten(t, root, "")
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for _, p := range tc.want {
				if _, ok := got[p]; !ok {
					t.Fatalf("missing %s in %v", p, got)
				}
			}
		})
	}
	// An edit that changes nothing keeps the root id.
	ed = NewEditor(trees.read, root1)
	if err := ed.Put(ctx, "dir/b.txt", ModeFile, b("dir/b.txt")); err != nil {
		t.Fatal(err)
	}
	if root, _, _ := ed.Write(); root != root1 {
		t.Fatalf("no-op edit changed root: %s != %s", root, root1)
	}
}

// TestDecodeCommitExtraHeaders: as git reads a commit, the tree, the
// parents after it and the first author and committer count; headers
// past them (a second, even malformed, committer; a late parent) are
// extra headers and change nothing (the fsck fuzzer found an accepted
// commit the decoder refused).
func TestDecodeCommitExtraHeaders(t *testing.T) {
	tree := strings.Repeat("1", 40)
	parent := strings.Repeat("2", 40)
	tests := []struct {
		name, data string
		parents    int
	}{
		{"second committer, malformed", "tree " + tree + "\nauthor a <a@x> 1 +0000\ncommitter c <c@x> 2 +0000\ncommitter \n\nmsg", 0},
		{"second author and tree", "tree " + tree + "\nparent " + parent + "\nauthor a <a@x> 1 +0000\ncommitter c <c@x> 2 +0000\nauthor bad\ntree zz\n\nmsg", 1},
		{"parent after the committer", "tree " + tree + "\nauthor a <a@x> 1 +0000\ncommitter c <c@x> 2 +0000\nparent xyz\n\nmsg", 0},
	}
	for _, tc := range tests {
		c, err := DecodeCommit([]byte(tc.data))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Tree.String() != tree || len(c.Parents) != tc.parents || c.Author.Name != "a" || c.Committer.Name != "c" || c.Message != "msg" {
			t.Fatalf("%s: %+v", tc.name, c)
		}
	}
	if _, err := DecodeCommit([]byte("tree " + tree + "\nauthor bad\ncommitter c <c@x> 2 +0000\n\nmsg")); err == nil {
		t.Error("a malformed first author was accepted")
	}
}
