package modelsig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Serialization methods.
const (
	// SerializationFiles: one resource per file, named by its path.
	SerializationFiles = "files"
	// SerializationShards: one resource per shard_size byte range of each
	// non-empty file, named "<path>:<start>:<end>".
	SerializationShards = "shards"
)

// Hash algorithm identifiers of the OMS algorithm registry.
const (
	HashSHA256  = "sha256"
	HashBLAKE2b = "blake2b"
	HashBLAKE3  = "blake3"
)

// digestSizes are the digest lengths, in bytes, of the known algorithms.
var digestSizes = map[string]int{HashSHA256: 32, HashBLAKE2b: 64, HashBLAKE3: 32}

// normalizeHash maps model-transparency's "blake2" to the registry's
// "blake2b"; it returns "" for unknown algorithms.
func normalizeHash(s string) string {
	if s == "blake2" {
		s = HashBLAKE2b
	}
	if _, ok := digestSizes[s]; ok {
		return s
	}
	return ""
}

// defaultIgnored are the top-level names OMS always excludes (§6.2).
var defaultIgnored = []string{".git", ".gitattributes", ".github", ".gitignore"}

// Manifest is what a model signature signs: the digests of the model's
// files and how they were computed.
type Manifest struct {
	// ModelName is the subject name, the basename of the signed
	// directory. It is informational: OMS verifiers must not rely on it.
	ModelName string
	// RootDigest is the subject's SHA-256 root digest, hex; empty for a
	// legacy manifest.
	RootDigest string
	// Legacy reports the deprecated model-transparency v0.2 predicate
	// (https://model_signing/Digests/v0.1), which has files/sha256
	// semantics and no serialization block.
	Legacy bool
	// Method is SerializationFiles or SerializationShards.
	Method string
	// HashType is serialization.hash_type, normalised (HashSHA256,
	// HashBLAKE2b or HashBLAKE3).
	HashType string
	// ShardSize is serialization.shard_size, for SerializationShards.
	ShardSize int64
	// AllowSymlinks is serialization.allow_symlinks.
	AllowSymlinks bool
	// IgnorePaths is serialization.ignore_paths: paths the signer
	// excluded, relative to the model root.
	IgnorePaths []string
	// Resources are the signed resources, in the signed order.
	Resources []Resource
	// Files maps each path signed as a whole file with a SHA-256 digest
	// to that digest, lower-case hex. It is the common case (files
	// method, sha256) and all [Compare] needs; other resources are only
	// in Resources.
	Files map[string]string
}

// Resource is one signed resource descriptor.
type Resource struct {
	// Name is the resource name as signed: a path, or "<path>:<start>:<end>"
	// for a shard.
	Name string
	// Algorithm is the digest's hash algorithm, normalised.
	Algorithm string
	// Digest is the digest, lower-case hex.
	Digest string
	// Path is the file the resource belongs to.
	Path string
	// Start and End delimit a shard's byte range [Start, End); both are
	// zero for a whole file.
	Start, End int64
}

