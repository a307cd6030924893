package cas

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/xet"
)

// maxDedupXorbs bounds the xorbs of one dedup answer (a xorb lists up to
// 8192 chunks, 48 bytes each).
const maxDedupXorbs = 16

// DedupShard answers a global-dedup query for chunk name from any token's
// holder: a shard whose CAS section lists the xorb holding the chunk and,
// when the chunk starts a registered file, the file's other xorbs, with
// every chunk hash keyed by a fresh HMAC key (xet.HMAC). A client can
// match only chunks it has; to reference them in a shard it must also
// prove it knows them (verification hashes). ErrNotFound when the chunk
// is not indexed: clients then simply upload it.
func (s *Service) DedupShard(ctx context.Context, tok *Token, name string) ([]byte, error) {
	h, err := xet.ParseHash(name)
	if err != nil {
		return nil, errorf(ErrInvalid, "Invalid chunk hash %q", name)
	}
	d, err := s.meta.XetDedup(ctx, h.String())
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errorf(ErrNotFound, "Chunk %v is not known", h)
	}
	if err != nil {
		return nil, err
	}
	names := []string{d.Xorb}
	if d.File != "" {
		f, err := s.meta.XetFile(ctx, d.File)
		switch {
		case err == nil:
			for _, x := range f.Xorbs {
				if x != d.Xorb && len(names) < maxDedupXorbs {
					names = append(names, x)
				}
			}
		case !errors.Is(err, meta.ErrNotFound):
			return nil, err
		}
	}
	recs, err := s.meta.XetXorbs(ctx, names)
	if err != nil {
		return nil, err
	}
	if recs[d.Xorb] == nil {
		return nil, errorf(ErrNotFound, "Chunk %v is not known", h)
	}
	var key xet.Hash
	rand.Read(key[:])
	now := time.Now()
	sh := &xet.Shard{Footer: &xet.ShardFooter{ChunkHashKey: key, CreatedAt: uint64(now.Unix()),
		KeyExpiry: uint64(now.Add(s.cfg.DedupExpiry).Unix())}}
	var touched []string
	for _, n := range names {
		rec := recs[n]
		if rec == nil {
			continue // collected meanwhile
		}
		idx := &xet.Index{}
		if err := idx.UnmarshalBinary(rec.Index); err != nil {
			return nil, fmt.Errorf("stored index of xorb %s: %w", n, err)
		}
		sx := xet.ShardXorb{Hash: idx.Hash, RawSize: uint32(idx.RawSize()), StoredSize: uint32(idx.Size())}
		for _, c := range idx.Chunks {
			var flags uint32
			if xet.GlobalDedupEligible(c.Hash) {
				flags = xet.ChunkGlobalDedup
			}
			sx.Chunks = append(sx.Chunks, xet.ShardChunk{Hash: xet.HMAC(key, c.Hash), RawStart: uint32(c.RawStart), RawSize: c.RawSize, Flags: flags})
		}
		sh.Xorbs = append(sh.Xorbs, sx)
		touched = append(touched, n)
	}
	// The client may reference these xorbs until the answer expires,
	// without uploading them: they must outlive it (see CollectXorbs).
	if err := s.meta.TouchXetXorbs(ctx, touched, now); err != nil {
		return nil, err
	}
	return sh.MarshalBinary()
}
