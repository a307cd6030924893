package xet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Limits of the xorbs that clients build (xet-core
// xorb_object/constants.rs MAX_XORB_BYTES, MAX_XORB_CHUNKS; huggingface.js
// createXorbs.ts). hf_xet cuts a xorb before its raw size would pass
// MaxXorbRawSize; huggingface.js bounds the serialized size instead, so a
// xorb of well-compressed chunks can hold more raw bytes.
const (
	MaxXorbChunks  = 8 << 10
	MaxXorbRawSize = 64 << 20
)

// An Index describes a serialized xorb: its hash and, per chunk, where the
// chunk lies in the raw content and in the serialized bytes. It is what
// the CAS service needs to answer reconstructions and to serve byte ranges
// of the stored xorb. [Index.MarshalBinary] stores it compactly.
type Index struct {
	Hash   Hash
	Chunks []IndexChunk
}

// An IndexChunk locates one chunk of a xorb.
type IndexChunk struct {
	Hash    Hash
	RawSize uint32
	// RawStart is the chunk's offset in the xorb's raw content: the sum
	// of the raw sizes of the chunks before it.
	RawStart int64
	// Start and End delimit the serialized chunk, header included: bytes
	// [Start, End) of the xorb.
	Start, End int64
}

// Size returns the length of the serialized chunks, which is where a
// footer, if any, starts.
func (x *Index) Size() int64 {
	if len(x.Chunks) == 0 {
		return 0
	}
	return x.Chunks[len(x.Chunks)-1].End
}

// RawSize returns the length of the xorb's raw content.
func (x *Index) RawSize() int64 {
	if len(x.Chunks) == 0 {
		return 0
	}
	c := x.Chunks[len(x.Chunks)-1]
	return c.RawStart + int64(c.RawSize)
}

// ByteRange returns the serialized bytes [from, to) that hold chunks
// [start, end), or false if that is not a non-empty range of chunks of
// the xorb. Those bytes, decoded with a [ChunkReader], give the raw bytes
// of the chunks.
func (x *Index) ByteRange(start, end int) (from, to int64, ok bool) {
	if start < 0 || start >= end || end > len(x.Chunks) {
		return 0, 0, false
	}
	return x.Chunks[start].Start, x.Chunks[end-1].End, true
}

// Leaves returns the hash and raw size of each chunk, the input of
// [XorbHash] and [FileHash].
func (x *Index) Leaves() []Leaf {
	leaves := make([]Leaf, len(x.Chunks))
	for i, c := range x.Chunks {
		leaves[i] = Leaf{c.Hash, uint64(c.RawSize)}
	}
	return leaves
}

// VerifyXorb reads a serialized xorb as clients upload it, checks that
// its content hashes to want, and returns its index. See [ReadXorb] for
// what it reads and the limits it enforces; a xorb that hashes to another
// value is an error wrapping [ErrHashMismatch]. Since it reads r once, in
// order, with memory of one chunk plus the index, r can be a request body
// teed into storage.
func VerifyXorb(r io.Reader, want Hash, maxSize int64) (*Index, error) {
	x, err := ReadXorb(r, maxSize)
	if err != nil {
		return nil, err
	}
	if x.Hash != want {
		return nil, mismatch("xorb content hashes to %v, not %v", x.Hash, want)
	}
	return x, nil
}

// ReadXorb reads a serialized xorb to the end of r, decompresses every
// chunk, hashes it, and returns the index with the xorb hash computed
// from the chunks. It does not compare that hash with a name; uploads go
// through [VerifyXorb].
//
// A xorb is a sequence of chunks (a [ChunkHeaderSize] header and a
// payload), optionally followed by the footer that hf_xet 1.1.9 and older
// append: reading stops at the footer's "XETBLOB" tag and ignores the
// rest, as xet-core's reference server does. Malformed, truncated or
// empty chunks, a xorb without chunks, more than [MaxXorbChunks] chunks,
// or more than maxSize bytes (which must be below 4 GiB, the reach of the
// footer's offsets) give errors wrapping [ErrInvalid], the last two also
// [ErrTooLarge].
func ReadXorb(r io.Reader, maxSize int64) (*Index, error) {
	if maxSize < 0 || maxSize > math.MaxUint32 {
		return nil, fmt.Errorf("xet: xorb size limit %d out of range", maxSize)
	}
	cr := &cappedReader{r: r, max: maxSize}
	chunks := NewChunkReader(cr)
	var hasher chunkHasher
	x := &Index{}
	var off, rawOff int64
	for {
		raw, err := chunks.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(raw) == 0 {
			// Clients never write one, and reconstruction arithmetic
			// relies on every chunk holding bytes.
			return nil, invalid("chunk %d is empty", len(x.Chunks))
		}
		if len(x.Chunks) == MaxXorbChunks {
			return nil, tooLarge("xorb has more than %d chunks", MaxXorbChunks)
		}
		end := off + ChunkHeaderSize + int64(chunks.last.payloadLen)
		x.Chunks = append(x.Chunks, IndexChunk{
			Hash:     hasher.sum(raw),
			RawSize:  uint32(len(raw)),
			RawStart: rawOff,
			Start:    off,
			End:      end,
		})
		off, rawOff = end, rawOff+int64(len(raw))
	}
	if chunks.footer {
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return nil, err
		}
	}
	if len(x.Chunks) == 0 {
		return nil, invalid("xorb has no chunks")
	}
	x.Hash = XorbHash(x.Leaves())
	return x, nil
}

