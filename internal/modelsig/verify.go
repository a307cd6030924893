package modelsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Verifier verifies bundles against the keys and certificate authorities
// a hub trusts. Its zero value trusts nothing. It is safe for concurrent
// use as long as its fields are not modified.
type Verifier struct {
	// Keys are the public keys trusted for key-based signatures, for
	// example those registered by the repository's owner (parse them with
	// [ParsePublicKey]). [Result.KeyIndex] says which one signed.
	Keys []crypto.PublicKey
	// Roots are the certificate authorities trusted for certificate-based
	// signatures, configured by the administrator. When nil, no
	// certificate-based signature verifies: unlike model-transparency,
	// there is no fallback to the system's web PKI roots.
	Roots *x509.CertPool
	// Intermediates are extra intermediate certificates, used besides the
	// ones the bundle carries to build the chain. Optional.
	Intermediates *x509.CertPool
	// CurrentTime returns the time at which certificates must be valid;
	// nil means time.Now. See the package documentation for why this is
	// not the signing time.
	CurrentTime func() time.Time
}

// Result describes a verified signature.
type Result struct {
	// Method is the signing method.
	Method Method
	// Identity names the signer for people: "key:<hint>" for a key,
	// "email:<address>" or "uri:<uri>" from the certificate's first
	// subject alternative name, or "subject:<DN>" when it has neither.
	Identity string
	// KeyHint is the OMS fingerprint ([KeyHint]) of the signing key, for
	// both methods.
	KeyHint string
	// KeyIndex is the index in [Verifier.Keys] of the key that verified,
	// or -1 for a certificate.
	KeyIndex int
	// Certificate is the leaf certificate, for MethodCertificate.
	Certificate *x509.Certificate
	// Chain is the verified chain, leaf first and a root of
	// [Verifier.Roots] last, for MethodCertificate.
	Chain []*x509.Certificate
	// VerifiedAt is the time certificates were checked at.
	VerifiedAt time.Time
	// LegacyPAE reports a signature over model-transparency v0.2's faulty
	// pre-authentication encoding, accepted only for payloads with the
	// v0.1 predicate that v0.2 wrote.
	LegacyPAE bool
	// Manifest is the signed manifest.
	Manifest *Manifest
}

// Verify checks b's signature with v's trust configuration and returns the
// signer and the signed manifest. Errors wrap [ErrMalformed],
// [ErrUnsupported], [ErrUntrusted] or [ErrBadSignature]. A nil error means
// the signature is authentic; whether the repository still matches it is
// for [Compare] to say.
func (v *Verifier) Verify(b *Bundle) (*Result, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: no bundle", ErrMalformed)
	}
	if b.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q, want %q", ErrMalformed, b.PayloadType, PayloadType)
	}
	now := time.Now()
	if v.CurrentTime != nil {
		now = v.CurrentTime()
	}
	r := &Result{Method: b.Method, KeyIndex: -1, VerifiedAt: now}
	var err error
	switch b.Method {
	case MethodKey:
		err = v.verifyKey(b, r)
	case MethodCertificate:
		err = v.verifyCertificate(b, r, now)
	case MethodSigstore:
		err = fmt.Errorf("%w: Sigstore keyless signatures need a Sigstore trusted root and transparency-log checks", ErrUnsupported)
	default:
		err = fmt.Errorf("%w: unknown signing method %q", ErrMalformed, b.Method)
	}
	if err != nil {
		return nil, err
	}
	m, err := parseStatement(b.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: signed payload: %v", ErrMalformed, err)
	}
	r.Manifest = m
	return r, nil
}

func (v *Verifier) verifyKey(b *Bundle, r *Result) error {
	var embedded *ecdsa.PublicKey
	if b.KeyHint == "" && len(b.RawPublicKey) > 0 {
		k, err := ParsePublicKey(b.RawPublicKey)
		if err != nil {
			return fmt.Errorf("publicKey.rawBytes: %w", err)
		}
		embedded = k.(*ecdsa.PublicKey)
	}
	matched := false
	for i, k := range v.Keys {
		pub, ok := k.(*ecdsa.PublicKey)
		if !ok || checkCurve(pub) != nil {
			continue
		}
		hint, err := KeyHint(pub)
		if err != nil {
			continue
		}
		switch {
		case b.KeyHint != "" && hint != b.KeyHint:
			continue
		case embedded != nil && !embedded.Equal(pub):
			continue
		}
		matched = true
		legacy, ok := verifyPAE(pub, b)
		if !ok {
			continue
		}
		r.KeyHint, r.KeyIndex, r.LegacyPAE = hint, i, legacy
		r.Identity = "key:" + hint
		return nil
	}
	if !matched {
		switch {
		case b.KeyHint != "":
			return fmt.Errorf("%w: no trusted key has hint %s", ErrUntrusted, b.KeyHint)
		case embedded != nil:
			return fmt.Errorf("%w: the bundle's public key is not a trusted key", ErrUntrusted)
		default:
			return fmt.Errorf("%w: no trusted keys", ErrUntrusted)
		}
	}
	return fmt.Errorf("%w: the signature does not verify with the trusted key", ErrBadSignature)
}

