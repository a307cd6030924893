package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// PullProgress reports a prefetch (agora mirror pull).
type PullProgress struct {
	Path      string
	Size      int64 // of this file
	Done      int64 // bytes of this file so far
	Cached    bool  // the file was cached already
	Files     int   // LFS files selected
	File      int   // 1-based index of this file
	Bytes     int64 // total of the selected files
	BytesDone int64
}

// PullFile is an LFS file of a revision.
type PullFile struct {
	Path    string
	Pointer gitobj.Pointer
}

// Pull binds mirrored repository ref anew and fetches the LFS content of
// revision rev ("" for the default branch) whose paths match one of
// include (every file when empty; a pattern matches the path or its last
// element, '*' within a segment and '**' across them). It returns the
// repository and the commit pulled.
func (m *Mirror) Pull(ctx context.Context, ref hub.RepoRef, rev string, include []string, progress func(PullProgress)) (*meta.Repo, gitobj.ID, error) {
	r, err := m.meta.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		if r, err = m.Find(ctx, ref); err != nil {
			return nil, gitobj.ZeroID, err
		}
	case err != nil:
		return nil, gitobj.ZeroID, err
	default:
		mr, err := m.meta.MirrorRepo(ctx, r.ID)
		if errors.Is(err, meta.ErrNotFound) {
			return nil, gitobj.ZeroID, fmt.Errorf("%s is a local repository, not a mirror", ref.FullName())
		}
		if err != nil {
			return nil, gitobj.ZeroID, err
		}
		if up := m.upstreamOf(mr); up != nil && !m.cfg.Offline {
			if err := m.refresh(ctx, r.ID, up); err != nil {
				return nil, gitobj.ZeroID, err
			}
		}
	}
	if err := m.Bind(ctx, r, rev); err != nil {
		return nil, gitobj.ZeroID, err
	}
	commit, err := m.resolveLocal(ctx, r, rev)
	if err != nil {
		return nil, gitobj.ZeroID, err
	}
	files, err := m.LFSFiles(ctx, r.ID, commit)
	if err != nil {
		return nil, gitobj.ZeroID, err
	}
	var sel []PullFile
	var total int64
	for _, f := range files {
		if Matches(include, f.Path) {
			sel = append(sel, f)
			total += f.Pointer.Size
		}
	}
	pr := PullProgress{Files: len(sel), Bytes: total}
	for i, f := range sel {
		pr.Path, pr.Size, pr.Done, pr.File, pr.Cached = f.Path, f.Pointer.Size, 0, i+1, false
		file, err := m.OpenLFS(ctx, r, f.Pointer, true)
		if err != nil {
			return nil, gitobj.ZeroID, fmt.Errorf("%s: %w", f.Path, err)
		}
		if file == nil {
			pr.Cached, pr.Done = true, f.Pointer.Size
			pr.BytesDone += f.Pointer.Size
			if progress != nil {
				progress(pr)
			}
			continue
		}
		buf := make([]byte, 1<<20)
		for {
			n, err := file.Read(buf)
			pr.Done += int64(n)
			pr.BytesDone += int64(n)
			if progress != nil && n > 0 {
				progress(pr)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				file.Close()
				return nil, gitobj.ZeroID, fmt.Errorf("%s: %w", f.Path, err)
			}
		}
		file.Close()
	}
	return r, commit, nil
}

// Matches reports whether p is selected by patterns (all when empty).
func Matches(patterns []string, p string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, pat := range patterns {
		if globMatch(pat, p) || !strings.Contains(pat, "/") && globMatch(pat, path.Base(p)) {
			return true
		}
	}
	return false
}

// globMatch matches p against a glob where '*' and '?' stay within a
// path segment and "**" crosses them.
func globMatch(pat, p string) bool {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '*' && i+1 < len(pat) && pat[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(p)
}

// resolveLocal resolves rev from stored refs and objects.
func (m *Mirror) resolveLocal(ctx context.Context, r *meta.Repo, rev string) (gitobj.ID, error) {
	if rev == "" || rev == "HEAD" {
		rev = r.DefaultBranch
	}
	if gitobj.IsFullHexID(rev) {
		id, _ := gitobj.ParseID(strings.ToLower(rev))
		return id, nil
	}
	names := []string{"refs/heads/" + rev, "refs/tags/" + rev}
	if strings.HasPrefix(rev, "refs/") {
		names = []string{rev}
	}
	for _, n := range names {
		id, err := m.meta.GetRef(ctx, r.ID, n)
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return gitobj.ZeroID, err
		}
		for range 10 { // peel annotated tags
			o, err := m.meta.GetObject(ctx, r.ID, id)
			if err != nil {
				return gitobj.ZeroID, err
			}
			if o.Kind != gitobj.KindTag {
				return id, nil
			}
			t, err := gitobj.DecodeTag(o.Data)
			if err != nil {
				return gitobj.ZeroID, err
			}
			id = t.Object
		}
		return id, nil
	}
	return gitobj.ZeroID, &hub.Error{Kind: hub.ErrRevisionNotFound, Msg: "Invalid rev id: " + rev}
}

// LFSFiles lists the LFS files of commit in repository repoID, by path.
func (m *Mirror) LFSFiles(ctx context.Context, repoID int64, commit gitobj.ID) ([]PullFile, error) {
	return lfsFiles(ctx, m.meta, repoID, commit)
}

func lfsFiles(ctx context.Context, st meta.Store, repoID int64, commit gitobj.ID) ([]PullFile, error) {
	o, err := st.GetObject(ctx, repoID, commit)
	if err != nil {
		return nil, err
	}
	c, err := gitobj.DecodeCommit(o.Data)
	if err != nil {
		return nil, err
	}
	var out []PullFile
	var walk func(tree gitobj.ID, prefix string) error
	walk = func(tree gitobj.ID, prefix string) error {
		o, err := st.GetObject(ctx, repoID, tree)
		if err != nil {
			return err
		}
		ents, err := gitobj.DecodeTree(o.Data)
		if err != nil {
			return err
		}
		var blobs []gitobj.ID
		names := map[gitobj.ID][]string{}
		for _, e := range ents {
			p := prefix + e.Name
			switch {
			case e.Mode.IsTree():
				if err := walk(e.ID, p+"/"); err != nil {
					return err
				}
			case e.Mode.IsBlob():
				blobs = append(blobs, e.ID)
				names[e.ID] = append(names[e.ID], p)
			}
		}
		info, err := st.StatObjects(ctx, repoID, blobs)
		if err != nil {
			return err
		}
		for id, ps := range names {
			if in, ok := info[id]; ok && in.LFS != nil {
				for _, p := range ps {
					out = append(out, PullFile{Path: p, Pointer: *in.LFS})
				}
			}
		}
		return nil
	}
	if err := walk(c.Tree, ""); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b PullFile) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}
