package xet

import (
	"context"
	"fmt"
)

// An IndexSource finds the index of a stored xorb. The CAS service backs
// it with its metadata store.
type IndexSource interface {
	// XorbIndex returns the index of the stored xorb named h. When no
	// such xorb is stored it returns an error the caller can recognize
	// (the store's not-found error): [Shard.Verify] passes it through.
	XorbIndex(ctx context.Context, h Hash) (*Index, error)
}

// IndexSourceFunc adapts a function to an [IndexSource].
type IndexSourceFunc func(ctx context.Context, h Hash) (*Index, error)

// XorbIndex calls f.
func (f IndexSourceFunc) XorbIndex(ctx context.Context, h Hash) (*Index, error) { return f(ctx, h) }

// HasVerification reports whether the shard's files carry verification
// hashes. After [Shard.Check] it holds for all files or for none. Agora
// requires them (the spec makes them mandatory for uploads): without them
// a shard could reference someone else's xorbs without knowing their
// content.
func (s *Shard) HasVerification() bool {
	return len(s.Files) > 0 && s.Files[0].Verification != nil
}

// Check makes the checks of a shard upload that need no store (Xet
// storage spec §3.6): every file has verification hashes or none does
// (xet-core refuses "only some files contain verification"); each term
// names a non-empty chunk range and a non-zero size; a file without terms
// is the empty file, whose hash is zero; each CAS-section xorb lists its
// chunks with contiguous raw offsets summing to its raw size. Duplicate
// files and any file order are allowed, as clients produce them. Errors
// wrap [ErrInvalid].
func (s *Shard) Check() error {
	for i := range s.Files {
		f := &s.Files[i]
		if (f.Verification != nil) != (s.Files[0].Verification != nil) {
			return invalid("only some files have verification hashes")
		}
		if f.Verification != nil && len(f.Verification) != len(f.Terms) {
			return invalid("file %v: %d verification hashes for %d terms", f.Hash, len(f.Verification), len(f.Terms))
		}
		if len(f.Terms) == 0 && !f.Hash.IsZero() {
			return invalid("file %v has no terms", f.Hash)
		}
		for j, t := range f.Terms {
			if t.ChunkStart >= t.ChunkEnd || t.RawSize == 0 {
				return invalid("file %v term %d: chunks [%d, %d), %d bytes", f.Hash, j, t.ChunkStart, t.ChunkEnd, t.RawSize)
			}
			if t.ChunkEnd-t.ChunkStart > MaxXorbChunks || uint64(t.RawSize) > uint64(t.ChunkEnd-t.ChunkStart)*MaxChunkSize {
				return invalid("file %v term %d: %d bytes in chunks [%d, %d)", f.Hash, j, t.RawSize, t.ChunkStart, t.ChunkEnd)
			}
		}
	}
	for i := range s.Xorbs {
		x := &s.Xorbs[i]
		if len(x.Chunks) == 0 {
			return invalid("CAS section: xorb %v has no chunks", x.Hash)
		}
		var off uint64
		for j, c := range x.Chunks {
			if uint64(c.RawStart) != off || c.RawSize == 0 || c.RawSize > MaxChunkSize {
				return invalid("CAS section: xorb %v chunk %d at %d, %d bytes", x.Hash, j, c.RawStart, c.RawSize)
			}
			off += uint64(c.RawSize)
		}
		if off != uint64(x.RawSize) {
			return invalid("CAS section: xorb %v chunks hold %d bytes, not %d", x.Hash, off, x.RawSize)
		}
	}
	return nil
}

// Verify makes the checks of a shard upload that need the stored xorbs,
// after [Shard.Check]: every file as [ShardFile.Verify] does, and every
// CAS-section xorb against its stored index (same chunk hashes and
// sizes), since dedup answers are built from that section. It looks each
// xorb up once. Failed checks give errors wrapping [ErrInvalid]; errors
// from src are returned wrapped as they are, so that a missing xorb
// surfaces as the store's not-found error.
func (s *Shard) Verify(ctx context.Context, src IndexSource) error {
	cache := cachedSource{src: src, m: map[Hash]*Index{}}
	for i := range s.Files {
		if err := s.Files[i].Verify(ctx, &cache); err != nil {
			return err
		}
	}
	for i := range s.Xorbs {
		x := &s.Xorbs[i]
		idx, err := cache.XorbIndex(ctx, x.Hash)
		if err != nil {
			return fmt.Errorf("CAS section: xorb %v: %w", x.Hash, err)
		}
		if len(idx.Chunks) != len(x.Chunks) {
			return invalid("CAS section: xorb %v lists %d chunks, has %d", x.Hash, len(x.Chunks), len(idx.Chunks))
		}
		for j, c := range x.Chunks {
			ic := idx.Chunks[j]
			if c.Hash != ic.Hash || c.RawSize != ic.RawSize || int64(c.RawStart) != ic.RawStart {
				return invalid("CAS section: xorb %v chunk %d differs from the stored xorb", x.Hash, j)
			}
		}
	}
	return nil
}

type cachedSource struct {
	src IndexSource
	m   map[Hash]*Index
}

func (c *cachedSource) XorbIndex(ctx context.Context, h Hash) (*Index, error) {
	if x, ok := c.m[h]; ok {
		return x, nil
	}
	x, err := c.src.XorbIndex(ctx, h)
	if err != nil {
		return nil, err
	}
	c.m[h] = x
	return x, nil
}

// Verify checks a file against the stored xorbs its terms name: each
// term's chunk range lies in its xorb and holds the term's raw size; each
// verification hash, if the file has them, is the [VerificationHash] of
// the term's chunks, which proves the uploader knew them; and the file
// hash is the [FileHash] of all the terms' chunks. Without that last
// check anyone could register a known file hash with other content.
// Errors are as for [Shard.Verify].
func (f *ShardFile) Verify(ctx context.Context, src IndexSource) error {
	var leaves []Leaf
	var hashes []Hash
	for i, t := range f.Terms {
		idx, err := src.XorbIndex(ctx, t.Xorb)
		if err != nil {
			return fmt.Errorf("file %v term %d: xorb %v: %w", f.Hash, i, t.Xorb, err)
		}
		if t.ChunkStart >= t.ChunkEnd || int(t.ChunkEnd) > len(idx.Chunks) {
			return invalid("file %v term %d: chunks [%d, %d) of a xorb of %d", f.Hash, i, t.ChunkStart, t.ChunkEnd, len(idx.Chunks))
		}
		chunks := idx.Chunks[t.ChunkStart:t.ChunkEnd]
		var size uint64
		hashes = hashes[:0]
		for _, c := range chunks {
			size += uint64(c.RawSize)
			hashes = append(hashes, c.Hash)
			leaves = append(leaves, Leaf{c.Hash, uint64(c.RawSize)})
		}
		if size != uint64(t.RawSize) {
			return invalid("file %v term %d: chunks hold %d bytes, term says %d", f.Hash, i, size, t.RawSize)
		}
		if f.Verification != nil {
			if i >= len(f.Verification) {
				return invalid("file %v: %d verification hashes for %d terms", f.Hash, len(f.Verification), len(f.Terms))
			}
			if VerificationHash(hashes) != f.Verification[i] {
				return mismatch("file %v term %d: verification hash", f.Hash, i)
			}
		}
	}
	if got := FileHash(leaves); got != f.Hash {
		return mismatch("file %v: terms hash to %v", f.Hash, got)
	}
	return nil
}
