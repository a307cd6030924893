package modelsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/url"
	"testing"
	"time"
)

// now is the fixed verification time of the tests.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certSpec describes a test certificate.
type certSpec struct {
	cn        string
	ca        bool
	notBefore time.Time
	notAfter  time.Time
	keyUsage  x509.KeyUsage
	extUsage  []x509.ExtKeyUsage
	emails    []string
	uris      []string
}

// issue creates a certificate for pub, signed by parent/parentKey, or
// self-signed when parent is nil.
func issue(t testing.TB, s certSpec, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if s.notBefore.IsZero() {
		s.notBefore = now.Add(-24 * time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = now.Add(365 * 24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"Agora Test"}},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              s.keyUsage,
		ExtKeyUsage:           s.extUsage,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
		EmailAddresses:        s.emails,
	}
	for _, u := range s.uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testCA is a root and an intermediate.
type testCA struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
}

func newCA(t testing.TB) *testCA {
	t.Helper()
	ca := &testCA{rootKey: newKey(t, elliptic.P256()), interKey: newKey(t, elliptic.P256())}
	caUsage := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	ca.root = issue(t, certSpec{cn: "Agora Test Root", ca: true, keyUsage: caUsage,
		notBefore: now.AddDate(-5, 0, 0), notAfter: now.AddDate(10, 0, 0)}, ca.rootKey.Public(), nil, ca.rootKey)
	ca.inter = issue(t, certSpec{cn: "Agora Test Intermediate", ca: true, keyUsage: caUsage,
		notBefore: now.AddDate(-1, 0, 0), notAfter: now.AddDate(5, 0, 0)}, ca.interKey.Public(), ca.root, ca.rootKey)
	return ca
}

// leaf issues a code-signing leaf for key from the intermediate; spec's
// zero fields get the defaults of a well-formed signing certificate.
func (ca *testCA) leaf(t testing.TB, key *ecdsa.PrivateKey, s certSpec) *x509.Certificate {
	t.Helper()
	if s.cn == "" {
		s.cn = "Alice"
	}
	return issue(t, s, key.Public(), ca.inter, ca.interKey)
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

var goodLeaf = certSpec{
	keyUsage: x509.KeyUsageDigitalSignature,
	extUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	emails:   []string{"alice@example.com"},
}

func ders(certs ...*x509.Certificate) [][]byte {
	var out [][]byte
	for _, c := range certs {
		out = append(out, c.Raw)
	}
	return out
}

// rawBundle signs payload as it is, with key's hint (or chain when set),
// so tests can sign payloads Sign would never produce.
func rawBundle(t testing.TB, key *ecdsa.PrivateKey, payloadType string, payload []byte, chain ...*x509.Certificate) []byte {
	t.Helper()
	sig, err := key.Sign(rand.Reader, digest(hashFor(key.Curve), pae(payloadType, payload)), hashFor(key.Curve))
	if err != nil {
		t.Fatal(err)
	}
	var material jsonMaterial
	if len(chain) == 0 {
		hint, err := KeyHint(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		material.PublicKey = &jsonPublicKey{Hint: hint}
	} else {
		material.X509CertificateChain = &jsonChain{}
		for _, c := range chain {
			material.X509CertificateChain.Certificates = append(material.X509CertificateChain.Certificates,
				jsonCertificate{RawBytes: base64.StdEncoding.EncodeToString(c.Raw)})
		}
	}
	b, err := json.Marshal(jsonBundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: &material,
		DSSEEnvelope: &jsonEnvelope{
			Payload:     base64.StdEncoding.EncodeToString(payload),
			PayloadType: payloadType,
			Signatures:  []jsonSignature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editJSON decodes a bundle into generic values, lets edit change them and
// re-encodes it.
func editJSON(t testing.TB, data []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(v any, keys ...string) map[string]any {
	m := v.(map[string]any)
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}
