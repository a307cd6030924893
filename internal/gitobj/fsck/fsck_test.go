package fsck

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/testenv"
)

// Objects every oracle repository holds, so that benign cases can point
// at something real (git's fsck also refuses dangling links).
var (
	emptyBlob  = gitobj.Object{Kind: gitobj.KindBlob}
	emptyTree  = gitobj.Object{Kind: gitobj.KindTree}
	baseCommit = gitobj.Object{Kind: gitobj.KindCommit, Data: []byte("tree " + emptyTree.ID().String() +
		"\nauthor A <a@example.org> 1700000000 +0000\ncommitter A <a@example.org> 1700000000 +0000\n\nbase\n")}
)

// ent is a raw tree entry; id "" means the empty blob, "tree" the empty
// tree, "commit" the base commit, "null" the null id, "blob" the case's
// blob.
type ent struct{ mode, name, id string }

func rawTree(blob gitobj.ID, ents ...ent) []byte {
	var b bytes.Buffer
	for _, e := range ents {
		id := emptyBlob.ID()
		switch e.id {
		case "tree":
			id = emptyTree.ID()
		case "commit":
			id = baseCommit.ID()
		case "null":
			id = gitobj.ZeroID
		case "blob":
			id = blob
		}
		b.WriteString(e.mode + " " + e.name + "\x00")
		b.Write(id[:])
	}
	return b.Bytes()
}

// oracleCase is one object to check. Trees name their case blob "blob";
// a gitmodules or gitattributes case is a tree holding the blob under
// that File's name (or under name, when set).
type oracleCase struct {
	name  string
	kind  gitobj.Kind
	tree  []ent  // kind tree
	text  string // kind commit or tag: "{T}" and "{C}" stand for the empty tree and the base commit
	file  File   // a .gitmodules or .gitattributes case, with content text
	entry string // the name of that file in its tree, if not the usual one
	mode  string // and its mode, if not 100644
	raw   []byte // kind tree: the content as is
	want  MsgID  // "" when the object is fine
	// stricter marks a refusal that git does not make (it only notes,
	// or tolerates, the problem): Agora refuses more on purpose.
	stricter bool
}

const (
	okIdent = "A <a@example.org> 1700000000 +0100"
)

func commitText(author string) string {
	return "tree {T}\nparent {C}\nauthor " + author + "\ncommitter " + okIdent + "\n\nmsg\n"
}

