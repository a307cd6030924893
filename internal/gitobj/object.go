// Package gitobj encodes and decodes git objects (blobs, trees, commits,
// annotated tags), computes their SHA-1 ids exactly as git does, reads and
// writes git-lfs pointer files, and edits trees.
//
// It is the versioning core of Agora (DESIGN.md decision 1): every id the API
// returns is the id `git clone` shows, which the tests check against the git
// binary. The package is pure: it does no I/O except through the tree reader
// that an [Editor] is handed, and it imports nothing outside the standard
// library.
package gitobj

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// ID is a git object id (SHA-1).
type ID [20]byte

// ZeroID is the all-zero id git uses for "no object" (e.g. a ref that does
// not exist yet in a receive-pack command).
var ZeroID ID

// String returns the id as 40 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is [ZeroID].
func (id ID) IsZero() bool { return id == ZeroID }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ErrInvalid is wrapped by every decoding error of this package.
var ErrInvalid = errors.New("invalid git object")

// ParseID parses 40 hex digits (either case).
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 40 {
		return id, fmt.Errorf("%w: object id %q is not 40 hex digits", ErrInvalid, s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%w: object id %q is not hex", ErrInvalid, s)
	}
	return id, nil
}

// IsFullHexID reports whether s is exactly 40 lowercase or uppercase hex
// digits, the form a revision takes when it names a commit directly.
func IsFullHexID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// Kind is the type of a git object.
type Kind uint8

// Object kinds, numbered as in git's pack format.
const (
	KindCommit Kind = 1
	KindTree   Kind = 2
	KindBlob   Kind = 3
	KindTag    Kind = 4
)

// String returns the name git uses in object headers.
func (k Kind) String() string {
	switch k {
	case KindCommit:
		return "commit"
	case KindTree:
		return "tree"
	case KindBlob:
		return "blob"
	case KindTag:
		return "tag"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind is the inverse of [Kind.String].
func ParseKind(s string) (Kind, error) {
	switch s {
	case "commit":
		return KindCommit, nil
	case "tree":
		return KindTree, nil
	case "blob":
		return KindBlob, nil
	case "tag":
		return KindTag, nil
	}
	return 0, fmt.Errorf("%w: unknown object type %q", ErrInvalid, s)
}

// Hash returns the id git gives an object of kind k with content data:
// SHA-1 of "<kind> <len>\x00<data>".
func Hash(k Kind, data []byte) ID {
	h := NewHasher(k, int64(len(data)))
	h.Write(data)
	return h.Sum()
}

// Hasher computes an object id while the content streams through it, for
// content too large to hold in memory.
type Hasher struct {
	h interface {
		Write([]byte) (int, error)
		Sum([]byte) []byte
	}
}

// NewHasher starts hashing an object of kind k whose content is size bytes.
func NewHasher(k Kind, size int64) *Hasher {
	h := sha1.New()
	h.Write([]byte(k.String() + " " + strconv.FormatInt(size, 10) + "\x00"))
	return &Hasher{h: h}
}

// Write adds content bytes; it never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Sum returns the id of everything written so far.
func (h *Hasher) Sum() ID {
	var id ID
	copy(id[:], h.h.Sum(nil))
	return id
}

// Object is an encoded git object: its kind and its content (without the
// "<kind> <len>\x00" header).
type Object struct {
	Kind Kind
	Data []byte
}

// ID returns the object's id.
func (o Object) ID() ID { return Hash(o.Kind, o.Data) }