type jsonStatement struct {
	Type          string          `json:"_type"`
	Subject       []jsonSubject   `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type jsonSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type jsonPredicate struct {
	Resources []struct {
		Name      string `json:"name"`
		Algorithm string `json:"algorithm"`
		Digest    string `json:"digest"`
	} `json:"resources"`
	Serialization *struct {
		Method        string   `json:"method"`
		HashType      string   `json:"hash_type"`
		ShardSize     *int64   `json:"shard_size"`
		AllowSymlinks *bool    `json:"allow_symlinks"`
		IgnorePaths   []string `json:"ignore_paths"`
	} `json:"serialization"`
}

// parseStatement turns a signed DSSE payload into a manifest, checking
// step 3 of the package documentation. Unknown fields are allowed, as
// in-toto and OMS require of verifiers.
func parseStatement(payload []byte) (*Manifest, error) {
	var st jsonStatement
	if err := decodeStrict(payload, &st, false); err != nil {
		return nil, err
	}
	if st.Type != StatementType {
		return nil, fmt.Errorf("statement type %q, want %q", st.Type, StatementType)
	}
	switch st.PredicateType {
	case PredicateType:
		return parsePredicate(st)
	case LegacyPredicateType:
		return parseLegacy(st)
	}
	return nil, fmt.Errorf("predicate type %q, want %q", st.PredicateType, PredicateType)
}

func parsePredicate(st jsonStatement) (*Manifest, error) {
	if len(st.Subject) != 1 {
		return nil, fmt.Errorf("%d subjects, want 1", len(st.Subject))
	}
	subj := st.Subject[0]
	if subj.Name == "" {
		return nil, errors.New("subject has no name")
	}
	root, err := hexDigest(subj.Digest["sha256"], HashSHA256)
	if err != nil {
		return nil, fmt.Errorf("subject digest: %v", err)
	}
	var p jsonPredicate
	if len(st.Predicate) == 0 || json.Unmarshal(st.Predicate, &p) != nil {
		return nil, errors.New("predicate is not an object with resources and serialization")
	}
	s := p.Serialization
	if s == nil {
		return nil, errors.New("predicate has no serialization")
	}
	m := &Manifest{
		ModelName:   subj.Name,
		RootDigest:  root,
		Method:      s.Method,
		HashType:    normalizeHash(s.HashType),
		IgnorePaths: s.IgnorePaths,
		Files:       map[string]string{},
	}
	if m.HashType == "" {
		return nil, fmt.Errorf("unknown hash_type %q", s.HashType)
	}
	if s.AllowSymlinks == nil {
		return nil, errors.New("serialization has no allow_symlinks")
	}
	m.AllowSymlinks = *s.AllowSymlinks
	switch m.Method {
	case SerializationFiles:
		if s.ShardSize != nil {
			return nil, errors.New("shard_size with the files method")
		}
	case SerializationShards:
		if s.ShardSize == nil || *s.ShardSize <= 0 {
			return nil, errors.New("shards method without a positive shard_size")
		}
		m.ShardSize = *s.ShardSize
	default:
		return nil, fmt.Errorf("unknown serialization method %q", s.Method)
	}
	if len(p.Resources) == 0 {
		return nil, errors.New("no resources")
	}
	h := sha256.New()
	seen := make(map[string]bool, len(p.Resources))
	for _, pr := range p.Resources {
		r := Resource{Name: pr.Name, Algorithm: normalizeHash(pr.Algorithm)}
		if r.Algorithm == "" {
			return nil, fmt.Errorf("resource %q: unknown algorithm %q", pr.Name, pr.Algorithm)
		}
		if r.Digest, err = hexDigest(pr.Digest, r.Algorithm); err != nil {
			return nil, fmt.Errorf("resource %q: %v", pr.Name, err)
		}
		if r.Name == "" || seen[r.Name] {
			return nil, fmt.Errorf("empty or repeated resource name %q", r.Name)
		}
		seen[r.Name] = true
		r.Path = r.Name
		if m.Method == SerializationShards {
			if r.Path, r.Start, r.End, err = parseShardName(r.Name); err != nil {
				return nil, err
			}
		} else if r.Algorithm == HashSHA256 {
			m.Files[r.Path] = r.Digest
		}
		raw, _ := hex.DecodeString(r.Digest)
		h.Write(raw)
		m.Resources = append(m.Resources, r)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.RootDigest {
		return nil, fmt.Errorf("subject digest %s does not match the resources' root digest %s", m.RootDigest, got)
	}
	if m.Method == SerializationShards {
		if err := checkShards(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parseLegacy reads the v0.1 predicate: the file digests are the
// subjects, there is no root digest and no serialization.
func parseLegacy(st jsonStatement) (*Manifest, error) {
	if len(st.Subject) == 0 {
		return nil, errors.New("no subjects")
	}
	m := &Manifest{Legacy: true, Method: SerializationFiles, HashType: HashSHA256, Files: map[string]string{}}
	for _, s := range st.Subject {
		d, err := hexDigest(s.Digest["sha256"], HashSHA256)
		if err != nil {
			return nil, fmt.Errorf("subject %q: %v", s.Name, err)
		}
		if s.Name == "" || m.Files[s.Name] != "" {
			return nil, fmt.Errorf("empty or repeated subject name %q", s.Name)
		}
		m.Files[s.Name] = d
		m.Resources = append(m.Resources, Resource{Name: s.Name, Algorithm: HashSHA256, Digest: d, Path: s.Name})
	}
	return m, nil
}

// hexDigest checks that s is a hex digest of algorithm alg and returns it
// in lower case.
func hexDigest(s, alg string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != digestSizes[alg] {
		return "", fmt.Errorf("%q is not a hex %s digest", s, alg)
	}
	return strings.ToLower(s), nil
}

// parseShardName splits "<path>:<start>:<end>" at its last two colons,
// since paths may contain colons.
func parseShardName(name string) (path string, start, end int64, err error) {
	rest, e, ok1 := cutLast(name, ":")
	path, s, ok2 := cutLast(rest, ":")
	if ok1 && ok2 && path != "" {
		start, err1 := parseOffset(s)
		end, err2 := parseOffset(e)
		if err1 == nil && err2 == nil && start < end {
			return path, start, end, nil
		}
	}
	return "", 0, 0, fmt.Errorf("shard name %q is not <path>:<start>:<end>", name)
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// parseOffset parses a non-negative decimal integer without sign or
// leading zeros.
func parseOffset(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' || len(s) > 1 && s[0] == '0' {
		return 0, errors.New("bad offset")
	}
	return strconv.ParseInt(s, 10, 64)
}

// checkShards checks that each file's shards tile it from 0 in
// ShardSize steps, the last possibly shorter.
func checkShards(m *Manifest) error {
	for path, shards := range m.shards() {
		for i, r := range shards {
			want := int64(i) * m.ShardSize
			if i > 0 && want/int64(i) != m.ShardSize || r.Start != want ||
				r.End-r.Start > m.ShardSize || i < len(shards)-1 && r.End-r.Start != m.ShardSize {
				return fmt.Errorf("shards of %q do not tile it in steps of %d", path, m.ShardSize)
			}
		}
	}
	return nil
}

// shards groups the resources of a shards manifest by path, sorted by
// start offset.
func (m *Manifest) shards() map[string][]Resource {
	out := make(map[string][]Resource)
	for _, r := range m.Resources {
		out[r.Path] = append(out[r.Path], r)
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b Resource) int { return int(min(max(a.Start-b.Start, -1), 1)) })
	}
	return out
}

// Paths returns the signed file paths, sorted.
func (m *Manifest) Paths() []string {
	seen := make(map[string]bool)
	var out []string
	for _, r := range m.Resources {
		if !seen[r.Path] {
			seen[r.Path] = true
			out = append(out, r.Path)
		}
	}
	slices.Sort(out)
	return out
}

// Ignored reports whether path is outside the signature's scope: under a
// top-level .git, .gitattributes, .github or .gitignore, under one of
// IgnorePaths, or the signature file model.sig at the root.
func (m *Manifest) Ignored(path string) bool {
	if path == DefaultSignatureName {
		return true
	}
	first, _, _ := strings.Cut(path, "/")
	if slices.Contains(defaultIgnored, first) {
		return true
	}
	for _, p := range m.IgnorePaths {
		if p != "" && (path == p || strings.HasPrefix(path, p+"/")) {
			return true
		}
	}
	return false
}

// Comparison is the outcome of [Compare]. Each list is sorted.
type Comparison struct {
	// Verified are signed files whose content matches the signature.
	Verified []string
	// Mismatched are signed files whose content differs from what was
	// signed.
	Mismatched []string
	// Missing are signed files the repository does not have.
	Missing []string
	// Unsigned are files of the repository the signature does not cover
	// and that are not excluded from its scope.
	Unsigned []string
	// Unchecked are signed files present in the repository whose
	// signed digests a SHA-256 of the whole file cannot check: blake2b or
	// blake3 digests, or several SHA-256 shards (see
	// [Manifest.CheckFile]).
	Unchecked []string
	// Ignored are files of the repository outside the signature's scope:
	// the OMS default exclusions, the signed ignore_paths, model.sig and
	// what the caller's ignore function excluded.
	Ignored []string
}

// OK reports whether the repository matches the signature exactly: at
// least one file verified, and nothing mismatched, missing, unsigned or
// unchecked.
func (c Comparison) OK() bool {
	return len(c.Verified) > 0 && len(c.Mismatched)+len(c.Missing)+len(c.Unsigned)+len(c.Unchecked) == 0
}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Compare matches a verified manifest against the files of a repository
// revision. files maps each repository path (relative, "/"-separated, as
// in git) to the SHA-256 of its content in hex; for an LFS file that is
// its LFS oid. ignore, which may be nil, excludes more paths from the
// signature's scope; it must exclude the signature file when it is not
// model.sig at the root.
//
// A signed file is checked whether or not it is excluded: exclusions only
// keep unsigned files from being reported. With the shards method, a
// file signed as a single shard from offset 0 is checked against the
// SHA-256 of the whole file (they are equal exactly when the content is
// what was signed), and an empty file is verified, since OMS leaves empty
// files out of shard manifests.
func Compare(m *Manifest, files map[string]string, ignore func(path string) bool) Comparison {
	var c Comparison
	signed := make(map[string]bool)
	var shards map[string][]Resource
	if m.Method == SerializationShards {
		shards = m.shards()
	}
	for _, path := range m.Paths() {
		signed[path] = true
		got, ok := files[path]
		if !ok {
			c.Missing = append(c.Missing, path)
			continue
		}
		var want string
		if shards == nil {
			want = m.Files[path]
		} else if rs := shards[path]; len(rs) == 1 && rs[0].Start == 0 && rs[0].Algorithm == HashSHA256 {
			want = rs[0].Digest
		}
		switch {
		case want == "":
			c.Unchecked = append(c.Unchecked, path)
		case strings.EqualFold(got, want):
			c.Verified = append(c.Verified, path)
		default:
			c.Mismatched = append(c.Mismatched, path)
		}
	}
	for path, d := range files {
		switch {
		case signed[path]:
		case m.Ignored(path) || ignore != nil && ignore(path):
			c.Ignored = append(c.Ignored, path)
		case shards != nil && strings.EqualFold(d, emptySHA256):
			c.Verified = append(c.Verified, path)
		default:
			c.Unsigned = append(c.Unsigned, path)
		}
	}
	for _, l := range []*[]string{&c.Verified, &c.Mismatched, &c.Missing, &c.Unsigned, &c.Unchecked, &c.Ignored} {
		slices.Sort(*l)
	}
	return c
}

// CheckFile hashes the content of a signed file, read from r (size
// bytes), and reports whether it matches the signature: the whole file for
// the files method, each shard for the shards method. It is how a caller
// settles the files [Compare] leaves Unchecked. Only SHA-256 digests can
// be checked; others give [ErrUnsupported]. A path the manifest does not
// sign is an error. Cancelling ctx stops the hashing between reads.
func (m *Manifest) CheckFile(ctx context.Context, path string, r io.ReaderAt, size int64) (bool, error) {
	var rs []Resource
	for _, res := range m.Resources {
		if res.Path == path {
			rs = append(rs, res)
		}
	}
	if len(rs) == 0 {
		return false, fmt.Errorf("%s is not signed", path)
	}
	for _, res := range rs {
		if res.Algorithm != HashSHA256 {
			return false, fmt.Errorf("%w: %s digest of %s", ErrUnsupported, res.Algorithm, path)
		}
	}
	if m.Method != SerializationShards {
		sum, err := hashRange(ctx, r, 0, size)
		return err == nil && sum == rs[0].Digest, err
	}
	slices.SortFunc(rs, func(a, b Resource) int { return int(min(max(a.Start-b.Start, -1), 1)) })
	n := size / m.ShardSize
	if size%m.ShardSize != 0 {
		n++
	}
	if int64(len(rs)) != n || rs[len(rs)-1].End != size {
		return false, nil // a different size than signed
	}
	for _, res := range rs {
		sum, err := hashRange(ctx, r, res.Start, res.End-res.Start)
		if err != nil || sum != res.Digest {
			return false, err
		}
	}
	return true, nil
}

func hashRange(ctx context.Context, r io.ReaderAt, off, n int64) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		k, err := r.ReadAt(buf[:min(n, int64(len(buf)))], off)
		h.Write(buf[:k])
		off, n = off+int64(k), n-int64(k)
		if k == 0 && err == nil {
			err = io.ErrNoProgress
		}
		if err != nil && (err != io.EOF || n > 0) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
