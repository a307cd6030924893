package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/modelsig"
)

func pubPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signatureOf commits files plus a model.sig and returns the derived
// "signature" object.
func (f *fixture) signatureOf(t *testing.T, name string, files map[string]string, sig []byte) map[string]any {
	t.Helper()
	ref := RepoRef{TypeModel, "alice", name}
	f.create(t, ref, false)
	ops := []CommitOp{{Kind: OpFile, Path: "model.sig", Content: sig}}
	for p, c := range files {
		ops = append(ops, put(p, c))
	}
	if _, err := f.s.Commit(t.Context(), f.alice, ref, CommitRequest{Revision: "main", Ops: ops}); err != nil {
		t.Fatal(err)
	}
	info, err := f.s.Info(t.Context(), nil, ref, "main")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	json.Unmarshal(info.Meta.Info, &m)
	var out map[string]any
	json.Unmarshal(m["signature"], &out)
	return out
}

func TestModelSignatures(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	files := map[string]string{"config.json": `{"model_type":"llama"}`, "weights.txt": "tensor data"}
	// .gitattributes is in every repository and outside the signature's
	// scope by the spec.
	signed := map[string]string{}
	for p, c := range files {
		signed[p] = digest(c)
	}
	sig, err := modelsig.Sign(signed, "m", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	if _, err := f.s.RegisterSigningKey(t.Context(), f.alice, "laptop", pubPEM(t, key)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RegisterSigningKey(t.Context(), f.alice, "bad", "not a key"); err == nil {
		t.Fatal("garbage key accepted")
	}
	cases := []struct {
		name   string
		files  map[string]string
		sig    []byte
		status string
		check  func(map[string]any) bool
	}{
		{"verified", files, sig, "verified", func(m map[string]any) bool {
			return m["signer"] == "user:alice" && len(m["verifiedFiles"].([]any)) == 2
		}},
		{"tampered file", map[string]string{"config.json": files["config.json"], "weights.txt": "changed"}, sig, "mismatch",
			func(m map[string]any) bool { return len(m["mismatchedFiles"].([]any)) == 1 }},
		{"extra file", map[string]string{"config.json": files["config.json"], "weights.txt": files["weights.txt"], "extra.py": "x"}, sig, "mismatch",
			func(m map[string]any) bool { return len(m["unsignedFiles"].([]any)) == 1 }},
		{"missing file", map[string]string{"config.json": files["config.json"]}, sig, "mismatch",
			func(m map[string]any) bool { return len(m["missingFiles"].([]any)) == 1 }},
		{"unknown key", files, func() []byte { b, _ := modelsig.Sign(signed, "m", other, nil); return b }(), "unverified", nil},
		{"garbage", files, []byte("{not a bundle"), "invalid", nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := f.signatureOf(t, "sig"+string(rune('a'+i)), tc.files, tc.sig)
			if got["status"] != tc.status || tc.check != nil && !tc.check(got) {
				t.Fatalf("signature %v", got)
			}
		})
	}
}

func TestCertificateSignatures(t *testing.T) {
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Agora test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, _ := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "signer"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"ml@example.org"}}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	files := map[string]string{"weights.txt": "w"}
	sig, err := modelsig.Sign(map[string]string{"weights.txt": digest("w")}, "m", leafKey, [][]byte{leafDER})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	f := newFixture(t, func(c *Config) { c.SigningRoots = pool })
	got := f.signatureOf(t, "cert", files, sig)
	if got["status"] != "verified" || !strings.Contains(got["signer"].(string), "ml@example.org") {
		t.Fatalf("certificate signature: %v", got)
	}
	// Without the root configured, the same signature does not verify.
	g := newFixture(t)
	if got := g.signatureOf(t, "cert", files, sig); got["status"] != "unverified" {
		t.Fatalf("no roots: %v", got)
	}
}

func TestOpennessTags(t *testing.T) {
	f := newFixture(t)
	ref := RepoRef{TypeModel, "alice", "open"}
	f.create(t, ref, false)
	card := "---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# Open\n\nno documentation\n"
	if _, err := f.s.Commit(t.Context(), f.alice, ref, CommitRequest{Revision: "main", Ops: []CommitOp{put("README.md", card), put("weights.safetensors", "x")}}); err != nil {
		t.Fatal(err)
	}
	info, err := f.s.Info(t.Context(), nil, ref, "main")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(info.Meta.Tags, ","), "openness:") || !strings.Contains(string(info.Meta.Info), `"openness"`) {
		t.Fatalf("no openness: %v %s", info.Meta.Tags, info.Meta.Info)
	}
}
