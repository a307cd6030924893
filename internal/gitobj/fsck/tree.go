package fsck

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
)

// File is a file whose content git's fsck checks, wherever a tree names
// it.
type File uint8

// The checked files.
const (
	Gitmodules    File = iota + 1 // submodule configuration: URLs, paths, names
	Gitattributes                 // attributes: bounded size and line length
)

// String returns the file's name.
func (f File) String() string {
	switch f {
	case Gitmodules:
		return ".gitmodules"
	case Gitattributes:
		return ".gitattributes"
	}
	return "unknown file"
}

// Special is a tree entry whose object must be checked as a File: an
// entry that a checkout on some file system writes to .gitmodules or
// .gitattributes ("GITMOD~1", ".gitmodules ", ".gitmodules\u200c"…).
type Special struct {
	File File
	Name string // the entry's name, as the tree spells it
	ID   gitobj.ID
}

// Check checks the object s names, which must be a blob with valid
// content for its File.
func (s Special) Check(o gitobj.Object) error {
	if o.Kind != gitobj.KindBlob {
		return s.notBlob(o.Kind.String())
	}
	switch s.File {
	case Gitmodules:
		return CheckGitmodules(o.Data)
	case Gitattributes:
		return CheckGitattributes(o.Data)
	}
	return nil
}

// TooLarge returns the error git reports for the object s names when it
// is too large to be loaded and checked.
func (s Special) TooLarge() error {
	if s.File == Gitattributes {
		return errorf(GitattributesLarge, "%s is too large to parse", s.File)
	}
	return errorf(GitmodulesLarge, "%s is too large to parse", s.File)
}

func (s Special) notBlob(what string) *Error {
	id := GitmodulesBlob
	if s.File == Gitattributes {
		id = GitattributesBlob
	}
	return errorf(id, "non-blob found at %s (entry %s is a %s)", s.File, strconv.Quote(s.Name), what)
}

// Modes as git's tree parser reads them: any octal number.
const (
	modeTypeMask = 0o170000
	modeSymlink  = 0o120000
	modeLegacy   = 0o100664
)

// treeFlags are the problems git notes while walking a tree and reports
// after it, in this order, each with its message.
var treeFlags = []struct {
	id  MsgID
	msg string
}{
	{NullSha1, "contains entries pointing to null sha1"},
	{FullPathname, "contains full pathnames"},
	{HasDot, "contains '.'"},
	{HasDotdot, "contains '..'"},
	{HasDotgit, "contains '.git'"},
	{ZeroPaddedFilemode, "contains zero-padded file modes"},
	{BadFilemode, "contains bad file modes"},
	{DuplicateEntries, "contains duplicate file entries"},
	{TreeNotSorted, "not properly sorted"},
}

