package gitobj

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Pointer is a git-lfs pointer: the SHA-256 and size of the real content.
type Pointer struct {
	OID  string // 64 lowercase hex
	Size int64
}

// MaxPointerSize is the size above which a blob is never read as a pointer
// (git-lfs uses the same bound).
const MaxPointerSize = 1024

const lfsVersionLine = "version https://git-lfs.github.com/spec/v1"

// Encode returns the canonical pointer text git-lfs writes.
func (p Pointer) Encode() []byte {
	return []byte(lfsVersionLine + "\noid sha256:" + p.OID + "\nsize " + strconv.FormatInt(p.Size, 10) + "\n")
}

// ValidSHA256 reports whether s is 64 lowercase hex digits.
func ValidSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			return false
		}
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ParsePointer reads a blob as a git-lfs pointer. ok is false when the blob
// is not a well-formed pointer (it is then ordinary content).
func ParsePointer(data []byte) (p Pointer, ok bool) {
	if len(data) > MaxPointerSize || !bytes.HasPrefix(data, []byte("version ")) {
		return Pointer{}, false
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 3 {
		return Pointer{}, false
	}
	v := strings.TrimPrefix(lines[0], "version ")
	if v != "https://git-lfs.github.com/spec/v1" && v != "https://hawser.github.com/spec/v1" {
		return Pointer{}, false
	}
	sawOID, sawSize := false, false
	for _, l := range lines[1:] {
		key, val, found := strings.Cut(l, " ")
		if !found {
			return Pointer{}, false
		}
		switch key {
		case "oid":
			h, ok := strings.CutPrefix(val, "sha256:")
			if !ok || !ValidSHA256(h) {
				return Pointer{}, false
			}
			p.OID, sawOID = h, true
		case "size":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 0 {
				return Pointer{}, false
			}
			p.Size, sawSize = n, true
		}
	}
	return p, sawOID && sawSize
}

// Limits on repository paths.
const (
	MaxPathLen      = 4096
	MaxComponentLen = 255
)

// ValidatePath checks a path inside a repository: relative, '/'-separated,
// valid UTF-8, no empty, "." or ".." segments, no backslash and no control
// characters. No segment may be one that some file system resolves to
// ".git" ([IsDotGit]: "GIT", "git~1", ".git.", ".g\u200cit"…), since a
// checkout would write into the git directory there; and ".gitmodules" and
// ".gitattributes" (in any spelling) may only be files, as git's fsck
// refuses them as folders.
func ValidatePath(p string) error {
	bad := func(why string) error { return fmt.Errorf("%w: path %q %s", ErrInvalid, p, why) }
	switch {
	case p == "":
		return bad("is empty")
	case len(p) > MaxPathLen:
		return bad("is too long")
	case !utf8.ValidString(p):
		return bad("is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad("is absolute")
	case strings.ContainsRune(p, '\\'):
		return bad("contains a backslash")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	for rest := p; rest != ""; {
		seg, after, isDir := strings.Cut(rest, "/")
		rest = after
		switch {
		case seg == "" || isDir && rest == "":
			return bad("has an empty segment")
		case seg == "." || seg == "..":
			return bad("has a relative segment")
		case strings.EqualFold(seg, ".git"):
			return bad("has a .git segment")
		case IsDotGit(seg):
			return bad("has a segment that Windows or macOS reads as .git (" + strconv.Quote(seg) + ")")
		case isDir && (IsDotGitmodules(seg) || IsDotGitattributes(seg)):
			return bad("uses " + strconv.Quote(seg) + " as a folder, which git reserves for a file")
		case len(seg) > MaxComponentLen:
			return bad("has a segment longer than 255 bytes")
		}
	}
	return nil
}
