package modelsig

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The files in testdata/interop were written by sigstore/model-transparency
// (scripts/tests/*/model.sig) and by the OMS conformance test vectors
// (ossf/model-signing-spec test-vectors/valid/*.bundle.json); see
// testdata/interop/README.md. They check that this package reads and
// verifies what the reference implementation writes.

const (
	signme1 = "bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc"
	signme2 = "32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028"
)

func readInterop(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "interop", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// interopVerifier trusts the reference implementation's test key and, as
// a CA, the intermediate its test certificates chain to (the test root is
// not published).
func interopVerifier(t *testing.T) *Verifier {
	t.Helper()
	pub, err := ParsePublicKey(readInterop(t, "signing-key-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(readInterop(t, "certificate-v1.1.bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(b.Certificates[1])
	return &Verifier{
		Keys:        []crypto.PublicKey{pub},
		Roots:       roots,
		CurrentTime: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
}

func TestInterop(t *testing.T) {
	tests := []struct {
		file      string
		method    Method
		identity  string
		legacy    bool
		files     map[string]string
		ignore    []string
		legacyPAE bool
	}{
		{
			file: "key-v1.1.bundle.json", method: MethodKey,
			identity: "key:e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e",
			files:    map[string]string{"signme-1": signme1, "signme-2": signme2},
			ignore:   []string{".gitattributes", ".github", "ignore-me", ".gitignore", ".git"},
		},
		{
			file: "key-v1.0.0-rawbytes.sig", method: MethodKey,
			identity: "key:e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e",
			files:    map[string]string{".": signme1},
		},
		{
			file: "certificate-v1.1.bundle.json", method: MethodCertificate,
			identity: "subject:CN=intermediate-ca",
			files:    map[string]string{"signme-1": signme1, "signme-2": signme2},
			ignore:   []string{".git", ".gitignore", ".github", "ignore-me", ".gitattributes"},
		},
		{
			file: "certificate-v0.2.0.sig", method: MethodCertificate,
			identity: "subject:CN=intermediate-ca", legacy: true, legacyPAE: true,
			files: map[string]string{"signme-1": "f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1", "signme-2": signme2},
		},
	}
	v := interopVerifier(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := ParseBundle(readInterop(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := v.Verify(b)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != tt.method || r.Identity != tt.identity || r.Manifest.Legacy != tt.legacy || r.LegacyPAE != tt.legacyPAE {
				t.Errorf("got method %s identity %q legacy %v legacyPAE %v", r.Method, r.Identity, r.Manifest.Legacy, r.LegacyPAE)
			}
			if diff := cmp.Diff(tt.files, r.Manifest.Files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ignore, r.Manifest.IgnorePaths); diff != "" {
				t.Errorf("ignore_paths (-want +got):\n%s", diff)
			}
		})
	}
}
