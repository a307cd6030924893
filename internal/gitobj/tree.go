package gitobj

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Mode is a tree entry's file mode as git records it.
type Mode uint32

// The modes git writes in trees.
const (
	ModeFile    Mode = 0o100644
	ModeExec    Mode = 0o100755
	ModeSymlink Mode = 0o120000
	ModeTree    Mode = 0o040000
	ModeGitlink Mode = 0o160000
)

// IsTree reports whether the entry is a sub-tree.
func (m Mode) IsTree() bool { return m == ModeTree }

// IsBlob reports whether the entry points at a blob (file or symlink).
func (m Mode) IsBlob() bool { return m == ModeFile || m == ModeExec || m == ModeSymlink }

// String returns the octal form git writes in trees ("40000" for trees).
func (m Mode) String() string { return strconv.FormatUint(uint64(m), 8) }

// TreeEntry is one line of a tree object.
type TreeEntry struct {
	Mode Mode
	Name string
	ID   ID
}

// SortTree sorts entries in git's tree order: by name, comparing a sub-tree's
// name as if it ended in '/'.
func SortTree(entries []TreeEntry) {
	slices.SortFunc(entries, compareEntries)
}

func compareEntries(a, b TreeEntry) int {
	an, bn := a.Name, b.Name
	if a.Mode.IsTree() {
		an += "/"
	}
	if b.Mode.IsTree() {
		bn += "/"
	}
	return strings.Compare(an, bn)
}

// EncodeTree returns the content of a tree object holding entries, which it
// sorts in place first. Names must be valid ([ValidEntryName]) and unique.
func EncodeTree(entries []TreeEntry) ([]byte, error) {
	SortTree(entries)
	var buf bytes.Buffer
	buf.Grow(len(entries) * 40)
	for i, e := range entries {
		if err := ValidEntryName(e.Name); err != nil {
			return nil, err
		}
		if i > 0 && entries[i-1].Name == e.Name {
			return nil, fmt.Errorf("%w: duplicate tree entry %q", ErrInvalid, e.Name)
		}
		buf.WriteString(e.Mode.String())
		buf.WriteByte(' ')
		buf.WriteString(e.Name)
		buf.WriteByte(0)
		buf.Write(e.ID[:])
	}
	return buf.Bytes(), nil
}

// ValidEntryName checks one path component as git would store it.
func ValidEntryName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: bad tree entry name %q", ErrInvalid, name)
	}
	return nil
}

// DecodeTree parses the content of a tree object. It accepts what git
// accepts (including unsorted trees written by other tools) but rejects
// malformed bytes.
func DecodeTree(data []byte) ([]TreeEntry, error) {
	var out []TreeEntry
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp <= 0 || sp > 7 {
			return nil, fmt.Errorf("%w: tree entry mode", ErrInvalid)
		}
		m, err := strconv.ParseUint(string(data[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: tree entry mode %q", ErrInvalid, data[:sp])
		}
		data = data[sp+1:]
		nul := bytes.IndexByte(data, 0)
		if nul < 0 || len(data) < nul+1+20 {
			return nil, fmt.Errorf("%w: truncated tree entry", ErrInvalid)
		}
		name := string(data[:nul])
		if err := ValidEntryName(name); err != nil {
			return nil, err
		}
		var id ID
		copy(id[:], data[nul+1:nul+21])
		data = data[nul+21:]
		mode := Mode(m)
		switch mode {
		case ModeFile, ModeExec, ModeSymlink, ModeTree, ModeGitlink:
		case 0o100664: // written by old git versions; git reads it as a regular file
			mode = ModeFile
		default:
			return nil, fmt.Errorf("%w: tree entry %q has mode %o", ErrInvalid, name, m)
		}
		out = append(out, TreeEntry{Mode: mode, Name: name, ID: id})
	}
	return out, nil
}