// cappedReader fails with ErrTooLarge once its reader yields more than
// max bytes.
type cappedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, tooLarge("more than %d bytes", c.max)
	}
	if left := c.max - c.n + 1; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A XorbWriter serializes chunks into a xorb, for converting content that
// arrived through LFS into Xet and for tests. It writes no footer, as
// current clients do not.
type XorbWriter struct {
	w      io.Writer
	scheme Scheme
	enc    encoder
	hasher chunkHasher
	buf    []byte
	idx    Index
}

// NewXorbWriter returns a XorbWriter writing to w with scheme. SchemeNone
// avoids any dependence on other LZ4 decoders accepting this package's
// frames.
func NewXorbWriter(w io.Writer, scheme Scheme) *XorbWriter {
	return &XorbWriter{w: w, scheme: scheme}
}

// Fits reports whether a chunk of n raw bytes can be added without
// passing the limits clients keep to: [MaxXorbChunks] chunks and
// [MaxXorbRawSize] raw bytes. A converter starts a new xorb when it
// cannot.
func (xw *XorbWriter) Fits(n int) bool {
	return len(xw.idx.Chunks) < MaxXorbChunks && xw.idx.RawSize()+int64(n) <= MaxXorbRawSize
}

// WriteChunk appends a chunk of 1 to [MaxChunkSize] raw bytes.
func (xw *XorbWriter) WriteChunk(raw []byte) error {
	if !xw.Fits(len(raw)) {
		return fmt.Errorf("xet: xorb full: %d chunks, %d bytes", len(xw.idx.Chunks), xw.idx.RawSize())
	}
	var err error
	xw.buf, err = xw.enc.appendChunk(xw.buf[:0], raw, xw.scheme)
	if err != nil {
		return err
	}
	if _, err := xw.w.Write(xw.buf); err != nil {
		return err
	}
	start := xw.idx.Size()
	xw.idx.Chunks = append(xw.idx.Chunks, IndexChunk{
		Hash:     xw.hasher.sum(raw),
		RawSize:  uint32(len(raw)),
		RawStart: xw.idx.RawSize(),
		Start:    start,
		End:      start + int64(len(xw.buf)),
	})
	return nil
}

// Index returns the index of the chunks written so far, with their xorb
// hash. It is the caller's copy.
func (xw *XorbWriter) Index() *Index {
	x := &Index{Chunks: append([]IndexChunk(nil), xw.idx.Chunks...)}
	x.Hash = XorbHash(x.Leaves())
	return x
}

// The footer (xet-core xorb_object_format.rs XorbObjectInfoV1), all
// integers little-endian:
//
//	"XETBLOB" 1 xorb_hash[32]
//	"XBLBHSH" 0 n:u32 chunk_hash[32]×n
//	"XBLBBND" 1 n:u32 serialized_end:u32×n raw_end:u32×n
//	n:u32 hashes_section_offset_from_end:u32 boundary_section_offset_from_end:u32
//	buffer[16] (its first 4 bytes are an upload nonce, outside the hash)
//	info_length:u32 (the footer's length without this field: 92+40n)
const (
	footerFixedLen   = 96 // with info_length, for n = 0
	footerPerChunk   = 40
	footerVersion    = 1
	boundaryVersion  = 1
	footerBufferSize = 16
)

