package modelsig

import (
	"bytes"
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// res is a resource for statement.
type res struct{ name, alg, digest string }

// statement builds an OMS statement; edit may change it before it is
// encoded. The subject's root digest is computed from the resources.
func statement(t testing.TB, ser map[string]any, resources []res, edit func(st map[string]any)) []byte {
	t.Helper()
	h := sha256.New()
	var rs []any
	for _, r := range resources {
		raw, _ := hex.DecodeString(r.digest)
		h.Write(raw)
		rs = append(rs, map[string]any{"name": r.name, "algorithm": r.alg, "digest": r.digest})
	}
	st := map[string]any{
		"_type":         StatementType,
		"subject":       []any{map[string]any{"name": "m", "digest": map[string]any{"sha256": hex.EncodeToString(h.Sum(nil))}}},
		"predicateType": PredicateType,
		"predicate":     map[string]any{"resources": rs, "serialization": ser},
	}
	if edit != nil {
		edit(st)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func filesSer() map[string]any {
	return map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": false}
}

func shardsSer(size int) map[string]any {
	return map[string]any{"method": "shards", "hash_type": "sha256", "allow_symlinks": false, "shard_size": size}
}

func shaBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestParseStatement(t *testing.T) {
	d1, d2 := sha("one"), sha("two")
	b2 := strings.Repeat("ab", 64)
	two := []res{{"a", "sha256", d1}, {"b", "sha256", d2}}
	pred := func(f func(p map[string]any)) func(st map[string]any) {
		return func(st map[string]any) { f(st["predicate"].(map[string]any)) }
	}
	ser := func(f func(s map[string]any)) func(st map[string]any) {
		return pred(func(p map[string]any) { f(p["serialization"].(map[string]any)) })
	}
	tests := []struct {
		name    string
		payload []byte
		want    *Manifest // nil: an error is expected
	}{
		{
			name:    "files",
			payload: statement(t, filesSer(), two, nil),
			want: &Manifest{ModelName: "m", Method: "files", HashType: "sha256", Files: map[string]string{"a": d1, "b": d2},
				Resources: []Resource{{Name: "a", Algorithm: "sha256", Digest: d1, Path: "a"}, {Name: "b", Algorithm: "sha256", Digest: d2, Path: "b"}}},
		},
		{
			name:    "any order, unknown fields, upper-case hex",
			payload: statement(t, filesSer(), []res{{"b", "sha256", strings.ToUpper(d2)}, {"a", "sha256", d1}}, pred(func(p map[string]any) { p["future"] = 1 })),
			want: &Manifest{ModelName: "m", Method: "files", HashType: "sha256", Files: map[string]string{"a": d1, "b": d2},
				Resources: []Resource{{Name: "b", Algorithm: "sha256", Digest: d2, Path: "b"}, {Name: "a", Algorithm: "sha256", Digest: d1, Path: "a"}}},
		},
		{
			name:    "blake2 is blake2b",
			payload: statement(t, map[string]any{"method": "files", "hash_type": "blake2", "allow_symlinks": true, "ignore_paths": []string{"x"}}, []res{{"a", "blake2", b2}}, nil),
			want: &Manifest{ModelName: "m", Method: "files", HashType: "blake2b", AllowSymlinks: true, IgnorePaths: []string{"x"}, Files: map[string]string{},
				Resources: []Resource{{Name: "a", Algorithm: "blake2b", Digest: b2, Path: "a"}}},
		},
		{
			name:    "shards",
			payload: statement(t, shardsSer(4), []res{{"w:x:0:4", "sha256", d1}, {"w:x:4:6", "sha256", d2}}, nil),
			want: &Manifest{ModelName: "m", Method: "shards", HashType: "sha256", ShardSize: 4, Files: map[string]string{},
				Resources: []Resource{{Name: "w:x:0:4", Algorithm: "sha256", Digest: d1, Path: "w:x", End: 4}, {Name: "w:x:4:6", Algorithm: "sha256", Digest: d2, Path: "w:x", Start: 4, End: 6}}},
		},
		{
			name: "legacy v0.1",
			payload: []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://model_signing/Digests/v0.1",` +
				`"subject":[{"name":"a","digest":{"sha256":"` + d1 + `"},"annotations":{"actual_hash_algorithm":"file-sha256"}}],"predicate":{"unused":""}}`),
			want: &Manifest{Legacy: true, Method: "files", HashType: "sha256", Files: map[string]string{"a": d1},
				Resources: []Resource{{Name: "a", Algorithm: "sha256", Digest: d1, Path: "a"}}},
		},
		{"not an object", []byte(`[]`), nil},
		{"duplicate key", []byte(strings.Replace(string(statement(t, filesSer(), two, nil)), `"_type"`, `"_type":"x","_type"`, 1)), nil},
		{"statement type", statement(t, filesSer(), two, func(st map[string]any) { st["_type"] = "https://in-toto.io/Statement/v0.1" }), nil},
		{"predicate type", statement(t, filesSer(), two, func(st map[string]any) { st["predicateType"] = "https://slsa.dev/provenance/v1" }), nil},
		{"two subjects", statement(t, filesSer(), two, func(st map[string]any) { st["subject"] = append(st["subject"].([]any), st["subject"].([]any)[0]) }), nil},
		{"no subject name", statement(t, filesSer(), two, func(st map[string]any) { st["subject"].([]any)[0].(map[string]any)["name"] = "" }), nil},
		{"root mismatch", statement(t, filesSer(), two, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": d1}
		}), nil},
		{"root not sha256", statement(t, filesSer(), two, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha512": d1}
		}), nil},
		{"no resources", statement(t, filesSer(), nil, nil), nil},
		{"duplicate resource", statement(t, filesSer(), []res{{"a", "sha256", d1}, {"a", "sha256", d1}}, nil), nil},
		{"empty name", statement(t, filesSer(), []res{{"", "sha256", d1}}, nil), nil},
		{"unknown algorithm", statement(t, filesSer(), []res{{"a", "md5", d1}}, nil), nil},
		{"short digest", statement(t, filesSer(), []res{{"a", "sha256", d1[:62]}}, nil), nil},
		{"blake2b digest too short", statement(t, filesSer(), []res{{"a", "blake2b", d1}}, nil), nil},
		{"digest not a string", statement(t, filesSer(), two, pred(func(p map[string]any) {
			p["resources"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": d1}
		})), nil},
		{"no serialization", statement(t, filesSer(), two, pred(func(p map[string]any) { delete(p, "serialization") })), nil},
		{"predicate not an object", statement(t, filesSer(), two, func(st map[string]any) { st["predicate"] = "x" }), nil},
		{"unknown method", statement(t, filesSer(), two, ser(func(s map[string]any) { s["method"] = "tree" })), nil},
		{"unknown hash type", statement(t, filesSer(), two, ser(func(s map[string]any) { s["hash_type"] = "sha1" })), nil},
		{"no allow_symlinks", statement(t, filesSer(), two, ser(func(s map[string]any) { delete(s, "allow_symlinks") })), nil},
		{"shard_size with files", statement(t, filesSer(), two, ser(func(s map[string]any) { s["shard_size"] = 4 })), nil},
		{"shards without size", statement(t, filesSer(), []res{{"w:0:4", "sha256", d1}}, ser(func(s map[string]any) { s["method"] = "shards" })), nil},
		{"zero shard size", statement(t, shardsSer(0), []res{{"w:0:4", "sha256", d1}}, nil), nil},
		{"shard name without range", statement(t, shardsSer(4), []res{{"w", "sha256", d1}}, nil), nil},
		{"shard name without path", statement(t, shardsSer(4), []res{{":0:4", "sha256", d1}}, nil), nil},
		{"shard with sign", statement(t, shardsSer(4), []res{{"w:+0:4", "sha256", d1}}, nil), nil},
		{"shard with leading zero", statement(t, shardsSer(4), []res{{"w:0:04", "sha256", d1}}, nil), nil},
		{"empty shard", statement(t, shardsSer(4), []res{{"w:0:0", "sha256", d1}}, nil), nil},
		{"shard too long", statement(t, shardsSer(4), []res{{"w:0:5", "sha256", d1}}, nil), nil},
		{"shard gap", statement(t, shardsSer(4), []res{{"w:0:4", "sha256", d1}, {"w:8:9", "sha256", d2}}, nil), nil},
		{"short shard before the last", statement(t, shardsSer(4), []res{{"w:0:3", "sha256", d1}, {"w:4:6", "sha256", d2}}, nil), nil},
		{"shard offset overflow", statement(t, shardsSer(4), []res{{"w:0:9223372036854775808", "sha256", d1}}, nil), nil},
		{"legacy without subjects", []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://model_signing/Digests/v0.1","subject":[]}`), nil},
		{"legacy bad digest", []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://model_signing/Digests/v0.1","subject":[{"name":"a","digest":{"sha256":"x"}}]}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatement(tt.payload)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parseStatement succeeded: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.RootDigest = got.RootDigest // checked by parseStatement itself
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
		})
	}
}

// TestVerifyMalformedPayload checks that a correctly signed but malformed
// payload is reported as ErrMalformed.
func TestVerifyMalformedPayload(t *testing.T) {
	key := newKey(t, elliptic.P256())
	for _, p := range [][]byte{
		[]byte(`not json`),
		statement(t, filesSer(), nil, nil),
		statement(t, filesSer(), []res{{"a", "sha256", sha("a")}}, func(st map[string]any) { st["predicateType"] = "x" }),
	} {
		b, err := ParseBundle(rawBundle(t, key, PayloadType, p))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&Verifier{Keys: []crypto.PublicKey{key.Public()}}).Verify(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%s): %v, want ErrMalformed", p, err)
		}
	}
}