// CheckTree checks the content of a tree object as git's fsck does: it
// must parse, every name must be a single path component that no file
// system reads as ".git", entries must be unique and sorted in git's
// order, modes must be the ones git writes without zero padding, and no
// entry may point at the null id. It returns the entries whose blobs must
// be checked too ([Special]).
func CheckTree(data []byte) ([]Special, error) {
	var (
		specials []Special
		inline   *Error           // reported while walking, before the flags
		flagged  map[MsgID]string // flag → the first entry behind it
		prevName string
		prevDir  bool
	)
	flag := func(id MsgID, name string) {
		if flagged == nil {
			flagged = map[MsgID]string{}
		}
		if _, ok := flagged[id]; !ok {
			flagged[id] = strconv.Quote(name)
		}
	}
	seen := map[string]bool{}
	for first := true; len(data) > 0; first = false {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 {
			return nil, errorf(BadTree, "cannot be parsed as a tree: malformed mode in tree entry")
		}
		modeStr := data[:sp]
		var mode uint64
		for _, c := range modeStr {
			if c < '0' || c > '7' {
				return nil, errorf(BadTree, "cannot be parsed as a tree: malformed mode in tree entry")
			}
			mode = mode<<3 | uint64(c-'0')
		}
		rest := data[sp+1:]
		nul := bytes.IndexByte(rest, 0)
		if nul < 0 || len(rest) < nul+1+len(gitobj.ID{}) {
			return nil, errorf(BadTree, "cannot be parsed as a tree: truncated entry")
		}
		if nul == 0 {
			return nil, errorf(BadTree, "cannot be parsed as a tree: empty filename in tree entry")
		}
		name := string(rest[:nul])
		var id gitobj.ID
		copy(id[:], rest[nul+1:])
		data = rest[nul+1+len(id):]

		isDir := mode&modeTypeMask == uint64(gitobj.ModeTree)
		if id.IsZero() {
			flag(NullSha1, name)
		}
		if strings.IndexByte(name, '/') >= 0 {
			flag(FullPathname, name)
		}
		if name == "." {
			flag(HasDot, name)
		}
		if name == ".." {
			flag(HasDotdot, name)
		}
		if gitobj.IsDotGit(name) {
			flag(HasDotgit, name)
		}
		if modeStr[0] == '0' {
			flag(ZeroPaddedFilemode, name)
		}
		if gitobj.IsDotGitmodules(name) {
			specials, inline = special(specials, inline, Gitmodules, name, id, mode)
		}
		if gitobj.IsDotGitattributes(name) {
			specials, inline = special(specials, inline, Gitattributes, name, id, mode)
		}
		// NTFS also splits names at backslashes: "a\.git" is a ".git"
		// inside "a" there.
		for part := name; ; {
			_, after, ok := strings.Cut(part, "\\")
			if !ok {
				break
			}
			part = after
			if gitobj.IsDotGit(part) {
				flag(HasDotgit, name)
			}
			if gitobj.IsDotGitmodules(part) {
				specials, inline = special(specials, inline, Gitmodules, name, id, mode)
			}
		}
		switch m := gitobj.Mode(mode); {
		case len(modeStr) > 7:
			flag(BadFilemode, name)
		case m == gitobj.ModeFile, m == gitobj.ModeExec, m == gitobj.ModeSymlink, m == gitobj.ModeTree, m == gitobj.ModeGitlink:
		case m == modeLegacy:
			// Early git wrote group-writable files; git accepts them.
		default:
			// git only notes other modes; Agora refuses them, since its
			// tree decoder (like every other git tool) cannot say what
			// such an entry is.
			flag(BadFilemode, name)
		}
		if seen[name] {
			flag(DuplicateEntries, name)
		} else if !first && !before(prevName, prevDir, name, isDir) {
			flag(TreeNotSorted, name)
		}
		seen[name] = true
		prevName, prevDir = name, isDir
	}
	if inline != nil {
		return nil, inline
	}
	for _, f := range treeFlags {
		if name, ok := flagged[f.id]; ok {
			return nil, errorf(f.id, "%s (entry %s)", f.msg, name)
		}
	}
	return specials, nil
}

// special records a .gitmodules or .gitattributes entry. A symbolic link
// named .gitmodules is refused outright, since git would follow it out of
// the tree when reading submodule configuration; a .gitattributes link is
// only noted by git (which never reads attributes through a link). A
// folder or a submodule under either name can never be a valid file.
func special(specials []Special, inline *Error, f File, name string, id gitobj.ID, mode uint64) ([]Special, *Error) {
	s := Special{File: f, Name: name, ID: id}
	var err *Error
	switch {
	case mode&modeTypeMask == modeSymlink && f == Gitmodules:
		err = errorf(GitmodulesSymlink, ".gitmodules is a symbolic link (entry %s)", strconv.Quote(name))
	case mode&modeTypeMask == modeSymlink:
	case gitobj.Mode(mode) == gitobj.ModeTree:
		err = s.notBlob("tree")
	case gitobj.Mode(mode) == gitobj.ModeGitlink:
		err = s.notBlob("submodule")
	default:
		specials = append(specials, s)
	}
	if inline == nil {
		inline = err
	}
	return specials, inline
}

// before reports whether entry a sorts strictly before entry b in a tree:
// names compare bytewise, a folder's as if it ended in '/'. Equal names
// are duplicates, not an order, and never reach here.
func before(a string, aDir bool, b string, bDir bool) bool {
	n := min(len(a), len(b))
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c < 0
	}
	next := func(s string, dir bool) byte {
		if len(s) > n {
			return s[n]
		}
		if dir {
			return '/'
		}
		return 0
	}
	return next(a, aDir) < next(b, bDir)
}
