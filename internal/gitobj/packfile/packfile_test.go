package packfile

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/testenv"
)

func writePack(t testing.TB, objs ...gitobj.Object) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, uint32(len(objs)))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := w.Write(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleObjects() []gitobj.Object {
	blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("hello\n")}
	big := gitobj.Object{Kind: gitobj.KindBlob, Data: bytes.Repeat([]byte("0123456789abcdef"), 5000)}
	empty := gitobj.Object{Kind: gitobj.KindBlob}
	tree, _ := gitobj.EncodeTree([]gitobj.TreeEntry{{Mode: gitobj.ModeFile, Name: "a", ID: blob.ID()}, {Mode: gitobj.ModeFile, Name: "b", ID: big.ID()}})
	to := gitobj.Object{Kind: gitobj.KindTree, Data: tree}
	c := gitobj.Object{Kind: gitobj.KindCommit, Data: []byte("tree " + to.ID().String() + "\nauthor a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nmsg\n")}
	tag := gitobj.Object{Kind: gitobj.KindTag, Data: []byte("object " + c.ID().String() + "\ntype commit\ntag v1\ntagger a <a> 0 +0000\n\nv1\n")}
	return []gitobj.Object{c, to, blob, big, empty, tag}
}

func TestRoundTrip(t *testing.T) {
	objs := sampleObjects()
	data := writePack(t, objs...)
	p, err := Read(bytes.NewReader(data), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != len(objs) {
		t.Fatalf("got %d objects, want %d", len(p.Objects), len(objs))
	}
	for _, o := range objs {
		got, ok := p.Objects[o.ID()]
		if !ok || got.Kind != o.Kind || !bytes.Equal(got.Data, o.Data) {
			t.Errorf("object %s (%s) did not round-trip", o.ID(), o.Kind)
		}
	}
	if p.Bytes != int64(len(data)) {
		t.Errorf("Bytes = %d, want %d", p.Bytes, len(data))
	}
}

func TestWriterCount(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, 2)
	w.Write(gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("x")})
	if err := w.Close(); err == nil {
		t.Fatal("Close with fewer objects than announced succeeded")
	}
}

// TestGitReadsOurPack checks the writer against git index-pack.
func TestGitReadsOurPack(t *testing.T) {
	git := testenv.MustHaveExecPath(t, "git")
	dir := t.TempDir()
	if out, err := exec.CommandContext(t.Context(), git, "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	objs := sampleObjects()
	cmd := exec.CommandContext(t.Context(), git, "-C", dir, "index-pack", "--stdin", "--strict")
	cmd.Stdin = bytes.NewReader(writePack(t, objs...))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git index-pack: %v\n%s", err, out)
	}
	for _, o := range objs {
		out, err := exec.CommandContext(t.Context(), git, "-C", dir, "cat-file", "-t", o.ID().String()).Output()
		if err != nil || strings.TrimSpace(string(out)) != o.Kind.String() {
			t.Errorf("git cat-file -t %s = %q, %v", o.ID(), out, err)
		}
	}
}

// gitRepo makes a repository with a history of similar files, so that git
// produces deltas, and returns its directory and commit ids (oldest
// first).
func gitRepo(t *testing.T, git string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), git, append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x", "GIT_COMMITTER_NAME=a",
			"GIT_COMMITTER_EMAIL=a@x", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	rng := rand.New(rand.NewPCG(1, 2))
	lines := make([]string, 2000)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d %d", i, rng.IntN(1e9))
	}
	var commits []string
	for c := range 6 {
		for k := range 20 {
			lines[rng.IntN(len(lines))] = fmt.Sprintf("changed %d %d", c, k)
		}
		for f := range 3 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", f)), []byte(strings.Join(lines[f:], "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run("add", ".")
		run("commit", "-q", "-m", fmt.Sprintf("c%d", c))
		commits = append(commits, run("rev-parse", "HEAD"))
	}
	return dir, commits
}

func packObjects(t *testing.T, git, dir, revs string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), git, append([]string{"-C", dir, "pack-objects", "--stdout", "--revs", "-q"}, args...)...)
	cmd.Stdin = strings.NewReader(revs)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git pack-objects %v: %v", args, err)
	}
	return out
}

