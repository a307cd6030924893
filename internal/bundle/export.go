package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/meta"
)

// Spec names a repository to export: at revision Rev (a branch, tag or
// commit id, with the history that leads to it), or with every ref and its
// whole history when Rev is "".
type Spec struct {
	Type      string // meta.TypeModel or meta.TypeDataset
	Namespace string
	Name      string
	Rev       string
}

// ExportOptions tune Export.
type ExportOptions struct {
	// Key signs the manifest (nil: unsigned).
	Key ed25519.PrivateKey
	// TempDir holds the packs while the manifest is built (default: the
	// system's temporary directory).
	TempDir string
	// Progress is told what is being written.
	Progress func(what string, bytes int64)
}

// Export writes the repositories specs name, with their LFS content (each
// object once), as a bundle to w. The LFS content of the exported tips
// must all be in the blob store (for a mirror: pull it first); content
// only older commits name is carried when the store has it.
func Export(ctx context.Context, ms meta.Store, bs blob.Store, specs []Spec, w io.Writer, o ExportOptions) (*Manifest, error) {
	m := &Manifest{Format: Format, Created: time.Now().UTC().Truncate(time.Second)}
	var packs []*os.File
	defer func() {
		for _, f := range packs {
			f.Close()
		}
	}()
	lfsSizes := map[string]int64{}
	for i, sp := range specs {
		r, err := ms.RepoByName(ctx, sp.Type, sp.Namespace, sp.Name)
		if err != nil {
			return nil, fmt.Errorf("export %s/%s: %w", sp.Namespace, sp.Name, err)
		}
		br, objs, tipLFS, err := collect(ctx, ms, r, sp.Rev)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", r.FullName(), err)
		}
		f, err := os.CreateTemp(o.TempDir, "agora-bundle-*.pack")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name())
		packs = append(packs, f)
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		pw, err := packfile.NewWriter(cw, uint32(len(objs)))
		if err != nil {
			return nil, err
		}
		for _, id := range sortedIDs(objs) {
			if err := pw.Write(objs[id]); err != nil {
				return nil, err
			}
			br.Objects = append(br.Objects, id.String())
		}
		if err := pw.Close(); err != nil {
			return nil, err
		}
		br.Pack = File{Path: fmt.Sprintf("git/%d.pack", i), SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}
		// Every pointer of the history is carried if stored; those of
		// the tips must be.
		var missing []string
		for _, ob := range objs {
			if ob.Kind != gitobj.KindBlob || len(ob.Data) > gitobj.MaxPointerSize {
				continue
			}
			p, ok := gitobj.ParsePointer(ob.Data)
			if !ok || slices.Contains(br.LFS, p.OID) {
				continue
			}
			info, err := bs.Stat(ctx, p.OID)
			if errors.Is(err, blob.ErrNotFound) || err == nil && info.Size != p.Size {
				if tipLFS[p.OID] {
					missing = append(missing, p.OID)
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			br.LFS = append(br.LFS, p.OID)
			lfsSizes[p.OID] = p.Size
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("export %s: %d LFS objects of the exported revisions are not in the blob store (a mirror not pulled yet?), e.g. %s",
				r.FullName(), len(missing), missing[0])
		}
		slices.Sort(br.LFS)
		m.Repos = append(m.Repos, *br)
	}
	for oid, size := range lfsSizes {
		m.LFS = append(m.LFS, LFS{OID: oid, Size: size})
	}
	slices.SortFunc(m.LFS, func(a, b LFS) int { return strings.Compare(a.OID, b.OID) })
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	mdata, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, err
	}

	tw := tar.NewWriter(w)
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: wrote %d of %d bytes", name, n, size)
		}
		if o.Progress != nil {
			o.Progress(name, size)
		}
		return err
	}
	if err := put(manifestName, int64(len(mdata)), bytes.NewReader(mdata)); err != nil {
		return nil, err
	}
	if o.Key != nil {
		sig, err := sign(o.Key, mdata)
		if err != nil {
			return nil, err
		}
		if err := put(sigName, int64(len(sig)), bytes.NewReader(sig)); err != nil {
			return nil, err
		}
	}
	for i, br := range m.Repos {
		if _, err := packs[i].Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if err := put(br.Pack.Path, br.Pack.Size, packs[i]); err != nil {
			return nil, err
		}
	}
	for _, l := range m.LFS {
		f, info, err := bs.Open(ctx, l.OID)
		if err != nil {
			return nil, fmt.Errorf("export lfs %s: %w", l.OID, err)
		}
		if info.Size != l.Size {
			f.Close()
			return nil, fmt.Errorf("export lfs %s: stored with %d bytes, pointer says %d", l.OID, info.Size, l.Size)
		}
		// The store's bytes are checked on the way out too: a bundle
		// must not carry corruption to a network that cannot refetch.
		h := sha256.New()
		err = put("lfs/"+l.OID, l.Size, io.TeeReader(f, h))
		f.Close()
		if err != nil {
			return nil, err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != l.OID {
			return nil, fmt.Errorf("export lfs %s: the blob store holds bytes hashing to %s", l.OID, got)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return m, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sortedIDs(objs map[gitobj.ID]gitobj.Object) []gitobj.ID {
	ids := make([]gitobj.ID, 0, len(objs))
	for id := range objs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b gitobj.ID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// collect returns a repository's bundle entry (refs chosen by rev), the
// objects its refs reach, and the LFS objects their tip trees name.
func collect(ctx context.Context, ms meta.Store, r *meta.Repo, rev string) (*Repo, map[gitobj.ID]gitobj.Object, map[string]bool, error) {
	br := &Repo{Type: r.Type, ID: r.FullName(), Private: r.Private, Gated: r.Gated, DefaultBranch: r.DefaultBranch, Refs: map[string]string{}}
	if r.Namespace == "" {
		return nil, nil, nil, fmt.Errorf("repositories without a namespace cannot be bundled")
	}
	refs, err := ms.ListRefs(ctx, r.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	objs := map[gitobj.ID]gitobj.Object{}
	get := func(id gitobj.ID) (gitobj.Object, error) {
		if o, ok := objs[id]; ok {
			return o, nil
		}
		o, err := ms.GetObject(ctx, r.ID, id)
		if err != nil {
			return o, fmt.Errorf("object %s: %w", id, err)
		}
		objs[id] = o
		return o, nil
	}
	peel := func(id gitobj.ID) (gitobj.ID, error) {
		for range 10 {
			o, err := get(id)
			if err != nil {
				return id, err
			}
			if o.Kind != gitobj.KindTag {
				return id, nil
			}
			t, err := gitobj.DecodeTag(o.Data)
			if err != nil {
				return id, err
			}
			id = t.Object
		}
		return id, errors.New("tag chain too long")
	}
	switch {
	case rev == "":
		for _, rf := range refs {
			br.Refs[rf.Name] = rf.Target.String()
		}
	case gitobj.IsFullHexID(rev):
		id, _ := gitobj.ParseID(strings.ToLower(rev))
		if o, err := get(id); err != nil || o.Kind != gitobj.KindCommit {
			return nil, nil, nil, fmt.Errorf("%s is not a commit of the repository", rev)
		}
		br.Refs["refs/heads/"+r.DefaultBranch] = id.String()
	default:
		found := false
		for _, rf := range refs {
			if rf.Name == rev || rf.Name == "refs/heads/"+rev || rf.Name == "refs/tags/"+rev {
				br.Refs[rf.Name] = rf.Target.String()
				if b, ok := strings.CutPrefix(rf.Name, "refs/heads/"); ok {
					br.DefaultBranch = b
				} else {
					// A tag alone has no branch to browse: the default
					// branch names the tagged commit.
					c, err := peel(rf.Target)
					if err != nil {
						return nil, nil, nil, err
					}
					br.Refs["refs/heads/"+r.DefaultBranch] = c.String()
				}
				found = true
				break
			}
		}
		if !found {
			return nil, nil, nil, fmt.Errorf("no revision %q", rev)
		}
	}
	if len(br.Refs) == 0 {
		return nil, nil, nil, errors.New("the repository has no refs")
	}
	if _, ok := br.Refs["refs/heads/"+br.DefaultBranch]; !ok {
		for name := range br.Refs {
			if b, ok := strings.CutPrefix(name, "refs/heads/"); ok {
				br.DefaultBranch = b
				break
			}
		}
	}
	// Everything the refs reach, so the importer holds whole histories.
	var queue []gitobj.ID
	for _, t := range br.Refs {
		id, _ := gitobj.ParseID(t)
		queue = append(queue, id)
	}
	seen := map[gitobj.ID]bool{}
	tips := map[gitobj.ID]bool{}
	for _, t := range br.Refs {
		id, _ := gitobj.ParseID(t)
		if c, err := peel(id); err == nil {
			tips[c] = true
		}
	}
	tipTrees := map[gitobj.ID]bool{}
	for len(queue) > 0 {
		id := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		o, err := get(id)
		if err != nil {
			return nil, nil, nil, err
		}
		switch o.Kind {
		case gitobj.KindCommit:
			c, err := gitobj.DecodeCommit(o.Data)
			if err != nil {
				return nil, nil, nil, err
			}
			if tips[id] {
				tipTrees[c.Tree] = true
			}
			queue = append(queue, c.Tree)
			queue = append(queue, c.Parents...)
		case gitobj.KindTree:
			ents, err := gitobj.DecodeTree(o.Data)
			if err != nil {
				return nil, nil, nil, err
			}
			for _, e := range ents {
				if e.Mode != gitobj.ModeGitlink {
					queue = append(queue, e.ID)
				}
			}
		case gitobj.KindTag:
			t, err := gitobj.DecodeTag(o.Data)
			if err != nil {
				return nil, nil, nil, err
			}
			queue = append(queue, t.Object)
		}
	}
	tipLFS := map[string]bool{}
	var walk func(tree gitobj.ID) error
	visited := map[gitobj.ID]bool{}
	walk = func(tree gitobj.ID) error {
		if visited[tree] {
			return nil
		}
		visited[tree] = true
		ents, err := gitobj.DecodeTree(objs[tree].Data)
		if err != nil {
			return err
		}
		for _, e := range ents {
			switch {
			case e.Mode.IsTree():
				if err := walk(e.ID); err != nil {
					return err
				}
			case e.Mode.IsBlob():
				if p, ok := gitobj.ParsePointer(objs[e.ID].Data); ok {
					tipLFS[p.OID] = true
				}
			}
		}
		return nil
	}
	for t := range tipTrees {
		if err := walk(t); err != nil {
			return nil, nil, nil, err
		}
	}
	return br, objs, tipLFS, nil
}