func TestCompareShards(t *testing.T) {
	big := []byte("0123456789") // 3 shards of 4
	small := []byte("abc")      // 1 shard
	exact := []byte("wxyz")     // 1 full shard
	m, err := parseStatement(statement(t, shardsSer(4), []res{
		{"big.bin:0:4", "sha256", shaBytes(big[0:4])},
		{"big.bin:4:8", "sha256", shaBytes(big[4:8])},
		{"big.bin:8:10", "sha256", shaBytes(big[8:10])},
		{"exact.bin:0:4", "sha256", shaBytes(exact)},
		{"small.txt:0:3", "sha256", shaBytes(small)},
		{"b3.bin:0:3", "blake3", sha("whatever")},
	}, nil))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"big.bin":   shaBytes(big),
		"exact.bin": shaBytes(exact),
		"small.txt": shaBytes(small),
		"b3.bin":    sha("b3"),
		"empty":     emptySHA256,
	}
	want := Comparison{Verified: []string{"empty", "exact.bin", "small.txt"}, Unchecked: []string{"b3.bin", "big.bin"}}
	if diff := cmp.Diff(want, Compare(m, files, nil)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	files["exact.bin"] = shaBytes([]byte("wxyz!")) // longer than signed
	files["small.txt"] = shaBytes([]byte("abd"))
	want = Comparison{Verified: []string{"empty"}, Mismatched: []string{"exact.bin", "small.txt"}, Unchecked: []string{"b3.bin", "big.bin"}}
	if diff := cmp.Diff(want, Compare(m, files, nil)); diff != "" {
		t.Errorf("Compare after edits (-want +got):\n%s", diff)
	}

	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		path    string
		content []byte
		want    bool
		err     error
	}{
		{"all shards match", ctx, "big.bin", big, true, nil},
		{"one shard differs", ctx, "big.bin", []byte("0123X56789"), false, nil},
		{"shorter", ctx, "big.bin", big[:9], false, nil},
		{"longer", ctx, "big.bin", append(append([]byte{}, big...), 'x'), false, nil},
		{"single shard", ctx, "small.txt", small, true, nil},
		{"empty file", ctx, "small.txt", nil, false, nil},
		{"blake3", ctx, "b3.bin", small, false, ErrUnsupported},
		{"canceled", canceled, "big.bin", big, false, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.CheckFile(tt.ctx, tt.path, bytes.NewReader(tt.content), int64(len(tt.content)))
			if got != tt.want || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Errorf("CheckFile = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
		})
	}
	if _, err := m.CheckFile(ctx, "unsigned", bytes.NewReader(nil), 0); err == nil {
		t.Error("CheckFile of an unsigned path succeeded")
	}
}