// MarshalBinary encodes the index as the xorb footer that xet-core appends
// to stored xorbs, so that a stored xorb can be its chunks followed by
// this footer, as in xet-core's reference server, with chunk offsets
// unchanged. It fails for an index that does not fit the footer's 32-bit
// offsets.
func (x *Index) MarshalBinary() ([]byte, error) {
	n := len(x.Chunks)
	if x.Size() > math.MaxUint32 || x.RawSize() > math.MaxUint32 {
		return nil, errors.New("xet: xorb too large for a footer")
	}
	b := make([]byte, 0, footerFixedLen+footerPerChunk*n)
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	b = append(b, footerIdent...)
	b = append(b, footerVersion)
	b = append(b, x.Hash[:]...)
	b = append(b, "XBLBHSH"...)
	b = append(b, 0)
	u32(uint32(n))
	for _, c := range x.Chunks {
		b = append(b, c.Hash[:]...)
	}
	b = append(b, "XBLBBND"...)
	b = append(b, boundaryVersion)
	u32(uint32(n))
	for _, c := range x.Chunks {
		u32(uint32(c.End))
	}
	for _, c := range x.Chunks {
		u32(uint32(c.RawStart) + c.RawSize)
	}
	u32(uint32(n))
	boundaryFromEnd := 7 + 1 + 4 + 8*n + 12 + footerBufferSize
	u32(uint32(7 + 1 + 4 + 32*n + boundaryFromEnd))
	u32(uint32(boundaryFromEnd))
	b = append(b, make([]byte, footerBufferSize)...)
	u32(uint32(len(b)))
	return b, nil
}

// UnmarshalBinary decodes a footer written by [Index.MarshalBinary] or by
// xet-core: exactly the footer, from its "XETBLOB" tag to its trailing
// length. Chunk offsets are checked for consistency; chunk hashes are
// taken as they are.
func (x *Index) UnmarshalBinary(b []byte) error {
	if len(b) < footerFixedLen || !bytes.HasPrefix(b, footerIdent) {
		return invalid("xorb footer: bad tag or length")
	}
	if b[7] != footerVersion {
		return invalid("xorb footer version %d", b[7])
	}
	n64 := (len(b) - footerFixedLen) / footerPerChunk
	n := int(binary.LittleEndian.Uint32(b[40+8:]))
	if (len(b)-footerFixedLen)%footerPerChunk != 0 || n != n64 {
		return invalid("xorb footer: length %d does not fit %d chunks", len(b), n)
	}
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
	hashes := 40 + 12
	bounds := hashes + 32*n
	tail := bounds + 12 + 8*n
	boundaryFromEnd := 12 + 8*n + 12 + footerBufferSize
	switch {
	case string(b[40:47]) != "XBLBHSH" || b[47] != 0:
		return invalid("xorb footer: bad hash section")
	case string(b[bounds:bounds+7]) != "XBLBBND" || b[bounds+7] != boundaryVersion:
		return invalid("xorb footer: bad boundary section")
	case int(u32(bounds+8)) != n || int(u32(tail)) != n:
		return invalid("xorb footer: inconsistent chunk counts")
	case int(u32(tail+4)) != 12+32*n+boundaryFromEnd || int(u32(tail+8)) != boundaryFromEnd:
		return invalid("xorb footer: bad section offsets")
	case int(u32(len(b)-4)) != len(b)-4:
		return invalid("xorb footer: bad length field")
	}
	chunks := make([]IndexChunk, n)
	var end, rawEnd int64
	for i := range chunks {
		c := &chunks[i]
		copy(c.Hash[:], b[hashes+32*i:])
		c.Start, c.End = end, int64(u32(bounds+12+4*i))
		c.RawStart = rawEnd
		rawEnd = int64(u32(bounds + 12 + 4*n + 4*i))
		size := c.End - c.Start - ChunkHeaderSize
		if size < 0 || size > maxPayloadSize || rawEnd-c.RawStart < 1 || rawEnd-c.RawStart > MaxChunkSize {
			return invalid("xorb footer: chunk %d has bad offsets", i)
		}
		c.RawSize = uint32(rawEnd - c.RawStart)
		end = c.End
	}
	copy(x.Hash[:], b[8:40])
	x.Chunks = chunks
	return nil
}
