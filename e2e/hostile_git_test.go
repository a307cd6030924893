package e2e

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/agorahub/agora/internal/gitobj"
)

// Git smart HTTP as a hostile client speaks it: pkt-lines and packs built
// by hand, so that every field can be wrong. Refusals of a well-framed
// push are in-band, as git expects them (HTTP 200 with "unpack <error>"
// or "ng <ref> <reason>" in report-status); refusals of a fetch are an
// "ERR" packet; malformed framing is a 400.

func pkt(s string) []byte { return []byte(fmt.Sprintf("%04x%s", len(s)+4, s)) }

const flushPkt = "0000"

// pushBody is report-status commands, a flush, then the pack.
func pushBody(cmds []string, pack []byte) []byte {
	var b bytes.Buffer
	for i, c := range cmds {
		if i == 0 {
			c += "\x00report-status"
		}
		b.Write(pkt(c + "\n"))
	}
	b.WriteString(flushPkt)
	b.Write(pack)
	return b.Bytes()
}

// packEntry is one raw pack entry: its type and declared size, and the
// bytes after the header (the zlib stream, preceded by the base for
// deltas).
type packEntry struct {
	typ  byte
	size uint64
	body []byte
}

func whole(o gitobj.Object) packEntry {
	return packEntry{typ: byte(o.Kind), size: uint64(len(o.Data)), body: zlibOf(o.Data)}
}

func zlibOf(b []byte) []byte {
	var buf bytes.Buffer
	z := zlib.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

// rawPack builds a pack announcing count objects (len(entries) if < 0),
// with a correct trailer unless badTrailer.
func rawPack(version uint32, count int, badTrailer bool, entries ...packEntry) []byte {
	if count < 0 {
		count = len(entries)
	}
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, version)
	binary.Write(&b, binary.BigEndian, uint32(count))
	for _, e := range entries {
		c := e.typ<<4 | byte(e.size&0x0f)
		size := e.size >> 4
		for size != 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
		b.Write(e.body)
	}
	sum := sha1.Sum(b.Bytes())
	if badTrailer {
		sum[0] ^= 0xff
	}
	b.Write(sum[:])
	return b.Bytes()
}

func pack(objs ...gitobj.Object) []byte {
	var es []packEntry
	for _, o := range objs {
		es = append(es, whole(o))
	}
	return rawPack(2, -1, false, es...)
}

func blobObj(s string) gitobj.Object { return gitobj.Object{Kind: gitobj.KindBlob, Data: []byte(s)} }

// rawTree encodes entries exactly as given (mode, name, id), unsorted and
// unchecked.
func rawTree(ents ...[3]string) gitobj.Object {
	var b bytes.Buffer
	for _, e := range ents {
		id, err := hex.DecodeString(e[2])
		if err != nil || len(id) != 20 {
			panic("bad id " + e[2])
		}
		b.WriteString(e[0] + " " + e[1] + "\x00")
		b.Write(id)
	}
	return gitobj.Object{Kind: gitobj.KindTree, Data: b.Bytes()}
}

const sig = "T <t@example.org> 1700000000 +0000"

func commitObj(tree, parent, msg string) gitobj.Object {
	s := "tree " + tree + "\n"
	if parent != "" {
		s += "parent " + parent + "\n"
	}
	s += "author " + sig + "\ncommitter " + sig + "\n\n" + msg
	return gitobj.Object{Kind: gitobj.KindCommit, Data: []byte(s)}
}

const zeroID = "0000000000000000000000000000000000000000"