func TestCheckFileFiles(t *testing.T) {
	content := bytes.Repeat([]byte("weights"), 300_000) // > the 1 MiB read buffer
	m, err := parseStatement(statement(t, filesSer(), []res{{"w", "sha256", shaBytes(content)}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if ok, err := m.CheckFile(ctx, "w", bytes.NewReader(content), int64(len(content))); !ok || err != nil {
		t.Errorf("CheckFile = %v, %v", ok, err)
	}
	content[len(content)-1] ^= 1
	if ok, err := m.CheckFile(ctx, "w", bytes.NewReader(content), int64(len(content))); ok || err != nil {
		t.Errorf("CheckFile of changed content = %v, %v", ok, err)
	}
	// A reader shorter than the size it is said to have.
	if ok, err := m.CheckFile(ctx, "w", bytes.NewReader(content[:10]), int64(len(content))); ok || err == nil {
		t.Errorf("CheckFile of a short reader = %v, %v", ok, err)
	}
}

func TestIgnored(t *testing.T) {
	m := &Manifest{IgnorePaths: []string{"cache", "sub/dir", ""}}
	for path, want := range map[string]bool{
		".git":             true,
		".git/config":      true,
		".gitattributes":   true,
		".github/x.yml":    true,
		".gitignore":       true,
		".gitmodules":      false,
		"sub/.git/HEAD":    false,
		".gitx":            false,
		"model.sig":        true,
		"x/model.sig":      false,
		"cache":            true,
		"cache/a":          true,
		"cached":           false,
		"x/cache":          false,
		"sub/dir/a":        true,
		"sub/directory":    false,
		"README.md":        false,
		"model.safetensor": false,
	} {
		if got := m.Ignored(path); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", path, got, want)
		}
	}
}
