package fsck

import (
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
)

// CheckPath checks a '/'-separated path that is about to become tree
// entries (a file of the commit API): each component must pass the name
// checks of [CheckTree], and the folders on the way must not be named
// like .gitmodules or .gitattributes, which git's fsck expects to be
// files. It does not check what is Agora's policy rather than git's
// (encoding, length, control characters): see [gitobj.ValidatePath].
func CheckPath(path string) error {
	if strings.HasPrefix(path, "/") {
		return errorf(FullPathname, "path %s is absolute", strconv.Quote(path))
	}
	for rest := path; ; {
		name, after, isDir := strings.Cut(rest, "/")
		rest = after
		switch {
		case name == "":
			return errorf(EmptyName, "path %s has an empty component", strconv.Quote(path))
		case name == ".":
			return errorf(HasDot, "path %s contains '.'", strconv.Quote(path))
		case name == "..":
			return errorf(HasDotdot, "path %s contains '..'", strconv.Quote(path))
		case dotGitAnywhere(name):
			return errorf(HasDotgit, "path %s contains '.git' (%s, which Windows or macOS reads as .git)", strconv.Quote(path), strconv.Quote(name))
		case isDir && gitobj.IsDotGitmodules(name):
			return errorf(GitmodulesBlob, "path %s makes a folder of .gitmodules (%s)", strconv.Quote(path), strconv.Quote(name))
		case isDir && gitobj.IsDotGitattributes(name):
			return errorf(GitattributesBlob, "path %s makes a folder of .gitattributes (%s)", strconv.Quote(path), strconv.Quote(name))
		}
		if !isDir {
			return nil
		}
	}
}

// dotGitAnywhere reports whether name, or a part of it after a backslash
// (a separator on NTFS), is read as .git.
func dotGitAnywhere(name string) bool {
	for {
		if gitobj.IsDotGit(name) {
			return true
		}
		var ok bool
		if _, name, ok = strings.Cut(name, "\\"); !ok {
			return false
		}
	}
}

// IsSpecial reports which checked file, if any, a path names: a path
// whose last component a checkout writes to .gitmodules or .gitattributes
// (or, on NTFS, whose part after a backslash does), and whose content
// must then pass [Special.Check].
func IsSpecial(path string) (File, bool) {
	name := path[strings.LastIndexByte(path, '/')+1:]
	for part := name; ; {
		if gitobj.IsDotGitmodules(part) {
			return Gitmodules, true
		}
		var ok bool
		if _, part, ok = strings.Cut(part, "\\"); !ok {
			break
		}
	}
	if gitobj.IsDotGitattributes(name) {
		return Gitattributes, true
	}
	return 0, false
}
