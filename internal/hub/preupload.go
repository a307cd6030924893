package hub

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitattr"
	"github.com/agorahub/agora/internal/gitobj"
)

// PreuploadFile describes a file a client is about to commit.
type PreuploadFile struct {
	Path   string
	Sample []byte // the first bytes of the content (clients send 512)
	Size   int64
}

// PreuploadResult says how the file must travel.
type PreuploadResult struct {
	Path         string
	LFS          bool
	ShouldIgnore bool
	// OID is the id of the file currently at Path in the revision (git
	// blob SHA-1 for regular files, SHA-256 for LFS files), "" if none:
	// clients skip files whose local id matches.
	OID string
}

// MaxPreuploadFiles bounds one preupload request.
const MaxPreuploadFiles = 1000

// Preupload decides, for each file, regular or LFS the way the Hub does:
// LFS when the path matches an LFS pattern of .gitattributes (the one sent
// with the commit, else the repository's), when the size exceeds the LFS
// threshold, or when the sample holds a NUL byte (binary content); never
// for empty files. gitAttributes and gitIgnore are the files being
// committed, if any.
func (s *Service) Preupload(ctx context.Context, who *auth.Identity, ref RepoRef, rev string, files []PreuploadFile,
	gitAttributes, gitIgnore *string) ([]PreuploadResult, gitobj.ID, error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return nil, gitobj.ZeroID, err
	}
	if len(files) > MaxPreuploadFiles {
		return nil, gitobj.ZeroID, errorf(ErrTooLarge, "At most %d files per preupload request", MaxPreuploadFiles)
	}
	rv, err := s.resolve(ctx, r, rev)
	if err != nil {
		return nil, gitobj.ZeroID, err
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, gitobj.ZeroID, err
	}
	readText := func(path string) (string, error) {
		te, ok, err := objs.entryAt(ctx, c.Tree, path)
		if err != nil || !ok || !te.Mode.IsBlob() {
			return "", err
		}
		data, err := objs.blobData(ctx, te.ID)
		if _, isPtr := gitobj.ParsePointer(data); isPtr {
			return "", err
		}
		return string(data), err
	}
	if gitAttributes == nil {
		t, err := readText(".gitattributes")
		if err != nil {
			return nil, gitobj.ZeroID, err
		}
		gitAttributes = &t
	}
	if gitIgnore == nil {
		t, err := readText(".gitignore")
		if err != nil {
			return nil, gitobj.ZeroID, err
		}
		gitIgnore = &t
	}
	attrs := gitattr.ParseAttributes(*gitAttributes)
	ignore := gitattr.ParseIgnore(*gitIgnore)

	out := make([]PreuploadResult, 0, len(files))
	var existing []Entry
	for _, f := range files {
		if err := gitobj.ValidatePath(f.Path); err != nil {
			return nil, gitobj.ZeroID, invalidPath(f.Path, err)
		}
		res := PreuploadResult{Path: f.Path}
		res.LFS = f.Size > 0 && (attrs.IsLFS(f.Path) || f.Size > s.cfg.LFSThreshold || bytes.IndexByte(f.Sample, 0) >= 0)
		res.ShouldIgnore = ignore.Ignored(f.Path)
		out = append(out, res)
		te, ok, err := objs.entryAt(ctx, c.Tree, f.Path)
		if err != nil {
			return nil, gitobj.ZeroID, err
		}
		if ok && te.Mode.IsBlob() {
			existing = append(existing, Entry{Type: "file", Path: f.Path, OID: te.ID})
		}
	}
	if err := s.fillSizes(ctx, objs, existing); err != nil {
		return nil, gitobj.ZeroID, fmt.Errorf("preupload: %w", err)
	}
	byPath := map[string]Entry{}
	for _, e := range existing {
		byPath[e.Path] = e
	}
	for i := range out {
		e, ok := byPath[out[i].Path]
		switch {
		case !ok:
		case e.LFS != nil:
			out[i].OID = e.LFS.OID
		default:
			out[i].OID = hex.EncodeToString(e.OID[:])
		}
	}
	if err := s.preuploadQuota(ctx, r, files, out); err != nil {
		return nil, gitobj.ZeroID, err
	}
	return out, rv.Commit, nil
}
