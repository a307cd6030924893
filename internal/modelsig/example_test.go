package modelsig_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	"github.com/agorahub/agora/internal/modelsig"
)

func digest(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

// A hub verifies a pushed model.sig against the keys its owner registered
// and compares it with the revision's files, whose SHA-256 digests it
// already has (LFS oids for large files).
func Example() {
	// The owner signs the model and registers the public key (PEM).
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	repo := map[string]string{
		"config.json":       digest(`{"model_type": "llama"}`),
		"model.safetensors": digest("weights"),
	}
	sig, _ := modelsig.Sign(repo, "acme-7b", key, nil)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	registered := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	// On push: the revision now also has the signature and a new README.
	repo["model.sig"] = digest(string(sig))
	repo["README.md"] = digest("# Acme")

	pub, err := modelsig.ParsePublicKey(registered)
	if err != nil {
		panic(err)
	}
	b, err := modelsig.ParseBundle(sig)
	if err != nil {
		panic(err)
	}
	v := &modelsig.Verifier{Keys: []crypto.PublicKey{pub}}
	r, err := v.Verify(b)
	if err != nil {
		panic(err)
	}
	c := modelsig.Compare(r.Manifest, repo, nil)
	fmt.Println(r.Method, r.KeyIndex, r.Manifest.ModelName)
	fmt.Println("verified:", c.Verified)
	fmt.Println("unsigned:", c.Unsigned)
	fmt.Println("ignored:", c.Ignored)
	fmt.Println("ok:", c.OK())
	// Output:
	// key 0 acme-7b
	// verified: [config.json model.safetensors]
	// unsigned: [README.md]
	// ignored: [model.sig]
	// ok: false
}
