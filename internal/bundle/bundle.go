// Package bundle moves repositories into networks without internet (the
// air-gap half of issue 14): Export writes named repositories, their git
// objects and their LFS content into one file; Import checks every byte
// and the signature of such a file before anything of it becomes visible
// in a hub, which then holds the same commit ids; Verify checks without
// importing.
//
// The file is a POSIX tar, written in this order:
//
//	manifest.json   what the bundle holds: each repository's refs, the
//	                git object ids of its pack and the LFS objects it
//	                references; each pack's SHA-256 and size; each LFS
//	                object's size (its name is its SHA-256)
//	manifest.sig    optional: an ed25519 signature of manifest.json
//	git/N.pack      repository N's git objects, whole (no deltas)
//	lfs/OID         each LFS object once, however many repositories use it
//
// Why a tar with the manifest first: it streams (export to a pipe or a
// tape, import from one) in a single pass; the importer learns every hash
// and checks the signature before it reads any content; standard tools
// can list and extract it; and nothing is compressed, because weights do
// not compress and packs are already zlib streams. Every content entry is
// bound to the signed manifest by its SHA-256 (git objects additionally by
// their ids, which the importer recomputes), so one signature covers the
// whole file.
//
// What the package must not do: make anything visible before the whole
// file was checked (the import lands in one metadata transaction, after
// the last byte), or trust a name: the importer rehashes everything.
package bundle

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Format is the manifest's format name.
const Format = "agora-bundle/1"

// Entry names.
const (
	manifestName = "manifest.json"
	sigName      = "manifest.sig"
)

// ErrInvalid: the bundle is malformed, tampered with, or not signed by a
// trusted key. Nothing of it was imported.
var ErrInvalid = errors.New("invalid bundle")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Manifest describes a bundle.
type Manifest struct {
	Format  string    `json:"format"`
	Created time.Time `json:"created"`
	Repos   []Repo    `json:"repos"`
	LFS     []LFS     `json:"lfs"`
}

// Repo is one repository of a bundle.
type Repo struct {
	Type          string            `json:"type"` // "model" or "dataset"
	ID            string            `json:"id"`   // "namespace/name"
	Private       bool              `json:"private"`
	Gated         string            `json:"gated,omitempty"`
	DefaultBranch string            `json:"defaultBranch"`
	Refs          map[string]string `json:"refs"` // full ref name → object id
	Pack          File              `json:"pack"`
	// Objects are the ids of every git object of the pack, sorted.
	Objects []string `json:"objects"`
	// LFS are the SHA-256 of the LFS objects the repository's pointers
	// name that the bundle carries, sorted.
	LFS []string `json:"lfs"`
}

// File is a content entry of the tar.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// LFS is an LFS object of the bundle, stored at lfs/OID.
type LFS struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

// signature is manifest.sig.
type signature struct {
	Alg string `json:"alg"` // "ed25519"
	Key string `json:"key"` // base64 public key
	Sig string `json:"sig"` // base64 signature of manifest.json
}

// KeyID is a short fingerprint of a public key, for messages.
func KeyID(k ed25519.PublicKey) string {
	s := sha256.Sum256(k)
	return "ed25519:" + hex.EncodeToString(s[:8])
}

// GenerateKey writes a new signing key to path (PKCS #8 PEM, mode 0600)
// and its public key to path+".pub" (PKIX PEM).
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	pder, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// ReadPrivateKey reads a key GenerateKey wrote.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return ek, nil
}

// ReadPublicKey reads a public key (PKIX PEM).
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s: not a PEM public key", path)
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key", path)
	}
	return ek, nil
}

func sign(key ed25519.PrivateKey, manifest []byte) ([]byte, error) {
	return json.Marshal(signature{Alg: "ed25519", Key: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)),
		Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(key, manifest))})
}

// checkSignature verifies manifest.sig against manifest.json and returns
// the signing key.
func checkSignature(manifest, sigData []byte) (ed25519.PublicKey, error) {
	var s signature
	if err := json.Unmarshal(sigData, &s); err != nil || s.Alg != "ed25519" {
		return nil, invalid("unreadable signature")
	}
	key, err := base64.StdEncoding.DecodeString(s.Key)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, invalid("bad signing key")
	}
	sig, err := base64.StdEncoding.DecodeString(s.Sig)
	if err != nil || !ed25519.Verify(key, manifest, sig) {
		return nil, invalid("the signature does not match the manifest")
	}
	return key, nil
}

// check validates a manifest's shape (the hashes are checked against the
// content as it is read).
func (m *Manifest) check() error {
	if m.Format != Format {
		return invalid("format %q, want %q", m.Format, Format)
	}
	seen := map[string]bool{}
	lfs := map[string]bool{}
	for _, o := range m.LFS {
		if !isHex(o.OID, 64) || o.Size < 0 || lfs[o.OID] {
			return invalid("bad LFS entry %q", o.OID)
		}
		lfs[o.OID] = true
	}
	for i, r := range m.Repos {
		if r.Type != "model" && r.Type != "dataset" {
			return invalid("repository %d: type %q", i, r.Type)
		}
		ns, name, ok := strings.Cut(r.ID, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return invalid("repository %d: id %q", i, r.ID)
		}
		key := r.Type + "/" + strings.ToLower(r.ID)
		if seen[key] {
			return invalid("repository %s twice", r.ID)
		}
		seen[key] = true
		if r.Pack.Path != fmt.Sprintf("git/%d.pack", i) || !isHex(r.Pack.SHA256, 64) || r.Pack.Size <= 0 {
			return invalid("repository %s: bad pack entry", r.ID)
		}
		if len(r.Refs) == 0 || r.DefaultBranch == "" {
			return invalid("repository %s: no refs", r.ID)
		}
		for name, id := range r.Refs {
			if !strings.HasPrefix(name, "refs/") || !isHex(id, 40) {
				return invalid("repository %s: bad ref %q", r.ID, name)
			}
		}
		for _, id := range r.Objects {
			if !isHex(id, 40) {
				return invalid("repository %s: bad object id", r.ID)
			}
		}
		for _, o := range r.LFS {
			if !lfs[o] {
				return invalid("repository %s: LFS object %s is not in the bundle", r.ID, o)
			}
		}
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