func oracleCases() []oracleCase {
	tree := func(name string, want MsgID, ents ...ent) oracleCase {
		return oracleCase{name: "tree/" + name, kind: gitobj.KindTree, tree: ents, want: want}
	}
	strictTree := func(name string, want MsgID, ents ...ent) oracleCase {
		c := tree(name, want, ents...)
		c.stricter = true
		return c
	}
	commit := func(name string, want MsgID, text string) oracleCase {
		return oracleCase{name: "commit/" + name, kind: gitobj.KindCommit, text: text, want: want}
	}
	ident := func(name string, want MsgID, author string) oracleCase {
		return commit("ident/"+name, want, commitText(author))
	}
	tag := func(name string, want MsgID, text string) oracleCase {
		return oracleCase{name: "tag/" + name, kind: gitobj.KindTag, text: text, want: want}
	}
	modules := func(name string, want MsgID, content string) oracleCase {
		return oracleCase{name: "gitmodules/" + name, kind: gitobj.KindTree, file: Gitmodules, text: content, want: want}
	}
	attrs := func(name string, want MsgID, content string) oracleCase {
		return oracleCase{name: "gitattributes/" + name, kind: gitobj.KindTree, file: Gitattributes, text: content, want: want}
	}
	const hostileURL = "[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n"
	f := func(name string) ent { return ent{"100644", name, ""} }
	d := func(name string) ent { return ent{"40000", name, "tree"} }
	link := func(name string) ent { return ent{"120000", name, ""} }
	return []oracleCase{
		// Benign trees.
		tree("every mode", "", f("a"), ent{"100755", "b", ""}, link("c"), d("d"), ent{"160000", "e", "commit"}),
		tree("slash order", "", f("a.b"), d("a"), f("a0")),
		tree("file prefix", "", f("a"), f("a.b"), f("a0")),
		tree("legacy 100664", "", ent{"100664", "a", ""}),
		tree("near .git", "", f(".git-blame-ignore-revs"), d(".github"), f(".gitignore"), f(".gitx"), f("git"), f("gitmodules"), f("git~2")),
		tree("three dots", "", f("...")),
		tree("unicode", "", f("ü-名前.txt")),
		tree("backslash", "", f("a\\b")),
		tree("symlinked .gitattributes", "", link(".gitattributes")),
		tree("empty", ""),
		// Names some file system reads as .git.
		tree(".git folder", HasDotgit, d(".git")),
		tree(".git file", HasDotgit, f(".git")),
		tree(".GIT", HasDotgit, d(".GIT")),
		tree("git~1", HasDotgit, d("git~1")),
		tree("GIT~1", HasDotgit, f("GIT~1")),
		tree(".git.", HasDotgit, d(".git.")),
		tree(".git space", HasDotgit, d(".git ")),
		tree(".git dots and spaces", HasDotgit, d(".git. . .")),
		tree(".git stream", HasDotgit, d(".git::$INDEX_ALLOCATION")),
		tree("git~1 stream", HasDotgit, f("git~1:stream")),
		tree("zero-width non-joiner", HasDotgit, d(".g\u200cit")),
		tree("byte order mark", HasDotgit, d(".gi\ufefft")),
		tree("trailing joiner", HasDotgit, d(".git\u200d")),
		tree("leading swap mark", HasDotgit, d("\u206a.GIT")),
		tree("direction marks", HasDotgit, d("\u200e.\u202eg\u200fi\u206ft")),
		tree("bad UTF-8 after .git", HasDotgit, f(".git\xff")),
		tree("backslash .git", HasDotgit, f("a\\.git")),
		tree("backslash git~1", HasDotgit, f("a\\b\\GIT~1")),
		strictTree("backslash HFS .git", HasDotgit, f("a\\.g\u200cit")),
		// Other names.
		tree("dot", HasDot, d(".")),
		tree("dot-dot", HasDotdot, d("..")),
		tree("slash", FullPathname, f("a/b")),
		tree("null id", NullSha1, ent{"100644", "a", "null"}),
		// Structure.
		tree("duplicate files", DuplicateEntries, f("a"), f("a")),
		tree("file and folder", DuplicateEntries, f("a"), d("a")),
		tree("file and folder apart", DuplicateEntries, f("a"), f("a.b"), d("a")),
		tree("unsorted", TreeNotSorted, f("b"), f("a")),
		tree("folder before its dotted sibling", TreeNotSorted, d("a"), f("a.b")),
		tree("zero-padded folder", ZeroPaddedFilemode, ent{"040000", "d", "tree"}),
		tree("zero-padded file", ZeroPaddedFilemode, ent{"0100644", "a", ""}),
		strictTree("mode 100600", BadFilemode, ent{"100600", "a", ""}),
		strictTree("mode 100777", BadFilemode, ent{"100777", "a", ""}),
		strictTree("mode 20000", BadFilemode, ent{"20000", "a", ""}),
		{name: "tree/non-octal mode", kind: gitobj.KindTree, raw: rawTree(gitobj.ZeroID, ent{"10064a", "a", ""}), want: BadTree},
		{name: "tree/empty mode", kind: gitobj.KindTree, raw: rawTree(gitobj.ZeroID, ent{"", "a", ""}), want: BadTree},
		{name: "tree/empty name", kind: gitobj.KindTree, raw: rawTree(gitobj.ZeroID, ent{"100644", "", ""}), want: BadTree},
		{name: "tree/truncated", kind: gitobj.KindTree, raw: rawTree(gitobj.ZeroID, f("a"))[:20], want: BadTree},
		{name: "tree/trailing garbage", kind: gitobj.KindTree, raw: append(rawTree(gitobj.ZeroID, f("a")), "x"...), want: BadTree},
		// .gitmodules under every name.
		tree(".gitmodules symlink", GitmodulesSymlink, link(".gitmodules")),
		tree("GITMOD~1 symlink", GitmodulesSymlink, link("GITMOD~1")),
		tree("gi7eba~1 symlink", GitmodulesSymlink, link("gi7eba~1")),
		tree(".gitmodules space symlink", GitmodulesSymlink, link(".gitmodules ")),
		tree(".gitmodules stream symlink", GitmodulesSymlink, link(".gitmodules::$DATA")),
		tree(".gitmodules joiner symlink", GitmodulesSymlink, link(".gitmodules\u200c")),
		tree(".gitmodules folder", GitmodulesBlob, d(".gitmodules")),
		tree(".gitattributes folder", GitattributesBlob, d(".gitattributes")),

		// .gitmodules content.
		modules("plain", "", "[submodule \"sub\"]\n\tpath = sub\n\turl = https://example.com/sub.git\n\tbranch = main\n"),
		modules("relative and scp", "", "[submodule \"a\"]\n\turl = ../sibling.git\n[submodule \"b\"]\n\turl = git@example.com:b/c.git\n\tupdate = rebase\n"),
		modules("dotted name, comments, CRLF", "", "# c\r\n[submodule \"a.b\"] ; c\r\n\turl = \"./x y\" # c\r\n"),
		modules("other sections", "", "[core]\n\tbare\n[submodule]\n\turl = -x\n"),
		modules("option url", GitmodulesURL, hostileURL),
		modules("quoted option url", GitmodulesURL, "[submodule \"x\"]\nurl = \"-oProxyCommand=sh\"\n"),
		modules("continued option url", GitmodulesURL, "[submodule \"x\"]\nurl = \\\n--upload-pack=x\n"),
		modules("upper-case keys", GitmodulesURL, "[SubModule \"x\"]\n\tURL = -x\n"),
		modules("old-style header", GitmodulesURL, "[submodule.x]\n\turl = -x\n"),
		modules("option path", GitmodulesPath, "[submodule \"x\"]\n\tpath = -x\n\turl = https://example.com/x\n"),
		modules("update command", GitmodulesUpdate, "[submodule \"x\"]\n\tupdate = !touch /tmp/pwned\n"),
		modules("dot-dot name", GitmodulesName, "[submodule \"../../modules/evil\"]\n\turl = https://example.com/x\n"),
		modules("bare dot-dot name", GitmodulesName, "[submodule \"..\"]\n\tpath = x\n"),
		modules("backslash dot-dot name", GitmodulesName, "[submodule \"a\\\\..\"]\n\tpath = x\n"),
		modules("empty name", GitmodulesName, "[submodule \"\"]\n\tpath = x\n"),
		modules("newline in relative url", GitmodulesURL, "[submodule \"x\"]\n\turl = ./x%0ahost=evil\n"),
		modules("climbing relative url", GitmodulesURL, "[submodule \"x\"]\n\turl = ../../:evil.example.com/x\n"),
		modules("newline in https url", GitmodulesURL, "[submodule \"x\"]\n\turl = https://example.com%0ahost=evil/x\n"),
		modules("scheme-less curl url", GitmodulesURL, "[submodule \"x\"]\n\turl = http::example.com/x\n"),
		modules("empty host", GitmodulesURL, "[submodule \"x\"]\n\turl = https:///x\n"),
		modules("error after bad url", GitmodulesURL, hostileURL+"[oops\n"),
		{name: "gitmodules/short name", kind: gitobj.KindTree, file: Gitmodules, entry: "GITMOD~1", text: hostileURL, want: GitmodulesURL},
		{name: "gitmodules/hfs name", kind: gitobj.KindTree, file: Gitmodules, entry: ".gitmodules\u200c", text: hostileURL, want: GitmodulesURL},
		{name: "gitmodules/backslash name", kind: gitobj.KindTree, file: Gitmodules, entry: "a\\.gitmodules", text: hostileURL, want: GitmodulesURL},
		{name: "gitmodules/executable", kind: gitobj.KindTree, file: Gitmodules, mode: "100755", text: hostileURL, want: GitmodulesURL},
		{name: "gitmodules/does not parse", kind: gitobj.KindTree, file: Gitmodules, text: "[submodule \"x\"\n\turl = -x\n", want: GitmodulesParse, stricter: true},
		{name: "gitmodules/byte order mark", kind: gitobj.KindTree, file: Gitmodules, text: "\xef\xbb\xbf" + hostileURL, want: GitmodulesParse, stricter: true},
		{name: "gitmodules/NUL", kind: gitobj.KindTree, file: Gitmodules, text: "[submodule \"x\"]\n\tpath = x\x00\n", want: GitmodulesParse, stricter: true},

		// .gitattributes content.
		attrs("lfs", "", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
		attrs("long line just fits", "", "*.x "+strings.Repeat("a", MaxGitattributesLine-5)+"\n"),
		attrs("line too long", GitattributesLineLength, "*.x "+strings.Repeat("a", MaxGitattributesLine)+"\n"),
		attrs("last line too long", GitattributesLineLength, "*.x -text\n"+strings.Repeat("a", MaxGitattributesLine)),
		{name: "gitattributes/short name", kind: gitobj.KindTree, file: Gitattributes, entry: "GITATT~1", text: strings.Repeat("a", 3000), want: GitattributesLineLength},

		// Commits.
		commit("plain", "", commitText(okIdent)),
		commit("root", "", "tree {T}\nauthor "+okIdent+"\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("extra headers", "", "tree {T}\nauthor "+okIdent+"\ncommitter "+okIdent+"\nencoding ISO-8859-1\ngpgsig -----BEGIN PGP SIGNATURE-----\n x\n -----END PGP SIGNATURE-----\n\nmsg\n"),
		commit("no message", "", "tree {T}\nauthor "+okIdent+"\ncommitter "+okIdent+"\n"),
		commit("upper-case tree id", "", "tree "+strings.ToUpper(emptyTree.ID().String())+"\nauthor "+okIdent+"\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("NUL in message", NulInCommit, commitText(okIdent)+"a\x00b\n"),
		commit("NUL in header", NulInHeader, "tree {T}\nauthor "+okIdent+"\ncommitter "+okIdent+"\nx \x00\n\nmsg\n"),
		commit("unterminated", UnterminatedHeader, "tree {T}"),
		commit("empty", UnterminatedHeader, ""),
		commit("no tree", MissingTree, "author "+okIdent+"\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("bad tree id", BadTreeSha1, "tree 123\nauthor "+okIdent+"\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("bad parent id", BadParentSha1, "tree {T}\nparent zz\nauthor "+okIdent+"\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("no author", MissingAuthor, "tree {T}\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("two authors", MultipleAuthors, "tree {T}\nauthor "+okIdent+"\nauthor "+okIdent+"\ncommitter "+okIdent+"\n\nmsg\n"),
		commit("no committer", MissingCommitter, "tree {T}\nauthor "+okIdent+"\n\nmsg\n"),
		commit("bad committer", BadTimezone, "tree {T}\nauthor "+okIdent+"\ncommitter A <a@x> 1 +01\n\nmsg\n"),
		ident("empty name", "", " <a@example.org> 1700000000 +0000"),
		ident("date zero", "", "A <a@x> 0 +0000"),
		ident("largest date", "", "A <a@x> 9223372036854775807 +0000"),
		ident("odd zone", "", "A <a@x> 1 +9999"),
		ident("no name", MissingNameBeforeEmail, "<a@x> 1 +0000"),
		ident("no email", MissingEmail, "A 1 +0000"),
		ident("no space before email", MissingSpaceBeforeEmail, "A<a@x> 1 +0000"),
		ident("bad name", BadName, "A> <a@x> 1 +0000"),
		ident("bad email", BadEmail, "A <a@x 1 +0000"),
		ident("no space before date", MissingSpaceBeforeDate, "A <a@x>1 +0000"),
		ident("zero-padded date", ZeroPaddedDate, "A <a@x> 01 +0000"),
		ident("overflowing date", BadDateOverflow, "A <a@x> 99999999999999999999 +0000"),
		ident("date past time_t", BadDateOverflow, "A <a@x> 9223372036854775808 +0000"),
		ident("letters for date", BadDate, "A <a@x> abc +0000"),
		ident("no zone", BadDate, "A <a@x> 1"),
		ident("short zone", BadTimezone, "A <a@x> 1 +000"),
		ident("unsigned zone", BadTimezone, "A <a@x> 1 0000"),
		ident("zone and more", BadTimezone, "A <a@x> 1 +0000 x"),
		{name: "commit/ident/blank before date", kind: gitobj.KindCommit, text: commitText("A <a@x>  1 +0000"), want: BadDate, stricter: true},
		{name: "commit/ident/signed date", kind: gitobj.KindCommit, text: commitText("A <a@x> +1 +0000"), want: BadDate, stricter: true},

		// Tags.
		tag("plain", "", "object {C}\ntype commit\ntag v1\ntagger "+okIdent+"\n\nmsg\n"),
		tag("no tagger", "", "object {C}\ntype commit\ntag v1\n\nmsg\n"),
		tag("odd tag name", "", "object {C}\ntype commit\ntag a..b\ntagger "+okIdent+"\n\nmsg\n"),
		tag("no message", "", "object {C}\ntype commit\ntag v1\ntagger "+okIdent+"\n"),
		tag("NUL in message", "", "object {C}\ntype commit\ntag v1\ntagger "+okIdent+"\n\na\x00b\n"),
		tag("no object", MissingObject, "type commit\ntag v1\ntagger "+okIdent+"\n\nmsg\n"),
		tag("bad object id", BadObjectSha1, "object {C}x\ntype commit\ntag v1\ntagger "+okIdent+"\n\nmsg\n"),
		tag("no type", MissingTypeEntry, "object {C}\ntag v1\ntagger "+okIdent+"\n\nmsg\n"),
		tag("bad type", BadType, "object {C}\ntype commits\ntag v1\ntagger "+okIdent+"\n\nmsg\n"),
		tag("no tag line", MissingTagEntry, "object {C}\ntype commit\ntagger "+okIdent+"\n\nmsg\n"),
		tag("bad tagger", BadEmail, "object {C}\ntype commit\ntag v1\ntagger A <a 1 +0000\n\nmsg\n"),
		tag("NUL in header", NulInHeader, "object {C}\ntype commit\ntag v\x001\ntagger "+okIdent+"\n\nmsg\n"),
	}
}

// build returns the case's object and the other objects it needs.
func (c oracleCase) build() (gitobj.Object, []gitobj.Object) {
	var extra []gitobj.Object
	switch {
	case c.file != 0:
		blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte(c.text)}
		extra = append(extra, blob)
		name, mode := c.entry, c.mode
		if name == "" {
			name = c.file.String()
		}
		if mode == "" {
			mode = "100644"
		}
		return gitobj.Object{Kind: gitobj.KindTree, Data: rawTree(blob.ID(), ent{mode, name, "blob"})}, extra
	case c.raw != nil:
		return gitobj.Object{Kind: c.kind, Data: c.raw}, nil
	case c.kind == gitobj.KindTree:
		return gitobj.Object{Kind: c.kind, Data: rawTree(gitobj.ZeroID, c.tree...)}, nil
	}
	text := strings.NewReplacer("{T}", emptyTree.ID().String(), "{C}", baseCommit.ID().String()).Replace(c.text)
	return gitobj.Object{Kind: c.kind, Data: []byte(text)}, nil
}

// check runs the checker on o as a receiving hub would: the object, then
// the special files it names, looked up among objs.
func check(o gitobj.Object, objs []gitobj.Object) error {
	specials, err := CheckObject(o)
	if err != nil {
		return err
	}
	for _, s := range specials {
		for _, ob := range objs {
			if ob.ID() == s.ID {
				if err := s.Check(ob); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// gitMsgID finds the message ids in what git fsck and index-pack print:
// "error in tree <id>: hasDotgit: …", "error: object <id>: hasDotgit: …".
var gitMsgID = regexp.MustCompile(`[0-9a-f]{40}: ([a-z][A-Za-z0-9]+): `)

func msgID(err error) MsgID {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.ID
	}
	return MsgID("not an *Error: " + err.Error())
}

// TestAgainstGit checks every case with the checker and with git: what
// the checker accepts, `git fsck --strict` and `git index-pack --strict`
// (what receive.fsckObjects and fetch.fsckObjects run) accept; what git
// refuses, the checker refuses with the same message id.
func TestAgainstGit(t *testing.T) {
	testenv.MustHaveExecPath(t, "git")
	cases := oracleCases()
	if len(cases) < 60 {
		t.Fatalf("only %d oracle cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o, extra := c.build()
			all := append([]gitobj.Object{emptyBlob, emptyTree, baseCommit, o}, extra...)
			got := msgID(check(o, all))
			if got != c.want {
				t.Errorf("checker: %q, want %q", got, c.want)
			}
			refused, out := gitRefuses(t, o, extra)
			// git names the check, unless its object parser gave up first.
			ids := map[MsgID]bool{}
			for _, m := range gitMsgID.FindAllStringSubmatch(out, -1) {
				ids[MsgID(m[1])] = true
			}
			switch {
			case c.want == "" && refused:
				t.Errorf("the checker accepts what git refuses:\n%s", out)
			case c.want != "" && !c.stricter && !refused:
				t.Errorf("git accepts what the checker refuses as %s (mark it stricter if that is deliberate):\n%s", c.want, out)
			case c.want != "" && !c.stricter && len(ids) > 0 && !ids[c.want]:
				t.Errorf("git reports %v, not %s:\n%s", ids, c.want, out)
			case c.stricter && refused:
				t.Logf("git refuses this too now; stricter can go:\n%s", out)
			}
		})
	}
}

// gitRefuses writes o and extra into a scratch repository (with the
// shared objects) and reports whether git's fsck --strict or index-pack
// --strict refuses them, with their output.
func gitRefuses(t *testing.T, o gitobj.Object, extra []gitobj.Object) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo.git")
	git := func(args ...string) (bool, string) {
		cmd := exec.CommandContext(t.Context(), "git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_DIR="+repo)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("git %v: %v", args, err)
		}
		return err != nil, string(out)
	}
	// A bare repository by hand: one git process fewer per case.
	for _, d := range []string{"objects", "refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"HEAD": "ref: refs/heads/main\n", "config": "[core]\n\trepositoryformatversion = 0\n\tbare = true\n"} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs := append([]gitobj.Object{emptyBlob, emptyTree, baseCommit, o}, extra...)
	for _, ob := range objs {
		writeLoose(t, repo, ob)
	}
	fsckFailed, fsckOut := git("fsck", "--strict", "--no-dangling")

	// The same objects as a pushed pack, checked as receive.fsckObjects does.
	pack := filepath.Join(dir, "push.pack")
	var buf bytes.Buffer
	pw, err := packfile.NewWriter(&buf, uint32(1+len(extra)))
	if err != nil {
		t.Fatal(err)
	}
	for _, ob := range append([]gitobj.Object{o}, extra...) {
		if err := pw.Write(ob); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	packFailed, packOut := git("index-pack", "--strict", "-o", filepath.Join(dir, "push.idx"), pack)
	return fsckFailed || packFailed, "git fsck --strict:\n" + fsckOut + "git index-pack --strict:\n" + packOut
}

// writeLoose stores o as a loose object of repo.
func writeLoose(t *testing.T, repo string, o gitobj.Object) {
	t.Helper()
	id := o.ID().String()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	fmt.Fprintf(zw, "%s %d\x00", o.Kind, len(o.Data))
	zw.Write(o.Data)
	zw.Close()
	dir := filepath.Join(repo, "objects", id[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, id[2:])); err == nil {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, id[2:]), buf.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPath(t *testing.T) {
	cases := []struct {
		path string
		want MsgID
	}{
		{"README.md", ""},
		{"a/b/c.txt", ""},
		{".gitmodules", ""},
		{"sub/.gitattributes", ""},
		{".github/workflows/ci.yml", ""},
		{"git~2/x", ""},
		{"/abs", FullPathname},
		{"", EmptyName},
		{"a//b", EmptyName},
		{"a/", EmptyName},
		{"./a", HasDot},
		{"a/../b", HasDotdot},
		{".git/config", HasDotgit},
		{"a/.GIT/hooks/post-checkout", HasDotgit},
		{"git~1/config", HasDotgit},
		{".git. /config", HasDotgit},
		{".git::$INDEX_ALLOCATION/config", HasDotgit},
		{".g\u200cit/config", HasDotgit},
		{"x/.gi\ufefft", HasDotgit},
		{"a\\.git/config", HasDotgit},
		{".gitmodules/x", GitmodulesBlob},
		{"GITMOD~1/x", GitmodulesBlob},
		{".gitattributes/x", GitattributesBlob},
	}
	for _, c := range cases {
		if got := msgID(CheckPath(c.path)); got != c.want {
			t.Errorf("CheckPath(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestIsSpecial(t *testing.T) {
	cases := []struct {
		path string
		want File
	}{
		{"README.md", 0},
		{".gitmodules", Gitmodules},
		{"sub/.GITMODULES", Gitmodules},
		{"gitmod~1", Gitmodules},
		{".gitmodules\u200c", Gitmodules},
		{"a\\.gitmodules", Gitmodules},
		{".gitmodules/x", 0},
		{".gitattributes", Gitattributes},
		{"data/.gitattributes ", Gitattributes},
		{"gitatt~1", Gitattributes},
		{".gitattributesx", 0},
	}
	for _, c := range cases {
		got, ok := IsSpecial(c.path)
		if got != c.want || ok != (c.want != 0) {
			t.Errorf("IsSpecial(%q) = %v, %v, want %v", c.path, got, ok, c.want)
		}
	}
}

func TestSpecialCheck(t *testing.T) {
	mod := Special{File: Gitmodules, Name: ".gitmodules"}
	attr := Special{File: Gitattributes, Name: ".gitattributes"}
	cases := []struct {
		name string
		err  error
		want MsgID
	}{
		{"gitmodules blob", mod.Check(gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("[submodule \"a\"]\n\tpath = a\n")}), ""},
		{"gitmodules tree", mod.Check(gitobj.Object{Kind: gitobj.KindTree}), GitmodulesBlob},
		{"gitmodules too large", mod.TooLarge(), GitmodulesLarge},
		{"gitattributes commit", attr.Check(baseCommit), GitattributesBlob},
		{"gitattributes too large", attr.TooLarge(), GitattributesLarge},
		{"gitattributes over the size limit", attr.Check(gitobj.Object{Kind: gitobj.KindBlob, Data: make([]byte, MaxGitattributesSize+1)}), GitattributesLarge},
		{"gitattributes long line after NUL", attr.Check(gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("a\x00" + strings.Repeat("b", 4000))}), ""},
	}
	for _, c := range cases {
		if got := msgID(c.err); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func FuzzCheckTree(f *testing.F) {
	for _, c := range oracleCases() {
		if c.kind == gitobj.KindTree {
			o, _ := c.build()
			f.Add(o.Data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		specials, err := CheckTree(data)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// What fsck accepts, Agora's decoder reads, and (but for the
		// legacy mode it normalises) writes back byte for byte.
		ents, err := gitobj.DecodeTree(data)
		if err != nil {
			t.Fatalf("accepted, but DecodeTree: %v", err)
		}
		enc, err := gitobj.EncodeTree(ents)
		if err != nil {
			t.Fatalf("accepted, but EncodeTree: %v", err)
		}
		if !bytes.Equal(enc, data) && !bytes.Contains(data, []byte("100664 ")) {
			t.Fatalf("round trip changed the tree:\n%q\n%q", data, enc)
		}
		for _, s := range specials {
			found := false
			for _, e := range ents {
				found = found || e.Name == s.Name && e.ID == s.ID
			}
			if !found {
				t.Fatalf("special %+v is not an entry", s)
			}
		}
	})
}

func FuzzCheckCommit(f *testing.F) {
	for _, c := range oracleCases() {
		if c.kind == gitobj.KindCommit || c.kind == gitobj.KindTag {
			o, _ := c.build()
			f.Add(o.Data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, check := range []func([]byte) error{CheckCommit, CheckTag} {
			if err := check(data); err != nil {
				if _, ok := errors.AsType[*Error](err); !ok {
					t.Fatalf("untyped error %v", err)
				}
			}
		}
		if CheckCommit(data) != nil || !bytes.Contains(data, []byte("\n\n")) {
			return
		}
		// An accepted commit with a message decodes, with the same tree.
		c, err := gitobj.DecodeCommit(data)
		if err != nil {
			t.Fatalf("accepted, but DecodeCommit: %v", err)
		}
		if want, _ := gitobj.ParseID(string(data[5:45])); c.Tree != want {
			t.Fatalf("tree %s, want %s", c.Tree, want)
		}
	})
}

func FuzzCheckGitmodules(f *testing.F) {
	for _, c := range oracleCases() {
		if c.file == Gitmodules {
			f.Add([]byte(c.text))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckGitmodules(data)
		if err == nil {
			return
		}
		e, ok := errors.AsType[*Error](err)
		if !ok {
			t.Fatalf("untyped error %v", err)
		}
		switch e.ID {
		case GitmodulesParse, GitmodulesName, GitmodulesURL, GitmodulesPath, GitmodulesUpdate:
		default:
			t.Fatalf("unexpected id %s", e.ID)
		}
	})
}
