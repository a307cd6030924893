package bundle_test

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/bundle"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

type side struct {
	t   *testing.T
	m   meta.Store
	b   blob.Store
	svc *hub.Service
}

func newSide(t *testing.T) *side {
	t.Helper()
	m, b := storetest.Local(t)
	cfg := hub.DefaultConfig()
	cfg.LFSThreshold = 1 << 10
	svc, err := hub.New(t.Context(), slog.New(slog.DiscardHandler), cfg, m, b)
	if err != nil {
		t.Fatal(err)
	}
	return &side{t: t, m: m, b: b, svc: svc}
}

var (
	model   = hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "model"}
	twin    = hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "twin"}
	dataset = hub.RepoRef{Type: hub.TypeDataset, Namespace: "alice", Name: "data"}
)

// source builds a hub with repositories sharing LFS content.
func source(t *testing.T) (*side, []byte) {
	s := newSide(t)
	ctx := t.Context()
	u := &meta.User{Name: "alice"}
	if err := s.m.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	who := &auth.Identity{User: u}
	weights := bytes.Repeat([]byte("weights!"), 4096)
	sum := sha256.Sum256(weights)
	oid := hex.EncodeToString(sum[:])
	w, _ := s.b.Create(ctx, oid, int64(len(weights)))
	w.Write(weights)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []hub.RepoRef{model, twin, dataset} {
		r, err := s.svc.CreateRepo(ctx, who, ref, hub.CreateRepoOptions{Private: ref == dataset})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.m.AddLFSObject(ctx, r.ID, oid, int64(len(weights))); err != nil {
			t.Fatal(err)
		}
		for i, ops := range [][]hub.CommitOp{
			{{Kind: hub.OpFile, Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# " + ref.Name + "\n")}},
			{{Kind: hub.OpLFSFile, Path: "weights.bin", OID: oid, Size: int64(len(weights))}},
		} {
			if _, err := s.svc.Commit(ctx, who, ref, hub.CommitRequest{Revision: "main", Summary: "c" + string(rune('0'+i)), Ops: ops}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A second LFS object, in one repository only.
	extra := bytes.Repeat([]byte("extra..."), 2048)
	esum := sha256.Sum256(extra)
	eoid := hex.EncodeToString(esum[:])
	w, _ = s.b.Create(ctx, eoid, int64(len(extra)))
	w.Write(extra)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r, _ := s.m.RepoByName(ctx, twin.Type, twin.Namespace, twin.Name)
	if err := s.m.AddLFSObject(ctx, r.ID, eoid, int64(len(extra))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Commit(ctx, who, twin, hub.CommitRequest{Revision: "main", Summary: "extra",
		Ops: []hub.CommitOp{{Kind: hub.OpLFSFile, Path: "extra.bin", OID: eoid, Size: int64(len(extra))}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.CreateBranch(ctx, who, model, "dev", hub.BranchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.CreateTag(ctx, who, model, "main", "v1", "first release"); err != nil {
		t.Fatal(err)
	}
	return s, weights
}

func specs() []bundle.Spec {
	return []bundle.Spec{
		{Type: model.Type, Namespace: model.Namespace, Name: model.Name},
		{Type: twin.Type, Namespace: twin.Namespace, Name: twin.Name, Rev: "main"},
		{Type: dataset.Type, Namespace: dataset.Namespace, Name: dataset.Name},
	}
}

func export(t *testing.T, s *side, key ed25519.PrivateKey) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := bundle.Export(t.Context(), s.m, s.b, specs(), &buf, bundle.ExportOptions{Key: key, TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func keys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	path := filepath.Join(t.TempDir(), "key")
	pub, err := bundle.GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := bundle.ReadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if rp, err := bundle.ReadPublicKey(path + ".pub"); err != nil || !rp.Equal(pub) {
		t.Fatalf("public key: %v", err)
	}
	return pub, priv
}

// state is what must be identical on both sides.
type state struct {
	Refs    map[string]string
	Private bool
	Files   map[string]string // path at main → SHA-256 of the content
}

func stateOf(t *testing.T, s *side, ref hub.RepoRef) state {
	t.Helper()
	ctx := t.Context()
	r, err := s.m.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name)
	if err != nil {
		t.Fatal(err)
	}
	st := state{Refs: map[string]string{}, Private: r.Private, Files: map[string]string{}}
	refs, err := s.m.ListRefs(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, rf := range refs {
		st.Refs[rf.Name] = rf.Target.String()
	}
	admin := &auth.Identity{User: &meta.User{ID: -1, Name: "root", IsAdmin: true}}
	_, _, ents, _, err := s.svc.ListTree(ctx, admin, ref, "main", hub.TreeOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		c, err := s.svc.OpenContent(ctx, r, &e, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		data := c.Data
		if c.File != nil {
			data, _ = io.ReadAll(c.File)
			c.File.Close()
		}
		sum := sha256.Sum256(data)
		st.Files[e.Path] = hex.EncodeToString(sum[:])
	}
	return st
}

// TestRoundTrip exports three repositories (full history, one revision,
// a private one) signed, imports them into an empty hub with no network
// between the two, and compares commit ids and bytes; importing again
// changes nothing.
func TestRoundTrip(t *testing.T) {
	src, _ := source(t)
	pub, priv := keys(t)
	data := export(t, src, priv)

	res, err := bundle.Verify(t.Context(), bytes.NewReader(data), bundle.ImportOptions{Trusted: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifest.LFS) != 2 {
		t.Errorf("%d LFS objects in the bundle, want 2 (one shared by three repositories)", len(res.Manifest.LFS))
	}
	dst := newSide(t)
	res, err = bundle.Import(t.Context(), dst.m, dst.b, dst.svc, bytes.NewReader(data), bundle.ImportOptions{Trusted: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || res.LFSStored != 2 || !res.Signer.Equal(pub) {
		t.Errorf("result %+v", res)
	}
	for _, ref := range []hub.RepoRef{model, twin, dataset} {
		want, got := stateOf(t, src, ref), stateOf(t, dst, ref)
		if ref == twin {
			// Exported at main: only that branch.
			want.Refs = map[string]string{"refs/heads/main": want.Refs["refs/heads/main"]}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-source +imported):\n%s", ref.FullName(), diff)
		}
	}
	// Derived metadata was computed, for listings and search.
	r, err := dst.m.RepoByName(t.Context(), model.Type, model.Namespace, model.Name)
	if err != nil {
		t.Fatal(err)
	}
	if dm, err := dst.m.GetRepoMeta(t.Context(), r.ID); err != nil || !strings.Contains(string(dm.CardData), "mit") {
		t.Errorf("derived metadata after import: %v", err)
	}

	again, err := bundle.Import(t.Context(), dst.m, dst.b, dst.svc, bytes.NewReader(data), bundle.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.Unchanged != 3 || again.LFSStored != 0 || again.LFSPresent != 2 {
		t.Errorf("second import %+v", again)
	}
}

// rewrite returns the bundle with entry name's content changed by fn.
func rewrite(t *testing.T, data []byte, name string, fn func([]byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if h.Name == name || !found && strings.HasPrefix(h.Name, name) && strings.HasSuffix(name, "/") {
			body, found = fn(body), true
			h.Size = int64(len(body))
		}
		tw.WriteHeader(h)
		tw.Write(body)
	}
	tw.Close()
	if !found {
		t.Fatalf("no entry %s", name)
	}
	return out.Bytes()
}

func flip(at int) func([]byte) []byte {
	return func(b []byte) []byte {
		c := bytes.Clone(b)
		c[at%len(c)] ^= 0x01
		return c
	}
}

// TestTampered: a bundle changed anywhere, or signed by another key, is
// rejected with nothing imported.
func TestTampered(t *testing.T) {
	src, _ := source(t)
	pub, priv := keys(t)
	_, otherPriv := keys(t)
	signed := export(t, src, priv)
	unsigned := export(t, src, nil)
	for _, tc := range []struct {
		name    string
		data    []byte
		trusted []ed25519.PublicKey
	}{
		{"flipped byte in an LFS object", rewrite(t, signed, "lfs/", flip(1000)), nil},
		{"flipped byte in a pack", rewrite(t, signed, "git/0.pack", flip(200)), nil},
		{"flipped byte in the manifest", rewrite(t, signed, "manifest.json", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"private": true`), []byte(`"private": fals`), 1)
		}), nil},
		{"flipped byte in an unsigned manifest", rewrite(t, unsigned, "manifest.json", func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"sha256": "`)) + len(`"sha256": "`)
			c := bytes.Clone(b)
			c[i] ^= 0x01
			return c
		}), nil},
		{"signed by another key", export(t, src, otherPriv), []ed25519.PublicKey{pub}},
		{"unsigned where a signature is required", unsigned, []ed25519.PublicKey{pub}},
		{"truncated", signed[:len(signed)/2], nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bundle.Verify(t.Context(), bytes.NewReader(tc.data), bundle.ImportOptions{Trusted: tc.trusted}); !errors.Is(err, bundle.ErrInvalid) {
				t.Errorf("Verify: %v, want ErrInvalid", err)
			}
			dst := newSide(t)
			_, err := bundle.Import(t.Context(), dst.m, dst.b, dst.svc, bytes.NewReader(tc.data), bundle.ImportOptions{Trusted: tc.trusted})
			if !errors.Is(err, bundle.ErrInvalid) {
				t.Fatalf("Import: %v, want ErrInvalid", err)
			}
			ls, err := dst.m.ListRepos(t.Context(), meta.RepoQuery{ViewerAll: true, Type: meta.TypeModel})
			if err != nil || len(ls) != 0 {
				t.Fatalf("repositories after a rejected import: %d (%v)", len(ls), err)
			}
		})
	}
}

// TestResume: an import that fails on the last LFS object leaves nothing
// visible; run again with a good bundle, it does not rewrite the content
// it had already stored.
func TestResume(t *testing.T) {
	src, _ := source(t)
	data := export(t, src, nil)
	m, err := bundle.Verify(t.Context(), bytes.NewReader(data), bundle.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := "lfs/" + m.Manifest.LFS[len(m.Manifest.LFS)-1].OID
	dst := newSide(t)
	if _, err := bundle.Import(t.Context(), dst.m, dst.b, dst.svc, bytes.NewReader(rewrite(t, data, last, flip(7))), bundle.ImportOptions{}); !errors.Is(err, bundle.ErrInvalid) {
		t.Fatalf("a damaged bundle: %v", err)
	}
	if _, err := dst.m.RepoByName(t.Context(), model.Type, model.Namespace, model.Name); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("a repository of a failed import is visible: %v", err)
	}
	res, err := bundle.Import(t.Context(), dst.m, dst.b, dst.svc, bytes.NewReader(data), bundle.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.LFSPresent != 1 || res.LFSStored != 1 || res.Created != 3 {
		t.Fatalf("resumed import %+v", res)
	}
}
