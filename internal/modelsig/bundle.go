package modelsig

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits of [ParseBundle].
const (
	// MaxBundleSize bounds a model.sig, in bytes. A resource entry takes
	// about 150 bytes of base64, so this is room for some 25,000 files.
	MaxBundleSize = 4 << 20
	// MaxCertificates bounds the certificates of a chain.
	MaxCertificates = 10
	// maxJSONDepth bounds the nesting of the bundle and of its payload.
	maxJSONDepth = 32
)

// Names fixed by the formats.
const (
	// DefaultSignatureName is the name signers give the signature file,
	// at the root of the model.
	DefaultSignatureName = "model.sig"
	// BundleMediaType is the media type this package writes.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// StatementType is the in-toto Statement v1 type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is the OMS v1.0 predicate type.
	PredicateType = "https://model_signing/signature/v1.0"
	// LegacyPredicateType is the predicate of model-transparency v0.2,
	// which OMS deprecates and verifiers may still accept.
	LegacyPredicateType = "https://model_signing/Digests/v0.1"
)

// bundleMediaTypes are the Sigstore bundle media types accepted: v0.3 in
// both spellings the Sigstore clients accept, and the older v0.1 and v0.2
// (which differ only in transparency-log material this package ignores).
var bundleMediaTypes = map[string]bool{
	"application/vnd.dev.sigstore.bundle.v0.3+json":        true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.1": true,
}

// Errors returned by this package. Each error it returns wraps exactly one
// of them, so callers can classify the outcome with errors.Is.
var (
	// ErrMalformed: the bundle or its signed payload is not a well-formed
	// OMS signature.
	ErrMalformed = errors.New("malformed model signature")
	// ErrUnsupported: a well-formed signature this package cannot verify
	// (Sigstore keyless, an unsupported key type or hash algorithm).
	ErrUnsupported = errors.New("unsupported model signature")
	// ErrUntrusted: the signer is not trusted: no configured key matches,
	// the certificate does not chain to a configured root, or it is not
	// valid for code signing at the verification time.
	ErrUntrusted = errors.New("untrusted model signature")
	// ErrBadSignature: the signature does not verify with the key it
	// names: the payload or the signature was altered.
	ErrBadSignature = errors.New("model signature does not verify")
)

// Method is a signing method, as OMS names them.
type Method string

// Signing methods.
const (
	// MethodKey: a long-lived key pair; the bundle names the public key.
	MethodKey Method = "key"
	// MethodCertificate: a long-lived certificate and its CA chain.
	MethodCertificate Method = "certificate"
	// MethodSigstore: Sigstore keyless (Fulcio certificate, Rekor entry).
	MethodSigstore Method = "sigstore"
)

// Bundle is a parsed, not yet verified, model signature. Nothing in it is
// trustworthy before [Verifier.Verify] succeeds.
type Bundle struct {
	// MediaType is the Sigstore bundle media type.
	MediaType string
	// Method is the signing method the verification material implies.
	Method Method
	// KeyHint is publicKey.hint, lower-case, for MethodKey bundles that
	// have one (v1.1 and later signers).
	KeyHint string
	// RawPublicKey is publicKey.rawBytes, decoded (PEM text or DER), for
	// MethodKey bundles written before hints (model-transparency < 1.1).
	RawPublicKey []byte
	// Certificates is the certificate chain, leaf first, for
	// MethodCertificate, or the single Fulcio certificate for
	// MethodSigstore.
	Certificates []*x509.Certificate
	// TransparencyLogEntries counts tlogEntries. They are not verified.
	TransparencyLogEntries int
	// PayloadType is the DSSE payload type.
	PayloadType string
	// Payload is the DSSE payload, decoded from base64.
	Payload []byte
	// Signature is the DSSE signature, decoded from base64.
	Signature []byte
}

// The JSON shapes, with Sigstore's protobuf JSON (camelCase) names.
type (
	jsonBundle struct {
		MediaType            string          `json:"mediaType"`
		VerificationMaterial *jsonMaterial   `json:"verificationMaterial"`
		DSSEEnvelope         *jsonEnvelope   `json:"dsseEnvelope"`
		MessageSignature     json.RawMessage `json:"messageSignature,omitempty"`
	}
	jsonMaterial struct {
		PublicKey                 *jsonPublicKey    `json:"publicKey,omitempty"`
		X509CertificateChain      *jsonChain        `json:"x509CertificateChain,omitempty"`
		Certificate               *jsonCertificate  `json:"certificate,omitempty"`
		TlogEntries               []json.RawMessage `json:"tlogEntries"`
		TimestampVerificationData json.RawMessage   `json:"timestampVerificationData,omitempty"`
	}
	jsonPublicKey struct {
		Hint       string `json:"hint,omitempty"`
		RawBytes   string `json:"rawBytes,omitempty"`
		KeyDetails string `json:"keyDetails,omitempty"`
	}
	jsonChain struct {
		Certificates []jsonCertificate `json:"certificates"`
	}
	jsonCertificate struct {
		RawBytes string `json:"rawBytes"`
	}
	jsonEnvelope struct {
		Payload     string          `json:"payload"`
		PayloadType string          `json:"payloadType"`
		Signatures  []jsonSignature `json:"signatures"`
	}
	jsonSignature struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	}
)

