package cas

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/xet"
)

// ShardProgress reports how far the checks of a shard upload are: files
// whose content was verified, of all its files. The /v2/shards route sends
// it to the client as it goes, which keeps a long verification alive.
type ShardProgress func(verified, total int)

// UploadShard registers the files of a shard uploaded with a write token
// and links them to the token's repository. Everything is checked before
// anything is written: the shard's layout, that every xorb it names is
// stored, that every term lies in its xorb with the verification hash of
// its chunks, that every file hash is the hash of its chunks, and that the
// SHA-256 the shard claims for a file is the SHA-256 of the stored content
// (recomputed here: the file's bytes are read back once). It returns
// xet.ShardResultRegistered when a file was new, else
// xet.ShardResultExists. progress may be nil.
func (s *Service) UploadShard(ctx context.Context, tok *Token, body io.Reader, progress ShardProgress) (int, error) {
	if !tok.Write {
		return 0, errorf(ErrForbidden, "This token is read-only: ask the hub for a write token")
	}
	sh, err := xet.ReadShard(body, s.cfg.MaxShardSize)
	if err != nil {
		return 0, shardError(err)
	}
	if err := sh.Check(); err != nil {
		return 0, shardError(err)
	}
	for _, f := range sh.Files {
		// Without them a shard could name someone else's chunks without
		// knowing them. The empty file has no terms to verify.
		if len(f.Terms) > 0 && f.Verification == nil {
			return 0, errorf(ErrInvalid, "File %v carries no verification hashes: this hub requires them", f.Hash)
		}
	}
	// Indexes are loaded as the checks need them, a few at a time: a
	// shard may name thousands of xorbs, each index up to half a MiB.
	idx := &indexCache{s: s, max: 64}
	for i := range sh.Files {
		if err := sh.Files[i].Verify(ctx, idx); err != nil {
			return 0, shardError(err)
		}
	}
	if err := s.verifyCAS(ctx, sh, idx); err != nil {
		return 0, err
	}
	files, err := s.checkFiles(ctx, tok, sh, idx, progress)
	if err != nil {
		return 0, err
	}
	var dedup []meta.XetDedup
	var casXorbs []string
	for _, x := range sh.Xorbs {
		casXorbs = append(casXorbs, x.Hash.String())
		for _, c := range x.Chunks {
			if c.Flags&xet.ChunkGlobalDedup != 0 || xet.GlobalDedupEligible(c.Hash) {
				dedup = append(dedup, meta.XetDedup{Chunk: c.Hash.String(), Xorb: x.Hash.String()})
			}
		}
	}
	// Clients query the first chunk of every file: an answer naming the
	// file lets them skip all of its xorbs. Last, so that these win.
	for _, f := range sh.Files {
		if len(f.Terms) == 0 {
			continue
		}
		t := f.Terms[0]
		x, err := idx.XorbIndex(ctx, t.Xorb)
		if err != nil {
			return 0, shardError(err)
		}
		dedup = append(dedup, meta.XetDedup{Chunk: x.Chunks[t.ChunkStart].Hash.String(), Xorb: t.Xorb.String(), File: f.Hash.String()})
	}
	now := time.Now()
	added, err := s.meta.RegisterXetFiles(ctx, files, dedup, now)
	if errors.Is(err, meta.ErrNotFound) {
		return 0, &Error{Kind: ErrInvalid, Msg: "A xorb of this shard was deleted while it was checked: upload it again", Err: err}
	}
	if err != nil {
		return 0, fmt.Errorf("register shard: %w", err)
	}
	// Xorbs listed for dedup only are as good as named: clients keep this
	// shard and may reference them later without uploading them.
	if err := s.meta.TouchXetXorbs(ctx, casXorbs, now); err != nil {
		return 0, err
	}
	for _, f := range files {
		if err := s.meta.AddLFSObject(ctx, tok.RepoID, f.SHA256, f.Size); err != nil {
			return 0, fmt.Errorf("link xet file %s: %w", f.Hash, err)
		}
	}
	s.lg.InfoContext(ctx, "xet shard registered", "files", len(files), "new", added, "xorbs", len(sh.Xorbs),
		"repo_id", tok.RepoID, "user_id", tok.UserID)
	if added > 0 {
		return xet.ShardResultRegistered, nil
	}
	return xet.ShardResultExists, nil
}

// indexCache is the xet.IndexSource of a shard's checks: stored xorb
// indexes, loaded on demand, at most max of them kept (least recently
// used go first). A xorb that is not stored fails the upload: clients
// upload xorbs before the shard that names them.
type indexCache struct {
	s     *Service
	max   int
	m     map[xet.Hash]*xet.Index
	order []xet.Hash // least recently used first
}

