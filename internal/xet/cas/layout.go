package cas

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/agorahub/agora/internal/xet"
)

// A layout is what the service stores of a registered file: its terms and,
// for every chunk they use, its raw size and where it lies in its xorb.
// With it a reconstruction (or a plain download) needs no other read: not
// the xorbs' indexes, which can be a few hundred KiB each.
type layout struct {
	terms []layoutTerm
	size  int64
}

type layoutTerm struct {
	xorb       xet.Hash
	start, end uint32 // chunks [start, end) of the xorb
	from       int64  // serialized offset of chunk start
	raw        []uint32
	ser        []uint32 // serialized length of each chunk, header included
}

// rawSize returns the term's content length.
func (t *layoutTerm) rawSize() int64 {
	var n int64
	for _, r := range t.raw {
		n += int64(r)
	}
	return n
}

// to returns the serialized end of the term's chunks.
func (t *layoutTerm) to() int64 {
	n := t.from
	for _, s := range t.ser {
		n += int64(s)
	}
	return n
}

const layoutVersion = 1

// newLayout builds the layout of a file whose terms were checked against
// the indexes (xet.ShardFile.Verify).
func newLayout(ctx context.Context, terms []xet.Term, idx xet.IndexSource) (*layout, error) {
	l := &layout{}
	for i, t := range terms {
		x, err := idx.XorbIndex(ctx, t.Xorb)
		if err != nil {
			return nil, err
		}
		if t.ChunkStart >= t.ChunkEnd || int(t.ChunkEnd) > len(x.Chunks) {
			return nil, errorf(ErrInvalid, "Shard rejected: term %d does not match xorb %v", i, t.Xorb)
		}
		lt := layoutTerm{xorb: t.Xorb, start: t.ChunkStart, end: t.ChunkEnd, from: x.Chunks[t.ChunkStart].Start}
		for _, c := range x.Chunks[t.ChunkStart:t.ChunkEnd] {
			lt.raw = append(lt.raw, c.RawSize)
			lt.ser = append(lt.ser, uint32(c.End-c.Start))
		}
		l.size += lt.rawSize()
		l.terms = append(l.terms, lt)
	}
	return l, nil
}

// MarshalBinary encodes the layout: a version byte, then varints: the
// term count and, per term, the xorb hash (32 raw bytes), the chunk range,
// the serialized offset and each chunk's raw and serialized size. About
// 6 bytes per chunk: 25 KiB for a 256 MiB file.
func (l *layout) MarshalBinary() ([]byte, error) {
	b := []byte{layoutVersion}
	b = binary.AppendUvarint(b, uint64(len(l.terms)))
	for _, t := range l.terms {
		b = append(b, t.xorb[:]...)
		b = binary.AppendUvarint(b, uint64(t.start))
		b = binary.AppendUvarint(b, uint64(t.end))
		b = binary.AppendUvarint(b, uint64(t.from))
		for i := range t.raw {
			b = binary.AppendUvarint(b, uint64(t.raw[i]))
			b = binary.AppendUvarint(b, uint64(t.ser[i]))
		}
	}
	return b, nil
}

var errLayout = errors.New("cas: corrupt file layout")

// UnmarshalBinary decodes a layout written by MarshalBinary. The store is
// trusted, but a corrupt row must give an error, not a panic or a huge
// allocation.
func (l *layout) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != layoutVersion {
		return errLayout
	}
	b = b[1:]
	next := func(max uint64) (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > max {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	nt, ok := next(uint64(len(b) / 32))
	if !ok {
		return errLayout
	}
	*l = layout{terms: make([]layoutTerm, 0, nt)}
	for range nt {
		var t layoutTerm
		if len(b) < len(t.xorb) {
			return errLayout
		}
		copy(t.xorb[:], b)
		b = b[len(t.xorb):]
		start, ok1 := next(xet.MaxXorbChunks)
		end, ok2 := next(xet.MaxXorbChunks)
		from, ok3 := next(1 << 32)
		if !ok1 || !ok2 || !ok3 || start >= end {
			return errLayout
		}
		t.start, t.end, t.from = uint32(start), uint32(end), int64(from)
		n := int(end - start)
		if n > len(b) {
			return errLayout
		}
		t.raw, t.ser = make([]uint32, n), make([]uint32, n)
		for i := range n {
			r, ok1 := next(xet.MaxChunkSize)
			s, ok2 := next(xet.ChunkHeaderSize + 2*xet.MaxChunkSize)
			if !ok1 || !ok2 || r == 0 || s <= xet.ChunkHeaderSize {
				return errLayout
			}
			t.raw[i], t.ser[i] = uint32(r), uint32(s)
		}
		l.size += t.rawSize()
		l.terms = append(l.terms, t)
	}
	if len(b) != 0 {
		return errLayout
	}
	return nil
}

// plan computes the reconstruction of bytes r of the file (nil: all).
func (l *layout) plan(ctx context.Context, r *xet.FileRange) (*xet.Plan, error) {
	terms := make([]xet.Term, len(l.terms))
	for i, t := range l.terms {
		terms[i] = xet.Term{Xorb: t.xorb, RawSize: uint32(t.rawSize()), ChunkStart: t.start, ChunkEnd: t.end}
	}
	return xet.PlanReconstruction(ctx, terms, r, l)
}

// XorbIndex implements xet.IndexSource with partial indexes: only the
// chunks the file's terms use are filled in, which is all a plan reads.
func (l *layout) XorbIndex(ctx context.Context, h xet.Hash) (*xet.Index, error) {
	x := &xet.Index{Hash: h}
	for _, t := range l.terms {
		if t.xorb != h {
			continue
		}
		for len(x.Chunks) < int(t.end) {
			x.Chunks = append(x.Chunks, xet.IndexChunk{})
		}
		off := t.from
		for i := range t.raw {
			c := &x.Chunks[int(t.start)+i]
			c.RawSize, c.Start, c.End = t.raw[i], off, off+int64(t.ser[i])
			off = c.End
		}
	}
	if len(x.Chunks) == 0 {
		return nil, fmt.Errorf("xorb %v: %w", h, errLayout)
	}
	return x, nil
}
