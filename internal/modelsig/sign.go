package modelsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sign creates a model.sig for the files of a model, as
// model-transparency's `model_signing sign key|certificate` would: the
// files method with SHA-256 digests, resources sorted by name in
// code-point order, allow_symlinks false, and the OMS default exclusions
// plus model.sig recorded in ignore_paths (and left out of the resources
// if files has them).
//
// files maps each path, relative to the model root and "/"-separated, to
// the hex SHA-256 of its content. modelName is the subject name, usually
// the basename of the model directory ("model" when empty). signer must
// hold an ECDSA key on P-256, P-384 or P-521; it is used once, with the
// hash OMS pairs with the curve.
//
// With certChain nil the bundle is key-based and names the key by its
// [KeyHint]. Otherwise certChain is the DER leaf certificate, whose key
// must be the signer's, followed by the intermediates to include.
func Sign(files map[string]string, modelName string, signer crypto.Signer, certChain [][]byte) ([]byte, error) {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: signer key is %T, want ECDSA", ErrUnsupported, signer.Public())
	}
	if err := checkCurve(pub); err != nil {
		return nil, err
	}
	var material jsonMaterial
	if certChain == nil {
		hint, err := KeyHint(pub)
		if err != nil {
			return nil, err
		}
		material.PublicKey = &jsonPublicKey{Hint: hint}
	} else {
		if len(certChain) == 0 || len(certChain) > MaxCertificates {
			return nil, fmt.Errorf("certificate chain of %d certificates, want 1 to %d", len(certChain), MaxCertificates)
		}
		leaf, err := x509.ParseCertificate(certChain[0])
		if err != nil {
			return nil, fmt.Errorf("leaf certificate: %v", err)
		}
		if !pub.Equal(leaf.PublicKey) {
			return nil, errors.New("the leaf certificate is not for the signer's key")
		}
		material.X509CertificateChain = &jsonChain{}
		for i, der := range certChain {
			if _, err := x509.ParseCertificate(der); err != nil {
				return nil, fmt.Errorf("certificate %d: %v", i, err)
			}
			material.X509CertificateChain.Certificates = append(material.X509CertificateChain.Certificates,
				jsonCertificate{RawBytes: base64.StdEncoding.EncodeToString(der)})
		}
	}
	material.TlogEntries = []json.RawMessage{}

	payload, err := statementFor(files, modelName)
	if err != nil {
		return nil, err
	}
	payload = bytes.TrimSuffix(payload, []byte("\n"))
	sig, err := signer.Sign(rand.Reader, digest(hashFor(pub.Curve), pae(PayloadType, payload)), hashFor(pub.Curve))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return marshal(jsonBundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: &material,
		DSSEEnvelope: &jsonEnvelope{
			Payload:     base64.StdEncoding.EncodeToString(payload),
			PayloadType: PayloadType,
			Signatures:  []jsonSignature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
		},
	}, "  ")
}

// statementFor builds the in-toto statement Sign signs.
func statementFor(files map[string]string, modelName string) ([]byte, error) {
	if modelName == "" {
		modelName = "model"
	}
	type resource struct {
		Name      string `json:"name"`
		Algorithm string `json:"algorithm"`
		Digest    string `json:"digest"`
	}
	var m Manifest
	var resources []resource
	for path, d := range files {
		if !validPath(path) {
			return nil, fmt.Errorf("path %q is not a canonical relative path", path)
		}
		d, err := hexDigest(d, HashSHA256)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if m.Ignored(path) {
			continue
		}
		resources = append(resources, resource{Name: path, Algorithm: HashSHA256, Digest: d})
	}
	if len(resources) == 0 {
		return nil, errors.New("no files to sign")
	}
	// Go compares strings byte-wise, which for UTF-8 is code-point order.
	slices.SortFunc(resources, func(a, b resource) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, r := range resources {
		raw, _ := hex.DecodeString(r.Digest)
		h.Write(raw)
	}
	type subject struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	type serialization struct {
		Method        string   `json:"method"`
		HashType      string   `json:"hash_type"`
		AllowSymlinks bool     `json:"allow_symlinks"`
		IgnorePaths   []string `json:"ignore_paths"`
	}
	type predicate struct {
		Resources     []resource    `json:"resources"`
		Serialization serialization `json:"serialization"`
	}
	return marshal(struct {
		Type          string    `json:"_type"`
		Subject       []subject `json:"subject"`
		PredicateType string    `json:"predicateType"`
		Predicate     predicate `json:"predicate"`
	}{
		Type:          StatementType,
		Subject:       []subject{{Name: modelName, Digest: map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))}}},
		PredicateType: PredicateType,
		Predicate: predicate{
			Resources: resources,
			Serialization: serialization{
				Method:      SerializationFiles,
				HashType:    HashSHA256,
				IgnorePaths: append(slices.Clone(defaultIgnored), DefaultSignatureName),
			},
		},
	}, "")
}

// validPath reports whether p is a canonical OMS path (§6.1.2): relative,
// "/"-separated, without empty, "." or ".." components, valid UTF-8.
func validPath(p string) bool {
	if p == "" || !utf8.ValidString(p) {
		return false
	}
	for part := range strings.SplitSeq(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// marshal encodes v without HTML escaping, indented when indent is set.
func marshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