func (c *indexCache) XorbIndex(ctx context.Context, h xet.Hash) (*xet.Index, error) {
	if x, ok := c.m[h]; ok {
		i := slices.Index(c.order, h)
		c.order = append(slices.Delete(c.order, i, i+1), h)
		return x, nil
	}
	recs, err := c.s.meta.XetXorbs(ctx, []string{h.String()})
	if err != nil {
		return nil, err
	}
	rec := recs[h.String()]
	if rec == nil {
		return nil, errorf(ErrInvalid, "Xorb %v was not uploaded: upload xorbs before the shard that names them", h)
	}
	x := &xet.Index{}
	if err := x.UnmarshalBinary(rec.Index); err != nil {
		return nil, fmt.Errorf("stored index of xorb %v: %w", h, err)
	}
	if c.m == nil {
		c.m = map[xet.Hash]*xet.Index{}
	}
	if len(c.order) == c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[h] = x
	c.order = append(c.order, h)
	return x, nil
}

// verifyCAS checks the shard's CAS section against the stored xorbs, as
// xet.Shard.Verify does (dedup answers are built from it), through the
// bounded cache.
func (s *Service) verifyCAS(ctx context.Context, sh *xet.Shard, idx xet.IndexSource) error {
	for i := range sh.Xorbs {
		x := &sh.Xorbs[i]
		stored, err := idx.XorbIndex(ctx, x.Hash)
		if err != nil {
			return shardError(err)
		}
		if len(stored.Chunks) != len(x.Chunks) {
			return errorf(ErrInvalid, "Shard rejected: CAS section: xorb %v lists %d chunks, has %d", x.Hash, len(x.Chunks), len(stored.Chunks))
		}
		for j, c := range x.Chunks {
			sc := stored.Chunks[j]
			if c.Hash != sc.Hash || c.RawSize != sc.RawSize || int64(c.RawStart) != sc.RawStart {
				return errorf(ErrInvalid, "Shard rejected: CAS section: xorb %v chunk %d differs from the stored xorb", x.Hash, j)
			}
		}
	}
	return nil
}

// checkFiles builds the records of the shard's distinct files, with the
// SHA-256 of each file's content: known from an earlier registration of
// the same file hash (a file hash names its content), else recomputed
// from the stored chunks. A claim that differs fails the upload.
func (s *Service) checkFiles(ctx context.Context, tok *Token, sh *xet.Shard, idx xet.IndexSource, progress ShardProgress) ([]meta.XetFile, error) {
	seen := map[xet.Hash]bool{}
	var out []meta.XetFile
	var unique []*xet.ShardFile
	for i := range sh.Files {
		if f := &sh.Files[i]; !seen[f.Hash] {
			seen[f.Hash] = true
			unique = append(unique, f)
		}
	}
	for i, f := range unique {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := newLayout(ctx, f.Terms, idx)
		if err != nil {
			return nil, shardError(err)
		}
		if s.cfg.MaxFileSize > 0 && l.size > s.cfg.MaxFileSize {
			return nil, errorf(ErrTooLarge, "File %v has %d bytes: this hub accepts files of at most %d", f.Hash, l.size, s.cfg.MaxFileSize)
		}
		sum, err := s.fileSHA256(ctx, f.Hash, l)
		if err != nil {
			return nil, err
		}
		if f.SHA256 != nil {
			if claim := hex.EncodeToString(f.SHA256[:]); claim != sum {
				return nil, errorf(ErrInvalid, "File %v claims SHA-256 %s, but its content has SHA-256 %s: nothing was registered", f.Hash, claim, sum)
			}
		}
		lb, _ := l.MarshalBinary()
		var xorbs []string
		for _, t := range f.Terms {
			xorbs = append(xorbs, t.Xorb.String())
		}
		slices.Sort(xorbs)
		out = append(out, meta.XetFile{Hash: f.Hash.String(), SHA256: sum, Size: l.size, Layout: lb, Xorbs: slices.Compact(xorbs),
			RepoID: tok.RepoID, UserID: tok.UserID})
		if progress != nil {
			progress(i+1, len(unique))
		}
	}
	return out, nil
}

// fileSHA256 returns the SHA-256 of file h's content, reading it back
// from the stored xorbs unless the file is registered already.
func (s *Service) fileSHA256(ctx context.Context, h xet.Hash, l *layout) (string, error) {
	known, err := s.meta.XetFile(ctx, h.String())
	switch {
	case err == nil:
		return known.SHA256, nil
	case !errors.Is(err, meta.ErrNotFound):
		return "", err
	}
	f := newFile(s.lg, s.xorbs, l)
	defer f.Close()
	d := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		d.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The chunks were checked on upload; failing to read them
			// back is ours, not the client's.
			return "", fmt.Errorf("read back file %v: %w", h, err)
		}
	}
	return hex.EncodeToString(d.Sum(nil)), nil
}

// shardError turns a format error into the client's 400 (or 413).
func shardError(err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, xet.ErrTooLarge):
		return &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("Shard too large: %v", err), Err: err}
	case errors.Is(err, xet.ErrInvalid):
		return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("Shard rejected: %v", err), Err: err}
	}
	return err
}