func listObjects(t *testing.T, git, dir string, revs ...string) map[gitobj.ID]gitobj.Kind {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), git, append([]string{"-C", dir, "rev-list", "--objects"}, revs...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[gitobj.ID]gitobj.Kind{}
	for l := range strings.Lines(string(out)) {
		id, err := gitobj.ParseID(l[:40])
		if err != nil {
			t.Fatal(err)
		}
		want[id] = 0
	}
	return want
}

func catFile(t *testing.T, git, dir string, id gitobj.ID) gitobj.Object {
	t.Helper()
	typ, err := exec.CommandContext(t.Context(), git, "-C", dir, "cat-file", "-t", id.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	k, err := gitobj.ParseKind(strings.TrimSpace(string(typ)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := exec.CommandContext(t.Context(), git, "-C", dir, "cat-file", k.String(), id.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	return gitobj.Object{Kind: k, Data: data}
}

// TestReadGitPacks reads packs made by git pack-objects with OFS_DELTA and
// REF_DELTA entries, and a thin pack whose bases come from the callback.
func TestReadGitPacks(t *testing.T) {
	git := testenv.MustHaveExecPath(t, "git")
	dir, commits := gitRepo(t, git)
	head := commits[len(commits)-1]
	cases := []struct {
		name string
		revs string
		args []string
		want []string
		thin bool
	}{
		{name: "ofs-delta", revs: head + "\n", args: []string{"--delta-base-offset"}, want: []string{head}},
		{name: "ref-delta", revs: head + "\n", want: []string{head}},
		{name: "thin", revs: head + "\n^" + commits[2] + "\n", args: []string{"--thin"}, want: []string{head, "^" + commits[2]}, thin: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := packObjects(t, git, dir, tc.revs, tc.args...)
			if !tc.thin && !bytes.Contains(data, []byte{}) {
				t.Fatal("empty pack")
			}
			var fetched int
			base := func(id gitobj.ID) (gitobj.Object, error) {
				fetched++
				return catFile(t, git, dir, id), nil
			}
			if !tc.thin {
				base = nil
			}
			p, err := Read(bytes.NewReader(data), Limits{}, base)
			if err != nil {
				t.Fatal(err)
			}
			want := listObjects(t, git, dir, tc.want...)
			if len(p.Objects) != len(want) {
				t.Errorf("got %d objects, want %d", len(p.Objects), len(want))
			}
			for id := range want {
				o, ok := p.Objects[id]
				if !ok {
					t.Errorf("object %s missing", id)
					continue
				}
				if o.ID() != id {
					t.Errorf("object %s resolved to %s", id, o.ID())
				}
			}
			if tc.thin && fetched == 0 {
				t.Log("git made no delta against an outside base")
			}
			if tc.thin {
				if _, err := Read(bytes.NewReader(data), Limits{}, nil); fetched > 0 && !errors.Is(err, ErrBaseNotFound) {
					t.Errorf("thin pack without a base callback: err = %v, want ErrBaseNotFound", err)
				}
			}
		})
	}
}

// rawPack assembles a pack from raw entries (header bytes + zlib data).
func rawPack(n uint32, entries ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, n)
	for _, e := range entries {
		b.Write(e)
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

func zlibBytes(data []byte) []byte {
	var b bytes.Buffer
	z := zlib.NewWriter(&b)
	z.Write(data)
	z.Close()
	return b.Bytes()
}

func entryBytes(typ byte, size uint64, payload []byte, extra ...byte) []byte {
	b := appendEntryHeader(nil, typ, size)
	b = append(b, extra...)
	return append(b, zlibBytes(payload)...)
}

func idBytes(id gitobj.ID) []byte { return id[:] }

func refDelta(base gitobj.ID, delta []byte) []byte {
	return entryBytes(typeREFDelta, uint64(len(delta)), delta, base[:]...)
}

// deltaInsert builds a delta that ignores its base and inserts data.
func deltaInsert(baseLen int, data []byte) []byte {
	var d []byte
	d = binary.AppendUvarint(d, uint64(baseLen))
	d = binary.AppendUvarint(d, uint64(len(data)))
	for len(data) > 0 {
		n := min(len(data), 127)
		d = append(d, byte(n))
		d = append(d, data[:n]...)
		data = data[n:]
	}
	return d
}

func TestHostilePacks(t *testing.T) {
	blob := []byte("base content")
	good := entryBytes(3, uint64(len(blob)), blob)
	bomb := make([]byte, 8<<20)
	var ofsSelf []byte
	ofsSelf = append(ofsSelf, appendEntryHeader(nil, typeOFSDelta, 5)...)
	ofsSelf = append(ofsSelf, 0x00) // offset 0: itself
	ofsSelf = append(ofsSelf, zlibBytes([]byte{1, 1, 1, 'x'})...)
	d := deltaInsert(len(blob), []byte("new"))
	var ofsGood []byte
	ofsGood = append(ofsGood, appendEntryHeader(nil, typeOFSDelta, uint64(len(d)))...)
	ofsGood = append(ofsGood, byte(len(good)))
	ofsGood = append(ofsGood, zlibBytes(d)...)
	cycleA := gitobj.Hash(gitobj.KindBlob, []byte("A"))
	cycleB := gitobj.Hash(gitobj.KindBlob, []byte("B"))

	truncated := rawPack(1, good)
	truncated = truncated[:len(truncated)-25]
	badSum := rawPack(1, good)
	badSum[len(badSum)-1] ^= 1

	cases := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrInvalid},
		{"signature", []byte("PACX\x00\x00\x00\x02\x00\x00\x00\x00"), Limits{}, ErrInvalid},
		{"version", []byte("PACK\x00\x00\x00\x09\x00\x00\x00\x00"), Limits{}, ErrInvalid},
		{"too many objects", rawPack(1 << 30), Limits{}, ErrLimit},
		{"truncated", truncated, Limits{}, ErrInvalid},
		{"bad checksum", badSum, Limits{}, ErrInvalid},
		{"type 5", rawPack(1, entryBytes(5, 1, []byte("x"))), Limits{}, ErrInvalid},
		{"size lies short", rawPack(1, entryBytes(3, 3, []byte("abcdef"))), Limits{}, ErrInvalid},
		{"size lies long", rawPack(1, entryBytes(3, 10, []byte("abc"))), Limits{}, ErrInvalid},
		{"zlib bomb", rawPack(1, entryBytes(3, uint64(len(bomb)), bomb)), Limits{MaxMemory: 1 << 20, MaxObjectSize: 16 << 20}, ErrLimit},
		{"declared huge size", rawPack(1, append(appendEntryHeader(nil, 6, 1<<40), 0x01)), Limits{}, ErrLimit},
		{"oversized bomb", rawPack(1, entryBytes(3, 1<<40, []byte("x"))), Limits{}, ErrLimit},
		{"oversized over budget", rawPack(1, entryBytes(3, 100<<10, make([]byte, 100<<10))), Limits{MaxObjectSize: 64 << 10, MaxOversized: 32 << 10}, ErrLimit},
		{"pack too large", rawPack(1, good), Limits{MaxPackSize: 20}, ErrLimit},
		{"ofs self", rawPack(2, good, ofsSelf), Limits{}, ErrInvalid},
		{"ofs ok", rawPack(2, good, ofsGood), Limits{}, nil},
		{"ref cycle", rawPack(2,
			refDelta(cycleA, deltaInsert(1, []byte("B"))),
			refDelta(cycleB, deltaInsert(1, []byte("A")))), Limits{}, ErrBaseNotFound},
		{"delta base size mismatch", rawPack(2, good, refDelta(gitobj.Hash(gitobj.KindBlob, blob), deltaInsert(3, []byte("B")))), Limits{}, ErrInvalid},
		{"delta result over limit", rawPack(2, good, entryBytes(typeREFDelta, uint64(len(deltaInsert(len(blob), bytes.Repeat([]byte("z"), 5000)))),
			deltaInsert(len(blob), bytes.Repeat([]byte("z"), 5000)), idBytes(gitobj.Hash(gitobj.KindBlob, blob))...)), Limits{MaxObjectSize: 4096}, ErrLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data), tc.lim, nil)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOversized(t *testing.T) {
	big := gitobj.Object{Kind: gitobj.KindBlob, Data: bytes.Repeat([]byte("x"), 100<<10)}
	small := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("y")}
	p, err := Read(bytes.NewReader(writePack(t, big, small)), Limits{MaxObjectSize: 64 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := p.Oversized[big.ID()]; !ok || o.Size != int64(len(big.Data)) || o.Kind != gitobj.KindBlob {
		t.Errorf("Oversized = %v, want the big blob", p.Oversized)
	}
	if _, ok := p.Objects[big.ID()]; ok {
		t.Error("oversized object kept")
	}
	if _, ok := p.Objects[small.ID()]; !ok {
		t.Error("small object missing")
	}
}

func TestApplyDelta(t *testing.T) {
	base := []byte("0123456789")
	copyOp := func(off, size byte) []byte { return []byte{0x80 | 0x01 | 0x10, off, size} }
	mk := func(baseLen, resLen int, ops ...[]byte) []byte {
		d := binary.AppendUvarint(nil, uint64(baseLen))
		d = binary.AppendUvarint(d, uint64(resLen))
		for _, o := range ops {
			d = append(d, o...)
		}
		return d
	}
	cases := []struct {
		name  string
		delta []byte
		want  string
		err   error
	}{
		{"copy+insert", mk(10, 6, copyOp(2, 3), []byte{3, 'a', 'b', 'c'}), "234abc", nil},
		{"copy out of base", mk(10, 5, copyOp(8, 5)), "", ErrInvalid},
		{"result too long", mk(10, 2, copyOp(0, 3)), "", ErrInvalid},
		{"result short", mk(10, 4, copyOp(0, 3)), "", ErrInvalid},
		{"opcode 0", mk(10, 1, []byte{0}), "", ErrInvalid},
		{"insert truncated", mk(10, 5, []byte{5, 'a'}), "", ErrInvalid},
		{"base size", mk(9, 1, []byte{1, 'a'}), "", ErrInvalid},
		{"huge result", mk(10, 1<<40), "", ErrLimit},
		{"truncated header", []byte{0x80}, "", ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ApplyDelta(base, tc.delta, 1<<20)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("ApplyDelta = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add(writePack(f, sampleObjects()...))
	blob := []byte("base content")
	d := deltaInsert(len(blob), []byte("new"))
	var ofs []byte
	good := entryBytes(3, uint64(len(blob)), blob)
	ofs = append(ofs, appendEntryHeader(nil, typeOFSDelta, uint64(len(d)))...)
	ofs = append(ofs, byte(len(good)))
	ofs = append(ofs, zlibBytes(d)...)
	f.Add(rawPack(2, good, ofs))
	f.Add(rawPack(2, good, entryBytes(typeREFDelta, uint64(len(d)), d, idBytes(gitobj.Hash(gitobj.KindBlob, blob))...)))
	lim := Limits{MaxPackSize: 1 << 20, MaxObjects: 1000, MaxObjectSize: 64 << 10, MaxMemory: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data), lim, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrBaseNotFound) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		var total int64
		for id, o := range p.Objects {
			if o.ID() != id {
				t.Fatalf("object stored under %s has id %s", id, o.ID())
			}
			if int64(len(o.Data)) > lim.MaxObjectSize {
				t.Fatalf("object of %d bytes kept over the limit", len(o.Data))
			}
			total += int64(len(o.Data))
		}
		if total > lim.MaxMemory {
			t.Fatalf("kept %d bytes over the memory limit", total)
		}
		// What was read must write back to a pack that reads the same.
		objs := make([]gitobj.Object, 0, len(p.Objects))
		for _, o := range p.Objects {
			objs = append(objs, o)
		}
		p2, err := Read(bytes.NewReader(writePack(t, objs...)), Limits{}, nil)
		if err != nil || len(p2.Objects) != len(p.Objects) {
			t.Fatalf("re-read: %v (%d objects, want %d)", err, len(p2.Objects), len(p.Objects))
		}
	})
}

func FuzzApplyDelta(f *testing.F) {
	f.Add([]byte("0123456789"), []byte{10, 6, 0x91, 2, 3, 3, 'a', 'b', 'c'})
	f.Add([]byte(""), []byte{0, 3, 3, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, base, delta []byte) {
		out, err := ApplyDelta(base, delta, 1<<20)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		_, size, err := DeltaSizes(delta)
		if err != nil || uint64(len(out)) != size {
			t.Fatalf("result of %d bytes, delta declares %d (%v)", len(out), size, err)
		}
	})
}

// TestWriteCompressed: an object handed over compressed (Compress) gives
// the very bytes Write gives.
func TestWriteCompressed(t *testing.T) {
	objs := sampleObjects()
	want := writePack(t, objs...)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, uint32(len(objs)))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := w.WriteCompressed(o.Kind, len(o.Data), Compress(o.Data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("a pack of compressed objects differs from one of whole objects")
	}
	if err := w.WriteCompressed(gitobj.KindBlob, 1, Compress([]byte("x"))); err == nil {
		t.Fatal("WriteCompressed after Close succeeded")
	}
}
