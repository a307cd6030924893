package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// ImportOptions tune Import and Verify.
type ImportOptions struct {
	// Trusted are the keys a bundle must be signed by (one of them). With
	// none, an unsigned bundle is accepted on its hashes alone and a
	// signed one must carry a valid signature (Result.Signer says by
	// which key, for the operator to judge).
	Trusted []ed25519.PublicKey
	// Progress is told what is being checked.
	Progress func(what string, bytes int64)
}

// Result reports an import or a verification.
type Result struct {
	Manifest *Manifest
	Signer   ed25519.PublicKey // nil: unsigned
	// Created, Updated and Unchanged count repositories (Import only).
	Created, Updated, Unchanged int
	// LFSStored counts LFS objects written; LFSPresent those the store
	// already held (a resumed or repeated import).
	LFSStored, LFSPresent int
}

// maxManifest bounds manifest.json (a million object ids take ~45 MB).
const maxManifest = 512 << 20

// Verify checks a bundle without importing it: the signature, every
// entry's hash and size, and that each pack holds exactly the objects the
// manifest lists, complete histories of its refs.
func Verify(ctx context.Context, r io.Reader, o ImportOptions) (*Result, error) {
	res, _, err := read(ctx, nil, r, o)
	return res, err
}

// Import checks a bundle as Verify does and then makes its repositories
// visible in one metadata transaction, with the same commit ids: nothing
// of a bundle that fails a check is visible (LFS content already written
// stays unreferenced in the blob store, where a rerun finds it and garbage
// collection removes it otherwise). Importing a bundle again changes
// nothing; an existing repository gains the bundle's refs it lacks, and a
// ref that exists with another target is a conflict (nothing is
// imported). h, if not nil, recomputes the repositories' derived metadata.
func Import(ctx context.Context, ms meta.Store, bs blob.Store, h *hub.Service, r io.Reader, o ImportOptions) (*Result, error) {
	res, packs, err := read(ctx, bs, r, o)
	if err != nil {
		return res, err
	}
	m := res.Manifest
	var landed []int64
	err = ms.InTx(ctx, func(tx meta.Tx) error {
		landed = landed[:0]
		res.Created, res.Updated, res.Unchanged = 0, 0, 0
		for i, br := range m.Repos {
			ns, name, _ := strings.Cut(br.ID, "/")
			cur, err := tx.RepoByName(ctx, br.Type, ns, name)
			refs := map[string]gitobj.ID{}
			switch {
			case errors.Is(err, meta.ErrNotFound):
				cur = &meta.Repo{PublicID: randomID(), Type: br.Type, Namespace: ns, Name: name, Private: br.Private, Gated: br.Gated,
					DefaultBranch: br.DefaultBranch}
				if err := tx.CreateRepo(ctx, cur); err != nil {
					return fmt.Errorf("import %s: %w", br.ID, err)
				}
				res.Created++
			case err != nil:
				return err
			default:
				list, err := tx.ListRefs(ctx, cur.ID)
				if err != nil {
					return err
				}
				for _, rf := range list {
					refs[rf.Name] = rf.Target
				}
			}
			var moves [][2]string
			for _, name := range slices.Sorted(mapKeys(br.Refs)) {
				want, _ := gitobj.ParseID(br.Refs[name])
				have, ok := refs[name]
				switch {
				case !ok:
					moves = append(moves, [2]string{name, br.Refs[name]})
				case have != want:
					return fmt.Errorf("import %s: %s is %s here and %s in the bundle: %w", br.ID, name, have, want, errConflict)
				}
			}
			if len(refs) > 0 && len(moves) == 0 {
				res.Unchanged++
			} else if len(refs) > 0 {
				res.Updated++
			}
			if err := tx.PutObjects(ctx, cur.ID, packs[i]); err != nil {
				return err
			}
			for _, mv := range moves {
				id, _ := gitobj.ParseID(mv[1])
				if err := tx.UpdateRef(ctx, cur.ID, mv[0], gitobj.ZeroID, id); err != nil {
					return err
				}
			}
			for _, oid := range br.LFS {
				if err := tx.AddLFSObject(ctx, cur.ID, oid, lfsSize(m, oid)); err != nil {
					return err
				}
			}
			landed = append(landed, cur.ID)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if h != nil {
		for _, id := range landed {
			r, err := ms.RepoByID(ctx, id)
			if err != nil {
				return res, err
			}
			if err := h.Rederive(ctx, r); err != nil {
				return res, fmt.Errorf("import: derived metadata of %s: %w", r.FullName(), err)
			}
		}
	}
	return res, nil
}

// errConflict: the hub holds a repository of the bundle with other refs.
var errConflict = errors.New("conflicts with the hub's repository")

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func lfsSize(m *Manifest, oid string) int64 {
	for _, l := range m.LFS {
		if l.OID == oid {
			return l.Size
		}
	}
	return 0
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// read checks a bundle from r, storing its LFS content in bs when bs is
// not nil, and returns each repository's objects.
func read(ctx context.Context, bs blob.Store, r io.Reader, o ImportOptions) (*Result, [][]gitobj.Object, error) {
	tr := tar.NewReader(r)
	next := func() (*tar.Header, error) {
		h, err := tr.Next()
		if err != nil {
			if err == io.EOF {
				return nil, err
			}
			return nil, invalid("unreadable tar: %v", err)
		}
		if h.Typeflag != tar.TypeReg || h.Size < 0 {
			return nil, invalid("entry %q is not a regular file", h.Name)
		}
		return h, nil
	}
	h, err := next()
	if err != nil || h.Name != manifestName || h.Size > maxManifest {
		return nil, nil, invalid("the first entry must be %s", manifestName)
	}
	mdata, err := io.ReadAll(tr)
	if err != nil {
		return nil, nil, invalid("unreadable manifest: %v", err)
	}
	res := &Result{}
	h, err = next()
	if err == nil && h.Name == sigName {
		if h.Size > 4096 {
			return nil, nil, invalid("oversized signature")
		}
		sig, err := io.ReadAll(tr)
		if err != nil {
			return nil, nil, invalid("unreadable signature")
		}
		if res.Signer, err = checkSignature(mdata, sig); err != nil {
			return nil, nil, err
		}
		h, err = next()
	}
	if len(o.Trusted) > 0 {
		if res.Signer == nil {
			return nil, nil, invalid("the bundle is not signed, and a trusted key is required")
		}
		if !slices.ContainsFunc(o.Trusted, func(k ed25519.PublicKey) bool { return k.Equal(res.Signer) }) {
			return nil, nil, invalid("signed by %s, which is not a trusted key", KeyID(res.Signer))
		}
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mdata))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, nil, invalid("unreadable manifest: %v", err)
	}
	if err := m.check(); err != nil {
		return nil, nil, err
	}
	res.Manifest = &m
	packs := make([][]gitobj.Object, len(m.Repos))
	seenLFS := map[string]bool{}
	sizes := map[string]int64{}
	for _, l := range m.LFS {
		sizes[l.OID] = l.Size
	}
	for ; err == nil; h, err = next() {
		if err := ctx.Err(); err != nil {
			return res, nil, err
		}
		switch {
		case strings.HasPrefix(h.Name, "git/"):
			i := slices.IndexFunc(m.Repos, func(br Repo) bool { return br.Pack.Path == h.Name })
			if i < 0 || packs[i] != nil {
				return res, nil, invalid("unexpected entry %s", h.Name)
			}
			objs, err := readPack(tr, h, &m.Repos[i])
			if err != nil {
				return res, nil, err
			}
			packs[i] = objs
		case strings.HasPrefix(h.Name, "lfs/"):
			oid := strings.TrimPrefix(h.Name, "lfs/")
			size, ok := sizes[oid]
			if !ok || seenLFS[oid] || h.Size != size {
				return res, nil, invalid("unexpected entry %s", h.Name)
			}
			seenLFS[oid] = true
			stored, err := readLFS(ctx, bs, tr, oid, size)
			if err != nil {
				return res, nil, err
			}
			if stored {
				res.LFSStored++
			} else if bs != nil {
				res.LFSPresent++
			}
		default:
			return res, nil, invalid("unexpected entry %s", h.Name)
		}
		if o.Progress != nil {
			o.Progress(h.Name, h.Size)
		}
	}
	if err != io.EOF {
		return res, nil, err
	}
	for i, br := range m.Repos {
		if packs[i] == nil {
			return res, nil, invalid("%s is missing", br.Pack.Path)
		}
	}
	if len(seenLFS) != len(m.LFS) {
		return res, nil, invalid("%d LFS objects of the manifest are missing", len(m.LFS)-len(seenLFS))
	}
	return res, packs, nil
}

// readPack reads a pack entry: its SHA-256 and size must be the
// manifest's, its objects (whose ids are recomputed from their bytes)
// exactly those the manifest lists, and they must hold the whole history
// of every ref.
func readPack(tr io.Reader, h *tar.Header, br *Repo) ([]gitobj.Object, error) {
	if h.Size != br.Pack.Size {
		return nil, invalid("%s has %d bytes, the manifest says %d", h.Name, h.Size, br.Pack.Size)
	}
	sum := sha256.New()
	body := io.TeeReader(tr, sum)
	lim := packfile.Limits{MaxPackSize: h.Size, MaxObjects: uint32(len(br.Objects)), MaxObjectSize: 256 << 20, MaxMemory: 8 << 30, MaxOversized: 1}
	pack, err := packfile.Read(body, lim, nil)
	if err != nil {
		return nil, invalid("%s: %v", h.Name, err)
	}
	if rest, _ := io.Copy(sum, tr); rest != 0 || len(pack.Oversized) > 0 {
		return nil, invalid("%s: trailing bytes or oversized objects", h.Name)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != br.Pack.SHA256 {
		return nil, invalid("%s: SHA-256 %s, the manifest says %s", h.Name, got, br.Pack.SHA256)
	}
	if len(pack.Objects) != len(br.Objects) {
		return nil, invalid("%s holds %d objects, the manifest lists %d", h.Name, len(pack.Objects), len(br.Objects))
	}
	objs := make([]gitobj.Object, 0, len(br.Objects))
	for _, s := range br.Objects {
		id, _ := gitobj.ParseID(s)
		o, ok := pack.Objects[id]
		if !ok {
			return nil, invalid("%s lacks object %s of the manifest", h.Name, s)
		}
		objs = append(objs, o)
	}
	// Complete histories: everything the refs reach is in the pack.
	var queue []gitobj.ID
	for _, t := range br.Refs {
		id, _ := gitobj.ParseID(t)
		queue = append(queue, id)
	}
	seen := map[gitobj.ID]bool{}
	for len(queue) > 0 {
		id := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		o, ok := pack.Objects[id]
		if !ok {
			return nil, invalid("%s: object %s, reachable from a ref, is missing", br.ID, id)
		}
		switch o.Kind {
		case gitobj.KindCommit:
			c, err := gitobj.DecodeCommit(o.Data)
			if err != nil {
				return nil, invalid("%s: commit %s: %v", br.ID, id, err)
			}
			queue = append(queue, c.Tree)
			queue = append(queue, c.Parents...)
		case gitobj.KindTree:
			ents, err := gitobj.DecodeTree(o.Data)
			if err != nil {
				return nil, invalid("%s: tree %s: %v", br.ID, id, err)
			}
			for _, e := range ents {
				if e.Mode != gitobj.ModeGitlink {
					queue = append(queue, e.ID)
				}
			}
		case gitobj.KindTag:
			t, err := gitobj.DecodeTag(o.Data)
			if err != nil {
				return nil, invalid("%s: tag %s: %v", br.ID, id, err)
			}
			queue = append(queue, t.Object)
		}
	}
	if name := "refs/heads/" + br.DefaultBranch; br.Refs[name] == "" {
		return nil, invalid("%s: no ref for the default branch %s", br.ID, br.DefaultBranch)
	}
	return objs, nil
}

// readLFS checks an LFS entry and, with a store, keeps it there (the
// store's writer verifies again and publishes atomically). Content the
// store already holds is only checked: that is what makes an interrupted
// import cheap to resume. It reports whether it wrote.
func readLFS(ctx context.Context, bs blob.Store, tr io.Reader, oid string, size int64) (bool, error) {
	write := false
	var w blob.Writer
	if bs != nil {
		if _, err := bs.Stat(ctx, oid); errors.Is(err, blob.ErrNotFound) {
			var err error
			if w, err = bs.Create(ctx, oid, size); err != nil {
				return false, err
			}
			write = true
		} else if err != nil {
			return false, err
		}
	}
	h := sha256.New()
	dst := io.Writer(h)
	if w != nil {
		dst = io.MultiWriter(h, w)
	}
	n, err := io.Copy(dst, tr)
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != oid {
		err = invalid("lfs/%s: the content does not hash to its name", oid)
	}
	if err != nil {
		if w != nil {
			w.Abort()
		}
		if errors.Is(err, ErrInvalid) {
			return false, err
		}
		return false, invalid("lfs/%s: %v", oid, err)
	}
	if w != nil {
		if _, err := w.Commit(ctx); err != nil {
			return false, fmt.Errorf("store lfs/%s: %w", oid, err)
		}
	}
	return write, nil
}
