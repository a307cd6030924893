package modelsig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// model is a small repository: path → SHA-256 of its content.
var model = map[string]string{
	"README.md":                   sha("# My model\n"),
	"config.json":                 sha(`{"model_type":"llama"}`),
	"model.safetensors":           sha("weights"),
	"tokenizer/tokenizer.json":    sha("{}"),
	"tokenizer/special_tokens.md": sha(""),
}

func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestSignVerifyCompare(t *testing.T) {
	key := newKey(t, elliptic.P256())
	sig, err := Sign(with(model, ".gitattributes", sha("*.safetensors filter=lfs")), "my-model", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(sig)
	if err != nil {
		t.Fatal(err)
	}
	other := newKey(t, elliptic.P256())
	v := &Verifier{Keys: []crypto.PublicKey{other.Public(), key.Public()}}
	r, err := v.Verify(b)
	if err != nil {
		t.Fatal(err)
	}
	hint, _ := KeyHint(key.Public())
	if r.Method != MethodKey || r.KeyIndex != 1 || r.KeyHint != hint || r.Identity != "key:"+hint || r.LegacyPAE {
		t.Errorf("result %+v", r)
	}
	m := r.Manifest
	if m.ModelName != "my-model" || m.Method != SerializationFiles || m.HashType != HashSHA256 || m.Legacy {
		t.Errorf("manifest %+v", m)
	}
	if diff := cmp.Diff(model, m.Files); diff != "" {
		t.Errorf("signed files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{".git", ".gitattributes", ".github", ".gitignore", "model.sig"}, m.IgnorePaths); diff != "" {
		t.Errorf("ignore_paths (-want +got):\n%s", diff)
	}

	all := []string{"README.md", "config.json", "model.safetensors", "tokenizer/special_tokens.md", "tokenizer/tokenizer.json"}
	tests := []struct {
		name   string
		files  map[string]string
		ignore func(string) bool
		want   Comparison
	}{
		{
			name:  "identical",
			files: with(model, "model.sig", sha("sig"), ".gitattributes", sha("x")),
			want:  Comparison{Verified: all, Ignored: []string{".gitattributes", "model.sig"}},
		},
		{
			name:  "upper-case digests",
			files: with(model, "config.json", strings.ToUpper(model["config.json"])),
			want:  Comparison{Verified: all},
		},
		{
			name:  "tampered file",
			files: with(model, "model.safetensors", sha("evil weights")),
			want: Comparison{
				Verified:   []string{"README.md", "config.json", "tokenizer/special_tokens.md", "tokenizer/tokenizer.json"},
				Mismatched: []string{"model.safetensors"},
			},
		},
		{
			name:  "extra file",
			files: with(model, "pytorch_model.bin", sha("pickle")),
			want:  Comparison{Verified: all, Unsigned: []string{"pytorch_model.bin"}},
		},
		{
			name:  "missing file",
			files: with(model, "tokenizer/tokenizer.json", ""),
			want: Comparison{
				Verified: []string{"README.md", "config.json", "model.safetensors", "tokenizer/special_tokens.md"},
				Missing:  []string{"tokenizer/tokenizer.json"},
			},
		},
		{
			name:  "default exclusions are top-level only",
			files: with(model, ".github/workflows/ci.yml", sha("ci"), ".git/HEAD", sha("ref"), "sub/.gitattributes", sha("a"), "sub/model.sig", sha("s")),
			want:  Comparison{Verified: all, Ignored: []string{".git/HEAD", ".github/workflows/ci.yml"}, Unsigned: []string{"sub/.gitattributes", "sub/model.sig"}},
		},
		{
			name:   "caller ignores a signature elsewhere",
			files:  with(model, "signatures/model.sig", sha("s")),
			ignore: func(p string) bool { return p == "signatures/model.sig" },
			want:   Comparison{Verified: all, Ignored: []string{"signatures/model.sig"}},
		},
		{
			name:   "ignoring a signed file does not skip it",
			files:  with(model, "README.md", sha("edited card")),
			ignore: func(p string) bool { return p == "README.md" },
			want: Comparison{
				Verified:   []string{"config.json", "model.safetensors", "tokenizer/special_tokens.md", "tokenizer/tokenizer.json"},
				Mismatched: []string{"README.md"},
			},
		},
		{
			name:  "empty repository",
			files: map[string]string{},
			want:  Comparison{Missing: all},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(m, tt.files, tt.ignore)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
			if wantOK := tt.name == "identical" || tt.name == "upper-case digests" || tt.name == "caller ignores a signature elsewhere"; got.OK() != wantOK {
				t.Errorf("OK() = %v, want %v", got.OK(), wantOK)
			}
		})
	}
}

func TestSignCurves(t *testing.T) {
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		t.Run(c.Params().Name, func(t *testing.T) {
			key := newKey(t, c)
			sig, err := Sign(model, "m", key, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Users register PEM keys.
			der, _ := x509.MarshalPKIXPublicKey(key.Public())
			pub, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			if err != nil {
				t.Fatal(err)
			}
			b, err := ParseBundle(sig)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := (&Verifier{Keys: []crypto.PublicKey{pub}}).Verify(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	key := newKey(t, elliptic.P256())
	ca := newCA(t)
	otherLeaf := ca.leaf(t, newKey(t, elliptic.P256()), goodLeaf)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name   string
		files  map[string]string
		signer crypto.Signer
		chain  [][]byte
	}{
		{"no files", map[string]string{}, key, nil},
		{"only excluded files", map[string]string{".gitattributes": sha(""), "model.sig": sha("")}, key, nil},
		{"absolute path", with(model, "/etc/passwd", sha("")), key, nil},
		{"dot-dot path", with(model, "a/../b", sha("")), key, nil},
		{"dot path", with(model, "./b", sha("")), key, nil},
		{"double slash", with(model, "a//b", sha("")), key, nil},
		{"trailing slash", with(model, "a/", sha("")), key, nil},
		{"invalid UTF-8", with(model, "a\xffb", sha("")), key, nil},
		{"bad digest", with(model, "a", "abc"), key, nil},
		{"RSA signer", model, rsaKey, nil},
		{"Ed25519 signer", model, edKey, nil},
		{"P-224 signer", model, newKey(t, elliptic.P224()), nil},
		{"certificate for another key", model, key, ders(otherLeaf, ca.inter)},
		{"garbage certificate", model, key, [][]byte{[]byte("not DER")}},
		{"empty chain", model, key, [][]byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sig, err := Sign(tt.files, "m", tt.signer, tt.chain); err == nil {
				t.Fatalf("Sign succeeded:\n%s", sig)
			}
		})
	}
}

func TestVerifyKeyErrors(t *testing.T) {
	key := newKey(t, elliptic.P256())
	wrong := newKey(t, elliptic.P256())
	_, edPub, _ := ed25519.GenerateKey(rand.Reader)
	good, err := Sign(model, "m", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	noHint := editJSON(t, good, func(m map[string]any) {
		obj(m, "verificationMaterial")["publicKey"] = map[string]any{}
	})
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	rawKey := editJSON(t, good, func(m map[string]any) {
		obj(m, "verificationMaterial")["publicKey"] = map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der)}
	})
	tamperedPayload := editJSON(t, good, func(m map[string]any) {
		env := obj(m, "dsseEnvelope")
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		p = []byte(strings.Replace(string(p), `"my-model"`, `"evil"`, 1))
		p = []byte(strings.Replace(string(p), model["config.json"], sha("evil"), 1))
		env["payload"] = base64.StdEncoding.EncodeToString(p)
	})
	tamperedSig := editJSON(t, good, func(m map[string]any) {
		s := obj(m, "dsseEnvelope")["signatures"].([]any)[0].(map[string]any)
		raw, _ := base64.StdEncoding.DecodeString(s["sig"].(string))
		raw[len(raw)-1] ^= 1
		s["sig"] = base64.StdEncoding.EncodeToString(raw)
	})
	otherType := rawBundle(t, key, "application/json", mustPayload(t, model))

	tests := []struct {
		name   string
		bundle []byte
		keys   []crypto.PublicKey
		want   error
	}{
		{"no hint, right key", noHint, []crypto.PublicKey{wrong.Public(), key.Public()}, nil},
		{"rawBytes, right key", rawKey, []crypto.PublicKey{wrong.Public(), key.Public()}, nil},
		{"wrong key", good, []crypto.PublicKey{wrong.Public()}, ErrUntrusted},
		{"no keys", good, nil, ErrUntrusted},
		{"non-ECDSA keys are skipped", good, []crypto.PublicKey{edPub}, ErrUntrusted},
		{"rawBytes of an untrusted key", rawKey, []crypto.PublicKey{wrong.Public()}, ErrUntrusted},
		{"no hint, wrong key", noHint, []crypto.PublicKey{wrong.Public()}, ErrBadSignature},
		{"tampered payload", tamperedPayload, []crypto.PublicKey{key.Public()}, ErrBadSignature},
		{"tampered signature", tamperedSig, []crypto.PublicKey{key.Public()}, ErrBadSignature},
		{"payload type", otherType, []crypto.PublicKey{key.Public()}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle(tt.bundle)
			if err != nil {
				t.Fatal(err)
			}
			r, err := (&Verifier{Keys: tt.keys}).Verify(b)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err == nil && r.KeyIndex != 1 {
				t.Errorf("KeyIndex %d, want 1", r.KeyIndex)
			}
		})
	}
}

func mustPayload(t testing.TB, files map[string]string) []byte {
	t.Helper()
	p, err := statementFor(files, "m")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyCertificate(t *testing.T) {
	ca := newCA(t)
	key := newKey(t, elliptic.P256())
	leaf := ca.leaf(t, key, goodLeaf)
	otherCA := newCA(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaLeaf := issue(t, goodLeaf, rsaKey.Public(), ca.inter, ca.interKey)

	sign := func(leaf *x509.Certificate, chain ...*x509.Certificate) []byte {
		t.Helper()
		sig, err := Sign(model, "m", key, ders(append([]*x509.Certificate{leaf}, chain...)...))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	interPool := x509.NewCertPool()
	interPool.AddCert(ca.inter)

	tests := []struct {
		name     string
		bundle   []byte
		verifier Verifier
		identity string
		want     error
	}{
		{
			name:     "chain in the bundle",
			bundle:   sign(leaf, ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			identity: "email:alice@example.com",
		},
		{
			name:     "intermediate configured",
			bundle:   sign(leaf),
			verifier: Verifier{Roots: ca.pool(), Intermediates: interPool},
			identity: "email:alice@example.com",
		},
		{
			name:     "URI identity",
			bundle:   sign(ca.leaf(t, key, certSpec{extUsage: goodLeaf.extUsage, uris: []string{"https://ci.example.com/release"}}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			identity: "uri:https://ci.example.com/release",
		},
		{
			name:     "subject identity, digitalSignature alone",
			bundle:   sign(ca.leaf(t, key, certSpec{keyUsage: x509.KeyUsageDigitalSignature}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			identity: "subject:CN=Alice,O=Agora Test",
		},
		{
			name:     "codeSigning alone",
			bundle:   sign(ca.leaf(t, key, certSpec{extUsage: goodLeaf.extUsage, emails: goodLeaf.emails}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			identity: "email:alice@example.com",
		},
		{
			name:     "wrong root",
			bundle:   sign(leaf, ca.inter),
			verifier: Verifier{Roots: otherCA.pool()},
			want:     ErrUntrusted,
		},
		{
			name:     "no roots",
			bundle:   sign(leaf, ca.inter),
			verifier: Verifier{},
			want:     ErrUntrusted,
		},
		{
			name:     "intermediate unknown",
			bundle:   sign(leaf),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUntrusted,
		},
		{
			name: "expired leaf",
			bundle: sign(ca.leaf(t, key, certSpec{keyUsage: goodLeaf.keyUsage, extUsage: goodLeaf.extUsage,
				notBefore: now.AddDate(-2, 0, 0), notAfter: now.AddDate(-1, 0, 0)}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUntrusted,
		},
		{
			name: "leaf not yet valid",
			bundle: sign(ca.leaf(t, key, certSpec{keyUsage: goodLeaf.keyUsage, extUsage: goodLeaf.extUsage,
				notBefore: now.Add(time.Hour)}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUntrusted,
		},
		{
			name:     "valid leaf checked after it expires",
			bundle:   sign(leaf, ca.inter),
			verifier: Verifier{Roots: ca.pool(), CurrentTime: func() time.Time { return now.AddDate(2, 0, 0) }},
			want:     ErrUntrusted,
		},
		{
			name:     "server-auth certificate",
			bundle:   sign(ca.leaf(t, key, certSpec{keyUsage: goodLeaf.keyUsage, extUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUntrusted,
		},
		{
			name:     "key usage without digitalSignature",
			bundle:   sign(ca.leaf(t, key, certSpec{keyUsage: x509.KeyUsageKeyEncipherment, extUsage: goodLeaf.extUsage}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUntrusted,
		},
		{
			name:     "no usage at all",
			bundle:   sign(ca.leaf(t, key, certSpec{}), ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUntrusted,
		},
		{
			name:     "signed by another key",
			bundle:   rawBundle(t, newKey(t, elliptic.P256()), PayloadType, mustPayload(t, model), leaf, ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrBadSignature,
		},
		{
			name:     "RSA leaf",
			bundle:   rawBundle(t, key, PayloadType, mustPayload(t, model), rsaLeaf, ca.inter),
			verifier: Verifier{Roots: ca.pool()},
			want:     ErrUnsupported,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle(tt.bundle)
			if err != nil {
				t.Fatal(err)
			}
			v := tt.verifier
			if v.CurrentTime == nil {
				v.CurrentTime = fixedNow
			}
			r, err := v.Verify(b)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if r.Identity != tt.identity || r.Method != MethodCertificate || r.KeyIndex != -1 || len(r.Chain) != 3 || r.Chain[2] != ca.root && !r.Chain[2].Equal(ca.root) {
				t.Errorf("result: identity %q method %s index %d chain %d", r.Identity, r.Method, r.KeyIndex, len(r.Chain))
			}
			if hint, _ := KeyHint(key.Public()); r.KeyHint != hint {
				t.Errorf("KeyHint %s, want %s", r.KeyHint, hint)
			}
			if !r.VerifiedAt.Equal(now) {
				t.Errorf("VerifiedAt %v", r.VerifiedAt)
			}
			if c := Compare(r.Manifest, model, nil); !c.OK() {
				t.Errorf("Compare: %+v", c)
			}
		})
	}
}

func TestVerifySigstoreUnsupported(t *testing.T) {
	ca := newCA(t)
	key := newKey(t, elliptic.P256())
	leaf := ca.leaf(t, key, goodLeaf)
	b := editJSON(t, rawBundle(t, key, PayloadType, mustPayload(t, model), leaf), func(m map[string]any) {
		vm := obj(m, "verificationMaterial")
		delete(vm, "x509CertificateChain")
		vm["certificate"] = map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(leaf.Raw)}
		vm["tlogEntries"] = []any{map[string]any{"logIndex": "1", "integratedTime": "1700000000"}}
	})
	bundle, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if bundle.Method != MethodSigstore || bundle.TransparencyLogEntries != 1 || len(bundle.Certificates) != 1 {
		t.Fatalf("bundle %+v", bundle)
	}
	_, err = (&Verifier{Roots: ca.pool(), CurrentTime: fixedNow}).Verify(bundle)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Verify: %v, want ErrUnsupported", err)
	}
	if _, err := (&Verifier{}).Verify(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Verify(nil): %v", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	p256 := newKey(t, elliptic.P256())
	der256, _ := x509.MarshalPKIXPublicKey(p256.Public())
	der224, _ := x509.MarshalPKIXPublicKey(newKey(t, elliptic.P224()).Public())
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	derEd, _ := x509.MarshalPKIXPublicKey(edPub)
	pemOf := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"PEM", pemOf("PUBLIC KEY", der256), nil},
		{"DER", der256, nil},
		{"PEM with text around", append(append([]byte("my key:\n"), pemOf("PUBLIC KEY", der256)...), "bye\n"...), nil},
		{"private key block", pemOf("EC PRIVATE KEY", der256), ErrMalformed},
		{"garbage", []byte("ssh-ed25519 AAAA"), ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"P-224", pemOf("PUBLIC KEY", der224), ErrUnsupported},
		{"Ed25519", pemOf("PUBLIC KEY", derEd), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParsePublicKey(tt.in)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("ParsePublicKey: %v, want %v", err, tt.want)
			}
			if err == nil && !p256.PublicKey.Equal(k) {
				t.Fatalf("got another key")
			}
		})
	}
}

func TestParseBundleMalformed(t *testing.T) {
	key := newKey(t, elliptic.P256())
	good, err := Sign(model, "m", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := newCA(t)
	leaf := ca.leaf(t, key, goodLeaf)
	certs := []any{}
	for range MaxCertificates + 1 {
		certs = append(certs, map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(leaf.Raw)})
	}
	edit := func(f func(m map[string]any)) []byte { return editJSON(t, good, f) }
	goodStr := string(good)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"null", []byte("null")},
		{"empty object", []byte("{}")},
		{"not JSON", []byte("model.sig")},
		{"array", []byte("[]")},
		{"truncated", good[:len(good)/2]},
		{"trailing data", append(append([]byte{}, good...), "{}"...)},
		{"invalid UTF-8", []byte(strings.Replace(goodStr, `"mediaType"`, "\"mediaType\xff\"", 1))},
		{"too large", append(append([]byte{}, good...), strings.Repeat(" ", MaxBundleSize)...)},
		{"duplicate key", []byte(strings.Replace(goodStr, `"mediaType"`, `"mediaType": "x", "mediaType"`, 1))},
		{"duplicate key, other case", []byte(strings.Replace(goodStr, `"mediaType"`, `"MEDIATYPE": "x", "mediaType"`, 1))},
		{"duplicate payload", []byte(strings.Replace(goodStr, `"payload"`, `"payload": "e30=", "payload"`, 1))},
		{"deep nesting", []byte(`{"mediaType":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)},
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 })},
		{"unknown material field", edit(func(m map[string]any) { obj(m, "verificationMaterial")["x"] = 1 })},
		{"wrong type", edit(func(m map[string]any) { m["mediaType"] = 3 })},
		{"unknown media type", edit(func(m map[string]any) { m["mediaType"] = "application/json" })},
		{"no media type", edit(func(m map[string]any) { delete(m, "mediaType") })},
		{"no material", edit(func(m map[string]any) { delete(m, "verificationMaterial") })},
		{"empty material", edit(func(m map[string]any) { m["verificationMaterial"] = map[string]any{} })},
		{"two materials", edit(func(m map[string]any) {
			obj(m, "verificationMaterial")["certificate"] = map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(leaf.Raw)}
		})},
		{"short hint", edit(func(m map[string]any) { obj(m, "verificationMaterial", "publicKey")["hint"] = "abcd" })},
		{"non-hex hint", edit(func(m map[string]any) { obj(m, "verificationMaterial", "publicKey")["hint"] = strings.Repeat("z", 64) })},
		{"bad rawBytes", edit(func(m map[string]any) { obj(m, "verificationMaterial", "publicKey")["rawBytes"] = "!!" })},
		{"empty chain", edit(func(m map[string]any) {
			obj(m, "verificationMaterial")["x509CertificateChain"] = map[string]any{"certificates": []any{}}
			delete(obj(m, "verificationMaterial"), "publicKey")
		})},
		{"long chain", edit(func(m map[string]any) {
			obj(m, "verificationMaterial")["x509CertificateChain"] = map[string]any{"certificates": certs}
			delete(obj(m, "verificationMaterial"), "publicKey")
		})},
		{"garbage certificate", edit(func(m map[string]any) {
			obj(m, "verificationMaterial")["x509CertificateChain"] = map[string]any{"certificates": []any{map[string]any{"rawBytes": "AAAA"}}}
			delete(obj(m, "verificationMaterial"), "publicKey")
		})},
		{"garbage sigstore certificate", edit(func(m map[string]any) {
			obj(m, "verificationMaterial")["certificate"] = map[string]any{"rawBytes": "AAAA"}
			delete(obj(m, "verificationMaterial"), "publicKey")
		})},
		{"no envelope", edit(func(m map[string]any) { delete(m, "dsseEnvelope") })},
		{"message signature", edit(func(m map[string]any) { m["messageSignature"] = map[string]any{} })},
		{"no signatures", edit(func(m map[string]any) { obj(m, "dsseEnvelope")["signatures"] = []any{} })},
		{"two signatures", edit(func(m map[string]any) {
			s := obj(m, "dsseEnvelope")["signatures"].([]any)
			obj(m, "dsseEnvelope")["signatures"] = append(s, s[0])
		})},
		{"empty signature", edit(func(m map[string]any) {
			obj(m, "dsseEnvelope")["signatures"] = []any{map[string]any{"sig": ""}}
		})},
		{"no payload type", edit(func(m map[string]any) { delete(obj(m, "dsseEnvelope"), "payloadType") })},
		{"bad payload base64", edit(func(m map[string]any) { obj(m, "dsseEnvelope")["payload"] = "%%%" })},
		{"empty payload", edit(func(m map[string]any) { obj(m, "dsseEnvelope")["payload"] = "" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle(tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseBundle: %v, %+v; want ErrMalformed", err, b)
			}
		})
	}
}

func TestParseBundleAccepts(t *testing.T) {
	key := newKey(t, elliptic.P256())
	good, err := Sign(model, "m", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte { return editJSON(t, good, f) }
	urlSafe := func(m map[string]any) {
		env := obj(m, "dsseEnvelope")
		p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		env["payload"] = base64.RawURLEncoding.EncodeToString(p)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"as signed", good},
		{"keyid null", edit(func(m map[string]any) {
			obj(m, "dsseEnvelope")["signatures"].([]any)[0].(map[string]any)["keyid"] = nil
		})},
		{"keyid empty", edit(func(m map[string]any) {
			obj(m, "dsseEnvelope")["signatures"].([]any)[0].(map[string]any)["keyid"] = ""
		})},
		{"no tlogEntries", edit(func(m map[string]any) { delete(obj(m, "verificationMaterial"), "tlogEntries") })},
		{"older media type", edit(func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2" })},
		{"URL-safe unpadded base64", edit(urlSafe)},
		{"upper-case hint", edit(func(m map[string]any) {
			h := obj(m, "verificationMaterial", "publicKey")
			h["hint"] = strings.ToUpper(h["hint"].(string))
		})},
		{"timestamp data", edit(func(m map[string]any) {
			obj(m, "verificationMaterial")["timestampVerificationData"] = map[string]any{"rfc3161Timestamps": []any{}}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBundle(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := (&Verifier{Keys: []crypto.PublicKey{key.Public()}}).Verify(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSignOutput(t *testing.T) {
	key := newKey(t, elliptic.P256())
	sig, err := Sign(map[string]string{"b": sha("b"), "a/z": sha("z"), "a-b": sha("ab"), "é": sha("e")}, "", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		DSSEEnvelope struct {
			Payload    string
			Signatures []map[string]any
		} `json:"dsseEnvelope"`
		VerificationMaterial map[string]any `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(sig, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.VerificationMaterial["publicKey"].(map[string]any)["hint"]; !ok {
		t.Errorf("no publicKey.hint in %s", sig)
	}
	p, _ := base64.StdEncoding.DecodeString(raw.DSSEEnvelope.Payload)
	m, err := parseStatement(p)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range m.Resources {
		names = append(names, r.Name)
	}
	// Code-point order: "-" (0x2d) < "/" (0x2f), unlike Python's
	// component-wise PurePosixPath order.
	if diff := cmp.Diff([]string{"a-b", "a/z", "b", "é"}, names); diff != "" {
		t.Errorf("resource order (-want +got):\n%s", diff)
	}
	if m.ModelName != "model" {
		t.Errorf("default model name %q", m.ModelName)
	}
}

// TestKeyHintMatchesReference checks the hint against the one
// model-transparency computed for its test key.
func TestKeyHintMatchesReference(t *testing.T) {
	pub, err := ParsePublicKey(readInterop(t, "signing-key-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	hint, err := KeyHint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if want := "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e"; hint != want {
		t.Errorf("KeyHint = %s, want %s", hint, want)
	}
	if _, err := KeyHint(struct{}{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("KeyHint(struct{}{}): %v", err)
	}
}

func TestPyBytesRepr(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": 1}`, `b'{"a": 1}'`},
		{"it's", `b"it's"`},
		{`it's "x"`, `b'it\'s "x"'`},
		{"a\\b\n\t\r\x00\x7f\xe9", `b'a\\b\n\t\r\x00\x7f\xe9'`},
	}
	for _, tt := range tests {
		if got := string(appendPyBytesRepr(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("repr(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