func (v *Verifier) verifyCertificate(b *Bundle, r *Result, now time.Time) error {
	if len(b.Certificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrMalformed)
	}
	if v.Roots == nil {
		return fmt.Errorf("%w: no certificate authorities are trusted", ErrUntrusted)
	}
	leaf := b.Certificates[0]
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: certificate key is %T, want ECDSA", ErrUnsupported, leaf.PublicKey)
	}
	if err := checkCurve(pub); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if v.Intermediates != nil {
		pool = v.Intermediates.Clone()
	}
	for _, c := range b.Certificates[1:] {
		pool.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.Roots,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	})
	if err != nil {
		return fmt.Errorf("%w: certificate %q: %v", ErrUntrusted, leaf.Subject, err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: certificate %q does not allow digital signatures", ErrUntrusted, leaf.Subject)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		return fmt.Errorf("%w: certificate %q has neither the digitalSignature key usage nor the codeSigning extended key usage", ErrUntrusted, leaf.Subject)
	}
	legacy, ok := verifyPAE(pub, b)
	if !ok {
		return fmt.Errorf("%w: the signature does not verify with certificate %q", ErrBadSignature, leaf.Subject)
	}
	hint, err := KeyHint(pub)
	if err != nil {
		return err
	}
	r.KeyHint, r.Certificate, r.Chain, r.LegacyPAE = hint, leaf, chains[0], legacy
	switch {
	case len(leaf.EmailAddresses) > 0:
		r.Identity = "email:" + leaf.EmailAddresses[0]
	case len(leaf.URIs) > 0:
		r.Identity = "uri:" + leaf.URIs[0].String()
	default:
		r.Identity = "subject:" + leaf.Subject.String()
	}
	return nil
}

// verifyPAE checks b's signature over the DSSE pre-authentication encoding
// of its payload. For a payload with the v0.1 predicate, which only
// model-transparency v0.2 wrote, it also accepts v0.2's faulty encoding
// (paeCompat), hashed with SHA-256 whatever the curve, as v0.2 did, or
// with the curve's hash, as model-transparency's verifier tries; legacy
// reports that. The predicate is read before the signature is checked,
// but it is part of what the signature covers, so a forger gains nothing.
func verifyPAE(pub *ecdsa.PublicKey, b *Bundle) (legacy, ok bool) {
	h := hashFor(pub.Curve)
	if ecdsa.VerifyASN1(pub, digest(h, pae(b.PayloadType, b.Payload)), b.Signature) {
		return false, true
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(b.Payload, &st) != nil || st.PredicateType != LegacyPredicateType {
		return false, false
	}
	msg := paeCompat(b.PayloadType, b.Payload)
	for _, h := range []crypto.Hash{crypto.SHA256, h} {
		if ecdsa.VerifyASN1(pub, digest(h, msg), b.Signature) {
			return true, true
		}
	}
	return false, false
}

// pae is DSSE's PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP
// LEN(body) SP body, with byte lengths in decimal.
func pae(payloadType string, payload []byte) []byte {
	out := fmt.Appendf(nil, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	return append(out, payload...)
}

// paeCompat is the PAE of model-transparency v0.2, which formatted the
// payload bytes into a Python string (so as their repr, b'...') and
// capitalised the V.
func paeCompat(payloadType string, payload []byte) []byte {
	out := fmt.Appendf(nil, "DSSEV1 %d %s %d ", len(payloadType), payloadType, len(payload))
	return appendPyBytesRepr(out, payload)
}

// appendPyBytesRepr appends Python's repr of a bytes object (CPython
// Objects/bytesobject.c, PyBytes_Repr with smart quotes).
func appendPyBytesRepr(out, b []byte) []byte {
	quote := byte('\'')
	if slices.Contains(b, '\'') && !slices.Contains(b, '"') {
		quote = '"'
	}
	out = append(out, 'b', quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			out = append(out, '\\', c)
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < ' ' || c >= 0x7f:
			out = append(out, '\\', 'x')
			out = strconv.AppendUint(out, uint64(c)>>4, 16)
			out = strconv.AppendUint(out, uint64(c)&0xf, 16)
		default:
			out = append(out, c)
		}
	}
	return append(out, quote)
}

// hashFor returns the hash OMS pairs with a curve.
func hashFor(c elliptic.Curve) crypto.Hash {
	switch c {
	case elliptic.P384():
		return crypto.SHA384
	case elliptic.P521():
		return crypto.SHA512
	}
	return crypto.SHA256
}

func digest(h crypto.Hash, msg []byte) []byte {
	w := h.New()
	w.Write(msg)
	return w.Sum(nil)
}

func checkCurve(pub *ecdsa.PublicKey) error {
	switch pub.Curve {
	case elliptic.P256(), elliptic.P384(), elliptic.P521():
		return nil
	}
	return fmt.Errorf("%w: ECDSA curve %s, want P-256, P-384 or P-521", ErrUnsupported, pub.Curve.Params().Name)
}

// ParsePublicKey parses a public key as users register it: a PEM "PUBLIC
// KEY" block (SubjectPublicKeyInfo), or the same in DER. Only ECDSA keys
// on P-256, P-384 and P-521 are accepted, the ones OMS supports; it
// returns a *ecdsa.PublicKey.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("%w: PEM block %q, want PUBLIC KEY", ErrMalformed, block.Type)
		}
		der = block.Bytes
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrMalformed, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: public key is %T, want ECDSA", ErrUnsupported, k)
	}
	if err := checkCurve(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// KeyHint returns the OMS fingerprint of a public key, the value of
// publicKey.hint in bundles: the hex SHA-256 of the key's PEM-encoded
// SubjectPublicKeyInfo text, as model-transparency computes it. A hub can
// index registered keys by it.
func KeyHint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: public key: %v", ErrUnsupported, err)
	}
	sum := sha256.Sum256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return hex.EncodeToString(sum[:]), nil
}