// ParseBundle parses a model.sig. It checks the structure (step 1 of the
// package documentation), decodes the base64 fields and parses the
// certificates, and returns an error wrapping [ErrMalformed] for anything
// else than a well-formed bundle. It does not verify anything.
func ParseBundle(data []byte) (*Bundle, error) {
	b, err := parseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return b, nil
}

func parseBundle(data []byte) (*Bundle, error) {
	if len(data) == 0 {
		return nil, errors.New("empty bundle")
	}
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("bundle is %d bytes, more than %d", len(data), MaxBundleSize)
	}
	var jb jsonBundle
	if err := decodeStrict(data, &jb, true); err != nil {
		return nil, err
	}
	if !bundleMediaTypes[jb.MediaType] {
		return nil, fmt.Errorf("unknown bundle media type %q", jb.MediaType)
	}
	b := &Bundle{MediaType: jb.MediaType}

	vm := jb.VerificationMaterial
	if vm == nil {
		return nil, errors.New("no verificationMaterial")
	}
	n := 0
	for _, set := range []bool{vm.PublicKey != nil, vm.X509CertificateChain != nil, vm.Certificate != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("verificationMaterial must hold exactly one of publicKey, x509CertificateChain, certificate")
	}
	b.TransparencyLogEntries = len(vm.TlogEntries)
	switch {
	case vm.PublicKey != nil:
		b.Method = MethodKey
		if h := vm.PublicKey.Hint; h != "" {
			if _, err := hex.DecodeString(h); err != nil || len(h) != 64 {
				return nil, fmt.Errorf("publicKey.hint %q is not a hex SHA-256", h)
			}
			b.KeyHint = strings.ToLower(h)
		}
		if r := vm.PublicKey.RawBytes; r != "" {
			raw, err := decodeBase64(r)
			if err != nil {
				return nil, fmt.Errorf("publicKey.rawBytes: %v", err)
			}
			b.RawPublicKey = raw
		}
	case vm.X509CertificateChain != nil:
		b.Method = MethodCertificate
		certs := vm.X509CertificateChain.Certificates
		if len(certs) == 0 || len(certs) > MaxCertificates {
			return nil, fmt.Errorf("x509CertificateChain has %d certificates, want 1 to %d", len(certs), MaxCertificates)
		}
		for i, c := range certs {
			cert, err := parseCertificate(c.RawBytes)
			if err != nil {
				return nil, fmt.Errorf("certificate %d: %v", i, err)
			}
			b.Certificates = append(b.Certificates, cert)
		}
	case vm.Certificate != nil:
		b.Method = MethodSigstore
		cert, err := parseCertificate(vm.Certificate.RawBytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %v", err)
		}
		b.Certificates = []*x509.Certificate{cert}
	}

	if jb.MessageSignature != nil {
		return nil, errors.New("messageSignature bundles are not model signatures")
	}
	env := jb.DSSEEnvelope
	if env == nil {
		return nil, errors.New("no dsseEnvelope")
	}
	if len(env.Signatures) != 1 {
		return nil, fmt.Errorf("dsseEnvelope has %d signatures, want 1", len(env.Signatures))
	}
	if env.PayloadType == "" {
		return nil, errors.New("dsseEnvelope has no payloadType")
	}
	b.PayloadType = env.PayloadType
	var err error
	if b.Payload, err = decodeNonEmpty(env.Payload); err != nil {
		return nil, fmt.Errorf("dsseEnvelope.payload: %v", err)
	}
	if b.Signature, err = decodeNonEmpty(env.Signatures[0].Sig); err != nil {
		return nil, fmt.Errorf("dsseEnvelope.signatures[0].sig: %v", err)
	}
	return b, nil
}

func parseCertificate(b64 string) (*x509.Certificate, error) {
	der, err := decodeBase64(b64)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func decodeNonEmpty(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	return decodeBase64(s)
}

// decodeBase64 decodes a protobuf JSON bytes field, which may use the
// standard or the URL-safe alphabet, with or without padding.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("invalid base64")
}

// decodeStrict unmarshals one JSON value into v after checking that data
// is valid UTF-8 (encoding/json would silently replace bad bytes) and that
// no object repeats a key, compared as encoding/json compares them
// (case-insensitively), so that no two JSON readers can see different
// values in the same document. With known, unknown fields are rejected.
func decodeStrict(data []byte, v any, known bool) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	if err := checkKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if known {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// checkKeys walks the JSON tokens of data, rejecting duplicate object keys
// and nesting deeper than maxJSONDepth.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// Each open container has a frame; objects track their keys and
	// whether the next token is a key.
	type frame struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expectKey {
			if k, ok := tok.(string); ok {
				f := strings.ToLower(strings.ToUpper(k))
				if top.keys[f] {
					return fmt.Errorf("duplicate key %q", k)
				}
				top.keys[f] = true
				top.expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxJSONDepth {
				return fmt.Errorf("nested deeper than %d", maxJSONDepth)
			}
			f := &frame{}
			if tok == json.Delim('{') {
				f.keys, f.expectKey = map[string]bool{}, true
			}
			stack = append(stack, f)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].keys != nil {
			stack[len(stack)-1].expectKey = true
		}
	}
}