func gzipOf(b []byte) []byte {
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

// gzipStream is a gzip body of prefix then n bytes of fill (n a multiple
// of 16 MiB), for bombs far larger than the test wants to compress: the
// fill is one member compressed once and repeated, which gzip readers
// (Go's and git's) inflate as one stream.
func gzipStream(prefix []byte, fill byte, n int64) []byte {
	var buf bytes.Buffer
	if len(prefix) > 0 {
		buf.Write(gzipOf(prefix))
	}
	const chunk = 16 << 20
	member := gzipOf(bytes.Repeat([]byte{fill}, chunk))
	for ; n > 0; n -= chunk {
		buf.Write(member)
	}
	return buf.Bytes()
}

// deflatedMiB is deflate blocks, not final and ending byte-aligned (a
// sync flush), that inflate to 1 MiB of zeros: repeated, they make a
// stream of any multiple of 1 MiB without compressing it.
var deflatedMiB = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(make([]byte, 1<<20))
	w.Flush()
	return b.Bytes()
})

// zlibZeros is a zlib stream of n zero bytes (n a multiple of 1 MiB).
func zlibZeros(n int64) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x78, 0xda})
	for i := int64(0); i < n>>20; i++ {
		b.Write(deflatedMiB())
	}
	b.Write([]byte{0x03, 0x00}) // a final, empty block
	// Adler-32 of n zeros: the byte sum stays 1, the sum of sums is n.
	binary.Write(&b, binary.BigEndian, uint32(n%65521)<<16|1)
	return b.Bytes()
}

