package gitobj

import (
	"strings"
	"unicode/utf8"
)

// Names that a checkout may write to a file git treats specially. NTFS
// and HFS+ map many spellings onto one file: NTFS drops trailing dots and
// spaces, reads "name:stream" as the file name plus a stream, and answers
// to 8.3 short names ("GIT~1"); HFS+ ignores some Unicode code points and
// folds case. Git refuses (or checks) every such spelling wherever it
// runs, since a tree is checked out on every platform; these functions
// follow is_ntfs_dotgit, is_hfs_dotgit and friends in git's path.c and
// utf8.c so that Agora refuses exactly the names git's fsck does.

// IsDotGit reports whether a file system could resolve name, one path
// component, to ".git": writing there lets a checkout replace the
// repository's own configuration and hooks.
func IsDotGit(name string) bool {
	return isHFSDot(name, "git") || isNTFSDotGit(name)
}

// IsDotGitmodules reports whether a checkout could write name, one path
// component, to ".gitmodules", whose content configures submodules.
func IsDotGitmodules(name string) bool {
	return isHFSDot(name, "gitmodules") || isNTFSDot(name, "gitmodules", "gi7eba")
}

// IsDotGitattributes reports whether a checkout could write name, one
// path component, to ".gitattributes".
func IsDotGitattributes(name string) bool {
	return isHFSDot(name, "gitattributes") || isNTFSDot(name, "gitattributes", "gi7d29")
}

// isNTFSDotGit matches ".git" and its short name "git~1" (any case),
// followed by nothing but dots and spaces up to the end, a separator or
// the ':' of an alternate data stream.
func isNTFSDotGit(name string) bool {
	var rest string
	switch {
	case len(name) >= 4 && name[0] == '.' && strings.EqualFold(name[1:4], "git"):
		rest = name[4:]
	case len(name) >= 5 && strings.EqualFold(name[:3], "git") && name[3:5] == "~1":
		rest = name[5:]
	default:
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '/', '\\', ':':
			return true
		case '.', ' ':
		default:
			return false
		}
	}
	return true
}

// isNTFSDot matches "."+needle and the 8.3 short names NTFS may give it:
// the first six letters of needle then "~1" to "~4", or, when those are
// taken, a hashed prefix (shortPrefix) then "~" and a digit. Unlike
// isNTFSDotGit only ':' ends the name early, as in git.
func isNTFSDot(name, needle, shortPrefix string) bool {
	spacesAndDots := func(rest string) bool {
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case ':':
				return true
			case '.', ' ':
			default:
				return false
			}
		}
		return true
	}
	if len(name) > len(needle) && name[0] == '.' && strings.EqualFold(name[1:1+len(needle)], needle) {
		return spacesAndDots(name[1+len(needle):])
	}
	if len(name) >= 8 && strings.EqualFold(name[:6], needle[:6]) && name[6] == '~' && name[7] >= '1' && name[7] <= '4' {
		return spacesAndDots(name[8:])
	}
	// The fall-back short name: up to six characters of shortPrefix, '~',
	// a digit 1-9, then digits, eight characters in all.
	if len(name) < 8 {
		return false
	}
	i, sawTilde := 0, false
	for ; i < 8; i++ {
		c := name[i]
		switch {
		case sawTilde:
			if c < '0' || c > '9' {
				return false
			}
		case c == '~':
			i++
			if i >= len(name) || name[i] < '1' || name[i] > '9' {
				return false
			}
			sawTilde = true
		case i >= 6, c >= 0x80:
			return false
		case lower(c) != shortPrefix[i]:
			return false
		}
	}
	return spacesAndDots(name[i:])
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isHFSDot matches "."+needle (ASCII, lower case) compared without case
// and ignoring the code points HFS+ drops from names. Malformed UTF-8
// after the needle counts as an end, as in git: HFS+ escapes such bytes,
// and git errs on the side of refusing.
func isHFSDot(name, needle string) bool {
	next := func() (rune, bool) { // the next kept rune; false at the end or on bad UTF-8
		for name != "" {
			r, size := utf8.DecodeRuneInString(name)
			if (r == utf8.RuneError && size <= 1) || r == 0xfffe || r == 0xffff {
				return 0, false
			}
			name = name[size:]
			if !hfsIgnored(r) {
				return r, true
			}
		}
		return 0, false
	}
	if r, ok := next(); !ok || r != '.' {
		return false
	}
	for i := 0; i < len(needle); i++ {
		r, ok := next()
		if !ok || r >= 0x80 || lower(byte(r)) != needle[i] {
			return false
		}
	}
	r, ok := next()
	return !ok || r == '/'
}

// hfsIgnored reports whether HFS+ drops r from file names.
func hfsIgnored(r rune) bool {
	switch r {
	case 0x200c, 0x200d, 0x200e, 0x200f, // zero-width (non-)joiner, direction marks
		0x202a, 0x202b, 0x202c, 0x202d, 0x202e, // embeddings and overrides
		0x206a, 0x206b, 0x206c, 0x206d, 0x206e, 0x206f, // deprecated format characters
		0xfeff: // zero-width no-break space
		return true
	}
	return false
}
