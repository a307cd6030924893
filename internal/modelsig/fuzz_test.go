package modelsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fuzzKeyPEM is a fixed test key, so that signed seeds stay valid in the
// saved corpus across runs. It signs nothing but test data.
const fuzzKeyPEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIH0H8EWRa6kB/1vrij2gOgFZX5PH7W1ic9COo7k4hOZ0oAoGCCqGSM49
AwEHoUQDQgAEKsl+9EGVvnOXgt2q0P9BYO7OMGeh+PDSSgrrn4TX4/m8VwwxELG+
Zjv0h1SoVEdj+yuhBozziQWupw539e9psg==
-----END EC PRIVATE KEY-----
`

func fuzzKey(f testing.TB) *ecdsa.PrivateKey {
	block, _ := pem.Decode([]byte(fuzzKeyPEM))
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	return k
}

var sentinels = []error{ErrMalformed, ErrUnsupported, ErrUntrusted, ErrBadSignature}

// wrapsOne reports whether err wraps exactly one of the sentinels.
func wrapsOne(err error) bool {
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	return n == 1
}

func FuzzParseBundle(f *testing.F) {
	key := fuzzKey(f)
	ca := newCA(f)
	leaf := ca.leaf(f, key, goodLeaf)
	for _, chain := range [][][]byte{nil, ders(leaf, ca.inter)} {
		sig, err := Sign(model, "m", key, chain)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig)
	}
	f.Add(rawBundle(f, key, PayloadType, statement(f, shardsSer(4), []res{{"w:0:4", "sha256", sha("w")}, {"b:x:0:1", "blake3", sha("b")}}, nil)))
	names, _ := filepath.Glob(filepath.Join("testdata", "interop", "*"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))

	interop, err := ParsePublicKey(readInterop(f, "signing-key-pub.pem"))
	if err != nil {
		f.Fatal(err)
	}
	roots := ca.pool()
	v := &Verifier{Keys: []crypto.PublicKey{key.Public(), interop}, Roots: roots, CurrentTime: fixedNow}

	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseBundle error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(b.Payload) == 0 || len(b.Signature) == 0 || len(b.Certificates) > MaxCertificates {
			t.Fatalf("bundle %+v", b)
		}
		r, err := v.Verify(b)
		if err != nil {
			if !wrapsOne(err) {
				t.Fatalf("Verify error %v does not wrap exactly one sentinel", err)
			}
			return
		}
		checkManifest(t, r.Manifest)
	})
}

func FuzzParseStatement(f *testing.F) {
	f.Add(statement(f, filesSer(), []res{{"a", "sha256", sha("a")}, {"b/c", "sha256", sha("b")}}, nil))
	f.Add(statement(f, shardsSer(4), []res{{"w:x:0:4", "sha256", sha("1")}, {"w:x:4:6", "sha256", sha("2")}, {"e:0:1", "blake2", sha("x") + sha("y")}}, nil))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://model_signing/Digests/v0.1","subject":[{"name":"a","digest":{"sha256":"` + sha("a") + `"}}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := parseStatement(payload)
		if err != nil {
			return
		}
		checkManifest(t, m)
	})
}

// checkManifest checks the invariants of a manifest parseStatement
// accepted.
func checkManifest(t *testing.T, m *Manifest) {
	t.Helper()
	if m == nil || len(m.Resources) == 0 {
		t.Fatalf("manifest without resources: %+v", m)
	}
	if !m.Legacy {
		h := sha256.New()
		for _, r := range m.Resources {
			raw, err := hex.DecodeString(r.Digest)
			if err != nil || len(raw) != digestSizes[r.Algorithm] {
				t.Fatalf("resource %+v", r)
			}
			h.Write(raw)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != m.RootDigest {
			t.Fatalf("root %s, resources hash to %s", m.RootDigest, got)
		}
	}
	paths := m.Paths()
	if !slices.IsSorted(paths) || len(slices.Compact(slices.Clone(paths))) != len(paths) {
		t.Fatalf("Paths %q", paths)
	}
	// The repository holding exactly the signed whole-file digests.
	files := make(map[string]string)
	for _, p := range paths {
		files[p] = m.Files[p]
		if files[p] == "" {
			files[p] = emptySHA256
		}
	}
	c := Compare(m, files, nil)
	if len(c.Missing)+len(c.Unsigned) != 0 || len(c.Verified)+len(c.Mismatched)+len(c.Unchecked) != len(paths) {
		t.Fatalf("Compare of the signed files: %+v", c)
	}
	for p := range m.Files {
		if !slices.Contains(c.Verified, p) {
			t.Fatalf("signed file %q not verified: %+v", p, c)
		}
	}
}

func FuzzSignRoundTrip(f *testing.F) {
	key := fuzzKey(f)
	f.Add("model.safetensors", []byte("weights"))
	f.Add("a/b:0:4", []byte(""))
	f.Add(".gitattributes", []byte("x"))
	f.Add("é/\u2028\"<&>", []byte("x"))
	v := &Verifier{Keys: []crypto.PublicKey{key.Public()}}
	f.Fuzz(func(t *testing.T, name string, content []byte) {
		sum := sha256.Sum256(content)
		files := map[string]string{"config.json": sha("{}"), name: hex.EncodeToString(sum[:])}
		sig, err := Sign(files, "m", key, nil)
		if err != nil {
			if validPath(name) {
				t.Fatalf("Sign(%q): %v", name, err)
			}
			return
		}
		b, err := ParseBundle(sig)
		if err != nil {
			t.Fatal(err)
		}
		r, err := v.Verify(b)
		if err != nil {
			t.Fatal(err)
		}
		want := files
		if r.Manifest.Ignored(name) {
			want = map[string]string{"config.json": sha("{}")}
		}
		if !mapsEqual(want, r.Manifest.Files) {
			t.Fatalf("signed %v, manifest has %v", want, r.Manifest.Files)
		}
		if c := Compare(r.Manifest, files, nil); !c.OK() {
			t.Fatalf("Compare: %+v", c)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