func gitCases(e *hx) []hostile {
	push := func(name string, status int, want string, body []byte) hostile {
		return hostile{class: "git", name: name, call: call{method: "POST", path: "/alice/target.git/git-receive-pack", basic: e.alice,
			hdr: []string{"Content-Type", "application/x-git-receive-pack-request"}, body: body}, status: status, want: want}
	}
	fetch := func(name string, status int, want string, v2 bool, body []byte) hostile {
		hdr := []string{"Content-Type", "application/x-git-upload-pack-request"}
		if v2 {
			hdr = append(hdr, "Git-Protocol", "version=2")
		}
		return hostile{class: "git", name: name, call: call{method: "POST", path: "/alice/target.git/git-upload-pack", basic: e.alice,
			hdr: hdr, body: body}, status: status, want: want}
	}
	head := e.head
	readme := blobObj("pushed readme\n")
	okTree := rawTree([3]string{"100644", "README.md", readme.ID().String()})
	newCommit := func(tree gitobj.Object, msg string) gitobj.Object { return commitObj(tree.ID().String(), head, msg) }
	// pushObjs pushes a commit of tree (with the objects) to a new branch:
	// the fsck cases, whose pack is well-formed and whose objects are not.
	n := 0
	pushTree := func(name, want string, tree gitobj.Object, extra ...gitobj.Object) hostile {
		n++
		c := newCommit(tree, name+"\n")
		objs := append([]gitobj.Object{c, tree}, extra...)
		return push("fsck: "+name, 200, want, pushBody([]string{zeroID + " " + c.ID().String() + fmt.Sprintf(" refs/heads/fsck-%d", n)}, pack(objs...)))
	}
	hostileModules := blobObj("[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n")
	dotdotModules := blobObj("[submodule \"../../x\"]\n\tpath = x\n\turl = https://example.org/x.git\n")
	cfg := blobObj("[core]\n\tfsmonitor = touch /tmp/pwned\n")
	sub := rawTree([3]string{"100644", "config", cfg.ID().String()})
	goodCommit := newCommit(okTree, "a valid push\n")
	twoParents := commitObj(okTree.ID().String(), head, "x\n")
	twoParents.Data = bytes.Replace(twoParents.Data, []byte("author"), []byte("parent "+head+"\nauthor"), 1)

	cases := []hostile{
		{class: "git", name: "info/refs without service", call: call{method: "GET", path: "/alice/target.git/info/refs"}, status: 403},
		{class: "git", name: "info/refs unknown service", call: call{method: "GET", path: "/alice/target.git/info/refs?service=git-frobnicate"}, status: 403},
		{class: "git", name: "receive-pack advertisement, anonymous", call: call{method: "GET", path: "/alice/target.git/info/refs?service=git-receive-pack"}, status: 401},
		{class: "git", name: "receive-pack advertisement, read token", call: call{method: "GET", path: "/alice/target.git/info/refs?service=git-receive-pack", basic: e.aliceRead}, status: 403},
		{class: "git", name: "private advertisement, anonymous", call: call{method: "GET", path: "/alice/locked.git/info/refs?service=git-upload-pack"}, status: 401},
		{class: "git", name: "private advertisement, other user", call: call{method: "GET", path: "/alice/locked.git/info/refs?service=git-upload-pack", basic: e.bob}, status: 404, code: "RepoNotFound"},
		{class: "git", name: "push, anonymous", call: call{method: "POST", path: "/alice/target.git/git-receive-pack", body: pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/anon"}, pack(goodCommit, okTree, readme))}, status: 401},
		{class: "git", name: "push, read token", call: call{method: "POST", path: "/alice/target.git/git-receive-pack", basic: e.aliceRead, body: pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/ro"}, pack(goodCommit, okTree, readme))}, status: 403},
		{class: "git", name: "push, other user", call: call{method: "POST", path: "/alice/target.git/git-receive-pack", basic: e.bob, body: pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/bob"}, pack(goodCommit, okTree, readme))}, status: 403},
		push("empty body", 200, "", []byte{}),
		push("bad pkt length", 400, "", []byte("zzzzhello")),
		push("pkt length 1", 400, "", []byte("0001")),
		push("pkt length 3", 400, "", []byte("0003")),
		push("pkt length past the end", 400, "", []byte("00ffshort")),
		push("pkt length over 65520", 400, "", []byte("fff5")),
		push("empty pkt", 400, "", []byte("0004"+flushPkt)),
		push("command too short", 400, "", pushBody([]string{"abc refs/heads/x"}, nil)),
		push("command not hex", 400, "", pushBody([]string{strings.Repeat("g", 40) + " " + strings.Repeat("h", 40) + " refs/heads/x"}, nil)),
		push("command without ref", 400, "", pushBody([]string{zeroID + " " + zeroID}, nil)),
		push("no flush after commands", 400, "", pkt(zeroID+" "+goodCommit.ID().String()+" refs/heads/x\x00report-status\n")),
		push("10001 commands", 413, "", pushBody(func() []string {
			var c []string
			for i := range 10001 {
				c = append(c, fmt.Sprintf("%s %s refs/heads/b%d", zeroID, goodCommit.ID(), i))
			}
			return c
		}(), nil)),
		push("ref name of 60000 bytes", 400, "", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/" + strings.Repeat("r", 60000)}, pack(goodCommit, okTree, readme))),
		push("invalid ref name", 200, "ng refs/heads/a..b", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/a..b"}, pack(goodCommit, okTree, readme))),
		push("ref outside heads and tags", 200, "ng refs/meta/config", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/meta/config"}, pack(goodCommit, okTree, readme))),
		push("pull request ref", 200, "ng refs/pr/1", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/pr/1"}, pack(goodCommit, okTree, readme))),
		push("stale old id", 200, "ng refs/heads/main", pushBody([]string{goodCommit.ID().String() + " " + goodCommit.ID().String() + " refs/heads/main"}, pack(goodCommit, okTree, readme))),
		push("delete a missing branch", 200, "ng refs/heads/no-such", pushBody([]string{goodCommit.ID().String() + " " + zeroID + " refs/heads/no-such"}, nil)),
		push("delete the default branch", 200, "ng refs/heads/main", pushBody([]string{head + " " + zeroID + " refs/heads/main"}, nil)),
		push("new id missing from the pack", 200, "ng refs/heads/missing", pushBody([]string{zeroID + " " + strings.Repeat("1", 40) + " refs/heads/missing"}, pack(readme))),
		push("non-fast-forward", 200, "ng refs/heads/main", pushBody([]string{head + " " + commitObj(okTree.ID().String(), "", "orphan\n").ID().String() + " refs/heads/main"},
			pack(commitObj(okTree.ID().String(), "", "orphan\n"), okTree, readme))),
		push("branch at a blob", 200, "ng refs/heads/blob", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/blob"}, pack(readme))),
		push("pack signature", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x1"}, append([]byte("PACX"), pack(goodCommit)[4:]...))),
		push("pack version 3", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x2"}, rawPack(3, -1, false, whole(goodCommit)))),
		push("pack truncated after the header", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x3"}, pack(goodCommit, okTree, readme)[:12])),
		push("pack truncated in an entry", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x4"}, pack(goodCommit, okTree, readme)[:40])),
		push("pack announces more objects", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x5"}, rawPack(2, 5, false, whole(goodCommit), whole(okTree), whole(readme)))),
		push("pack announces 4 billion objects", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x6"}, rawPack(2, 1<<32-1, false, whole(goodCommit)))),
		push("pack trailer", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x7"}, rawPack(2, -1, true, whole(goodCommit), whole(okTree), whole(readme)))),
		push("pack entry type 5", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x8"}, rawPack(2, -1, false, packEntry{typ: 5, size: 3, body: zlibOf([]byte("abc"))}))),
		push("pack entry type 0", 200, "unpack ", pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/x9"}, rawPack(2, -1, false, packEntry{typ: 0, size: 3, body: zlibOf([]byte("abc"))}))),
		push("entry larger than declared", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x10"}, rawPack(2, -1, false, packEntry{typ: 3, size: 3, body: zlibOf([]byte("abcdef"))}))),
		push("entry smaller than declared", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x11"}, rawPack(2, -1, false, packEntry{typ: 3, size: 30, body: zlibOf([]byte("abc"))}))),
		push("zlib garbage", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x12"}, rawPack(2, -1, false, packEntry{typ: 3, size: 3, body: []byte("not zlib at all")}))),
		push("ref delta to a missing base", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x13"},
			rawPack(2, -1, false, packEntry{typ: 7, size: 4, body: append(bytes.Repeat([]byte{0x42}, 20), zlibOf([]byte{3, 3, 0x90, 3})...)}))),
		push("ofs delta before the pack", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x14"},
			rawPack(2, -1, false, packEntry{typ: 6, size: 4, body: append([]byte{0x7f}, zlibOf([]byte{3, 3, 0x90, 3})...)}))),
		push("delta with a wrong base size", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x15"},
			rawPack(2, -1, false, whole(readme), packEntry{typ: 7, size: 4, body: append(idBytes(readme.ID()), zlibOf([]byte{99, 3, 0x90, 3})...)}))),
		push("delta copying past its base", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x16"},
			rawPack(2, -1, false, whole(readme), packEntry{typ: 7, size: 6, body: append(idBytes(readme.ID()), zlibOf([]byte{byte(len(readme.Data)), 100, 0x91, 0, 100})...)}))),
		push("delta declaring a 4 GiB result", 200, "unpack ", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x17"},
			rawPack(2, -1, false, whole(readme), packEntry{typ: 7, size: 7, body: append(idBytes(readme.ID()), zlibOf([]byte{byte(len(readme.Data)), 0x80, 0x80, 0x80, 0x80, 0x10, 0x90})...)}))),
		push("zlib bomb: 256 MiB blob in 300 KiB", 200, "ng ", pushBody([]string{zeroID + " " + gitobj.Hash(gitobj.KindBlob, nil).String() + " refs/heads/x18"},
			rawPack(2, -1, false, packEntry{typ: 3, size: 256 << 20, body: zlibZeros(256 << 20)}))),
		push("pack over the push limit", 413, "", pushBody([]string{zeroID + " " + readme.ID().String() + " refs/heads/x19"}, bytes.Repeat([]byte("P"), 18<<20))),
		pushTree("tree with .git", "ng ", rawTree([3]string{"40000", ".git", sub.ID().String()}), sub, cfg),
		pushTree("tree with .GIT", "ng ", rawTree([3]string{"40000", ".GIT", sub.ID().String()}), sub, cfg),
		pushTree("tree with git~1", "ng ", rawTree([3]string{"40000", "git~1", sub.ID().String()}), sub, cfg),
		pushTree("tree with HFS .g\u200cit", "ng ", rawTree([3]string{"40000", ".g\u200cit", sub.ID().String()}), sub, cfg),
		pushTree("tree with NTFS .git.", "ng ", rawTree([3]string{"40000", ".git.", sub.ID().String()}), sub, cfg),
		pushTree("tree with an empty name", "ng ", rawTree([3]string{"100644", "", readme.ID().String()}), readme),
		pushTree("tree with '.'", "ng ", rawTree([3]string{"40000", ".", sub.ID().String()}), sub, cfg),
		pushTree("tree with '..'", "ng ", rawTree([3]string{"40000", "..", sub.ID().String()}), sub, cfg),
		pushTree("tree with a slash in a name", "ng ", rawTree([3]string{"100644", "a/b", readme.ID().String()}), readme),
		pushTree("tree with duplicate entries", "ng ", rawTree([3]string{"100644", "README.md", readme.ID().String()}, [3]string{"100644", "README.md", readme.ID().String()}), readme),
		pushTree("tree with a file and a folder of one name", "ng ", rawTree([3]string{"100644", "x", readme.ID().String()}, [3]string{"40000", "x", sub.ID().String()}), readme, sub, cfg),
		pushTree("unsorted tree", "ng ", rawTree([3]string{"100644", "b", readme.ID().String()}, [3]string{"100644", "a", readme.ID().String()}), readme),
		pushTree("zero-padded mode", "ng ", rawTree([3]string{"040000", "d", sub.ID().String()}), sub, cfg),
		pushTree("bad mode", "ng ", rawTree([3]string{"100666", "x", readme.ID().String()}), readme),
		pushTree("missing blob", "ng ", rawTree([3]string{"100644", "x", strings.Repeat("ab", 20)})),
		pushTree("hostile .gitmodules", "ng ", rawTree([3]string{"100644", ".gitmodules", hostileModules.ID().String()}), hostileModules),
		pushTree(".gitmodules with a ../ name", "ng ", rawTree([3]string{"100644", ".gitmodules", dotdotModules.ID().String()}), dotdotModules),
		pushTree(".gitmodules as a symlink", "ng ", rawTree([3]string{"120000", ".gitmodules", readme.ID().String()}), readme),
		pushTree(".gitmodules as a folder", "ng ", rawTree([3]string{"40000", ".gitmodules", sub.ID().String()}), sub, cfg),
		push("commit with a missing tree", 200, "ng ", pushBody([]string{zeroID + " " + commitObj(strings.Repeat("cd", 20), head, "x\n").ID().String() + " refs/heads/notree"},
			pack(commitObj(strings.Repeat("cd", 20), head, "x\n")))),
		push("commit with a bad author", 200, "ng ", func() []byte {
			c := gitobj.Object{Kind: gitobj.KindCommit, Data: []byte("tree " + okTree.ID().String() + "\nparent " + head + "\nauthor nobody\ncommitter " + sig + "\n\nx\n")}
			return pushBody([]string{zeroID + " " + c.ID().String() + " refs/heads/badauthor"}, pack(c, okTree, readme))
		}()),
		push("commit with a NUL in its message", 200, "ng ", func() []byte {
			c := newCommit(okTree, "a\x00b\n")
			return pushBody([]string{zeroID + " " + c.ID().String() + " refs/heads/nul"}, pack(c, okTree, readme))
		}()),
		// A merge of a commit with itself is odd but valid git.
		{class: "git", name: "commit with a parent twice", call: call{method: "POST", path: "/alice/target.git/git-receive-pack", basic: e.alice,
			body: pushBody([]string{zeroID + " " + twoParents.ID().String() + " refs/heads/twoparents"}, pack(twoParents, okTree, readme))},
			status: 200, want: "ok refs/heads/twoparents", changes: true},
		push("commit with a bad tree line", 200, "ng ", func() []byte {
			c := gitobj.Object{Kind: gitobj.KindCommit, Data: []byte("tree xyz\nauthor " + sig + "\ncommitter " + sig + "\n\nx\n")}
			return pushBody([]string{zeroID + " " + c.ID().String() + " refs/heads/badtree"}, pack(c))
		}()),
		push("tag of a missing object", 200, "ng ", func() []byte {
			t := gitobj.Object{Kind: gitobj.KindTag, Data: []byte("object " + strings.Repeat("ef", 20) + "\ntype commit\ntag t\ntagger " + sig + "\n\nx\n")}
			return pushBody([]string{zeroID + " " + t.ID().String() + " refs/tags/missing"}, pack(t))
		}()),
		push("tag with a bad type", 200, "ng ", func() []byte {
			t := gitobj.Object{Kind: gitobj.KindTag, Data: []byte("object " + head + "\ntype frob\ntag t\ntagger " + sig + "\n\nx\n")}
			return pushBody([]string{zeroID + " " + t.ID().String() + " refs/tags/badtype"}, pack(t))
		}()),
		// The push that succeeds, and a fetch of it.
		{class: "git", name: "valid push", call: call{method: "POST", path: "/alice/target.git/git-receive-pack", basic: e.alice,
			body: pushBody([]string{zeroID + " " + goodCommit.ID().String() + " refs/heads/pushed"}, pack(goodCommit, okTree, readme))},
			status: 200, want: "ok refs/heads/pushed", changes: true},
		fetch("fetch of the pushed commit", 200, "PACK", false, append(append(pkt("want "+goodCommit.ID().String()+" no-progress\n"), flushPkt...), pkt("done\n")...)),
		fetch("want of an unknown object", 200, "ERR ", false, append(append(pkt("want "+strings.Repeat("9", 40)+"\n"), flushPkt...), pkt("done\n")...)),
		fetch("want of a blob id not reachable", 200, "ERR ", false, append(append(pkt("want "+cfg.ID().String()+"\n"), flushPkt...), pkt("done\n")...)),
		fetch("want garbage", 200, "ERR ", false, append(append(pkt("want xyz\n"), flushPkt...), pkt("done\n")...)),
		fetch("unknown line", 200, "ERR ", false, append(append(pkt("frobnicate\n"), flushPkt...), pkt("done\n")...)),
		fetch("bad pkt length", 200, "ERR ", false, []byte("zzzz")),
		fetch("no wants", 200, "", false, []byte(flushPkt)),
		fetch("v2 unknown command", 200, "ERR ", true, append(pkt("command=frobnicate\n"), flushPkt...)),
		fetch("v2 fetch of an unknown object", 200, "ERR ", true, append(append(append(append(pkt("command=fetch\n"), "0001"...), pkt("want "+strings.Repeat("9", 40)+"\n")...), pkt("done\n")...), flushPkt...)),
		fetch("v2 ls-refs with a huge prefix list", 200, "", true, func() []byte {
			b := append(pkt("command=ls-refs\n"), "0001"...)
			for i := range 5000 {
				b = append(b, pkt(fmt.Sprintf("ref-prefix refs/heads/%d\n", i))...)
			}
			return append(b, flushPkt...)
		}()),
		fetch("deepen by a huge depth", 200, "", false, append(append(pkt("want "+head+"\n"), pkt("deepen 2147483647\n")...), append([]byte(flushPkt), pkt("done\n")...)...)),
		fetch("deepen by a negative depth", 200, "ERR ", false, append(append(pkt("want "+head+"\n"), pkt("deepen -1\n")...), append([]byte(flushPkt), pkt("done\n")...)...)),
		{class: "git", name: "fetch from a private repository by another user", call: call{method: "POST", path: "/alice/locked.git/git-upload-pack", basic: e.bob,
			body: append(pkt("want "+strings.Repeat("9", 40)+"\n"), flushPkt...)}, status: 404, code: "RepoNotFound"},
		{class: "git", name: "fetch with a bad token", call: call{method: "POST", path: "/alice/target.git/git-upload-pack", basic: "hf_not_a_token",
			body: append(pkt("want "+head+"\n"), flushPkt...)}, status: 401},
	}
	return cases
}

func idBytes(id gitobj.ID) []byte { return id[:] }
