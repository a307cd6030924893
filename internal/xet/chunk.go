package xet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
)

// A Scheme is the compression scheme of a serialized chunk.
type Scheme uint8

// Compression schemes (xet-core xorb_object/compression_scheme.rs). The
// value 99, "auto", is a client setting and never appears in a chunk
// header.
const (
	SchemeNone Scheme = 0
	// SchemeLZ4 is the LZ4 frame format (lz4_flex FrameEncoder), not a
	// raw LZ4 block: the spec says only "standard LZ4".
	SchemeLZ4 Scheme = 1
	// SchemeBG4LZ4 splits the bytes by position mod 4 into four groups,
	// concatenates them and compresses the result as SchemeLZ4. It suits
	// arrays of 4-byte floats.
	SchemeBG4LZ4 Scheme = 2
)

// String returns the scheme's name as hf_xet's
// HF_XET_XORB_COMPRESSION_POLICY spells it.
func (s Scheme) String() string {
	switch s {
	case SchemeNone:
		return "none"
	case SchemeLZ4:
		return "lz4"
	case SchemeBG4LZ4:
		return "bg4-lz4"
	}
	return fmt.Sprintf("Scheme(%d)", uint8(s))
}

// ChunkHeaderSize is the size of the header before each chunk of a xorb:
// version (0), compressed size (uint24), scheme, raw size (uint24), all
// little-endian (xet-core xorb_chunk_format.rs).
const ChunkHeaderSize = 8

// maxPayloadSize bounds a chunk's compressed size, as xet-core's reader
// does: LZ4 can expand incompressible data a little, and writers fall
// back to SchemeNone before that.
const maxPayloadSize = 2 * MaxChunkSize

// footerIdent starts the footer that hf_xet 1.1.9 and older append to a
// xorb; no chunk header can start with it, since its first byte is not
// version 0.
var footerIdent = []byte("XETBLOB")

// lz4FrameMagic starts every LZ4 frame. Legacy frames and skippable
// frames, which have other magic numbers, are refused: lz4_flex and lz4js
// never write them.
const lz4FrameMagic = 0x184D2204

type chunkHeader struct {
	scheme     Scheme
	payloadLen int
	rawLen     int
}

func parseChunkHeader(b []byte) (chunkHeader, error) {
	h := chunkHeader{
		scheme:     Scheme(b[4]),
		payloadLen: int(b[1]) | int(b[2])<<8 | int(b[3])<<16,
		rawLen:     int(b[5]) | int(b[6])<<8 | int(b[7])<<16,
	}
	switch {
	case b[0] != 0:
		return h, invalid("chunk header version %d", b[0])
	case h.scheme > SchemeBG4LZ4:
		return h, invalid("chunk compression scheme %d", b[4])
	case h.payloadLen > maxPayloadSize:
		return h, invalid("chunk compressed size %d exceeds %d", h.payloadLen, maxPayloadSize)
	case h.rawLen > MaxChunkSize:
		return h, invalid("chunk size %d exceeds %d", h.rawLen, MaxChunkSize)
	}
	return h, nil
}

func appendChunkHeader(dst []byte, s Scheme, payloadLen, rawLen int) []byte {
	return append(dst, 0,
		byte(payloadLen), byte(payloadLen>>8), byte(payloadLen>>16),
		byte(s),
		byte(rawLen), byte(rawLen>>8), byte(rawLen>>16))
}

// DecompressChunk decodes the payload of a chunk serialized with scheme
// into its rawSize raw bytes. It allocates rawSize bytes only after
// checking rawSize against [MaxChunkSize], and fails rather than write
// more: a payload that decodes to more or fewer bytes, or whose LZ4 frame
// is malformed or fails its checksums, is an error wrapping [ErrInvalid].
func DecompressChunk(scheme Scheme, payload []byte, rawSize int) ([]byte, error) {
	if rawSize < 0 || rawSize > MaxChunkSize {
		return nil, invalid("chunk size %d out of range", rawSize)
	}
	if len(payload) > maxPayloadSize {
		return nil, invalid("chunk compressed size %d exceeds %d", len(payload), maxPayloadSize)
	}
	var d decoder
	out := make([]byte, rawSize)
	if err := d.decode(out, scheme, payload); err != nil {
		return nil, err
	}
	return out, nil
}

// A decoder keeps its buffer from one chunk to the next.
type decoder struct {
	grouped []byte
}

// decode fills dst, whose length is the chunk's raw size, from payload.
func (d *decoder) decode(dst []byte, scheme Scheme, payload []byte) error {
	switch scheme {
	case SchemeNone:
		if len(payload) != len(dst) {
			return invalid("uncompressed chunk of %d bytes declares %d", len(payload), len(dst))
		}
		copy(dst, payload)
		return nil
	case SchemeLZ4:
		return decodeLZ4Frame(dst, payload)
	case SchemeBG4LZ4:
		if cap(d.grouped) < len(dst) {
			d.grouped = make([]byte, len(dst), MaxChunkSize)
		}
		g := d.grouped[:len(dst)]
		if err := decodeLZ4Frame(g, payload); err != nil {
			return err
		}
		bg4Regroup(dst, g)
		return nil
	}
	return invalid("chunk compression scheme %d", uint8(scheme))
}

// bg4Regroup interleaves the four byte groups of g into dst (xet-core
// byte_grouping/bg4.rs): with n = len(g), group k holds n/4 bytes plus one
// if k < n%4, and byte 4i+k of dst is byte i of group k.
func bg4Regroup(dst, g []byte) {
	// Group k holds bytes k, k+4, k+8…: the first n%4 groups are one byte
	// longer. This runs for every byte a plain download of a BG4 chunk
	// sends: eight bytes of each group are interleaved at a time, in
	// registers (spread, spread16), then the tail byte by byte.
	n := len(g)
	q, r := n/4, n%4
	var off [4]int
	for k := 1; k < 4; k++ {
		off[k] = off[k-1] + q
		if k-1 < r {
			off[k]++
		}
	}
	g0, g1, g2, g3 := g[off[0]:off[0]+q], g[off[1]:off[1]+q], g[off[2]:off[2]+q], g[off[3]:off[3]+q]
	d := dst[:4*q]
	le := binary.LittleEndian
	words := q &^ 7
	for i := 0; i < words; i += 8 {
		a, b, c, e := le.Uint64(g0[i:]), le.Uint64(g1[i:]), le.Uint64(g2[i:]), le.Uint64(g3[i:])
		abLo, abHi := spread(a&0xffffffff)|spread(b&0xffffffff)<<8, spread(a>>32)|spread(b>>32)<<8
		ceLo, ceHi := spread(c&0xffffffff)|spread(e&0xffffffff)<<8, spread(c>>32)|spread(e>>32)<<8
		o := d[4*i : 4*i+32 : 4*i+32]
		le.PutUint64(o[0:], spread16(abLo&0xffffffff)|spread16(ceLo&0xffffffff)<<16)
		le.PutUint64(o[8:], spread16(abLo>>32)|spread16(ceLo>>32)<<16)
		le.PutUint64(o[16:], spread16(abHi&0xffffffff)|spread16(ceHi&0xffffffff)<<16)
		le.PutUint64(o[24:], spread16(abHi>>32)|spread16(ceHi>>32)<<16)
	}
	for i := words; i < q; i++ {
		d[4*i], d[4*i+1], d[4*i+2], d[4*i+3] = g0[i], g1[i], g2[i], g3[i]
	}
	for k := range r {
		dst[4*q+k] = g[off[k]+q]
	}
}

// spread moves byte i of x (i < 4) to byte 2i.
func spread(x uint64) uint64 {
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	return (x | x<<8) & 0x00FF00FF00FF00FF
}

// spread16 moves 16-bit unit i of x (i < 2) to unit 2i.
func spread16(x uint64) uint64 { return (x | x<<16) & 0x0000FFFF0000FFFF }

// bg4Split is the inverse of bg4Regroup.
func bg4Split(dst, data []byte) {
	n := len(data)
	off := 0
	for k := range 4 {
		for i := k; i < n; i += 4 {
			dst[off] = data[i]
			off++
		}
	}
}

// An encoder compresses chunks, reusing its LZ4 writer and buffers.
type encoder struct {
	zw      *lz4.Writer
	buf     bytes.Buffer
	grouped []byte
}

// compress returns data compressed with scheme; the result aliases the
// encoder's buffer.
func (e *encoder) compress(scheme Scheme, data []byte) ([]byte, error) {
	if scheme == SchemeBG4LZ4 {
		e.grouped = append(e.grouped[:0], data...)
		bg4Split(e.grouped, data)
		data = e.grouped
	}
	e.buf.Reset()
	if e.zw == nil {
		e.zw = lz4.NewWriter(&e.buf)
	} else {
		e.zw.Reset(&e.buf)
	}
	// lz4_flex's FrameEncoder defaults: 64 KiB independent blocks and no
	// content checksum; the chunk hash already covers the content. This is
	// the frame layout that hf_xet's and huggingface.js's decoders see most.
	if err := e.zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false)); err != nil {
		return nil, err
	}
	if _, err := e.zw.Write(data); err != nil {
		return nil, err
	}
	if err := e.zw.Close(); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

// AppendChunk appends raw serialized as one xorb chunk, header included,
// to dst. With SchemeLZ4 or SchemeBG4LZ4 the chunk is stored uncompressed
// when compression does not make it smaller, as xet-core does. raw must
// hold 1 to [MaxChunkSize] bytes.
func AppendChunk(dst, raw []byte, scheme Scheme) ([]byte, error) {
	var e encoder
	return e.appendChunk(dst, raw, scheme)
}

func (e *encoder) appendChunk(dst, raw []byte, scheme Scheme) ([]byte, error) {
	if len(raw) == 0 || len(raw) > MaxChunkSize {
		return dst, fmt.Errorf("xet: chunk of %d bytes, want 1 to %d", len(raw), MaxChunkSize)
	}
	payload := raw
	switch scheme {
	case SchemeNone:
	case SchemeLZ4, SchemeBG4LZ4:
		c, err := e.compress(scheme, raw)
		if err != nil {
			return dst, fmt.Errorf("xet: compress chunk: %w", err)
		}
		if len(c) < len(raw) {
			payload = c
		} else {
			scheme = SchemeNone
		}
	default:
		return dst, fmt.Errorf("xet: cannot write compression scheme %d", uint8(scheme))
	}
	dst = appendChunkHeader(dst, scheme, len(payload), len(raw))
	return append(dst, payload...), nil
}

// A ChunkReader decodes a stream of serialized chunks, such as a range of
// a stored xorb that a reconstruction names, back to raw bytes. Its memory
// is one chunk, whatever the stream's length.
type ChunkReader struct {
	r       io.Reader
	dec     decoder
	hdr     [ChunkHeaderSize]byte
	payload []byte
	raw     []byte
	footer  bool
	last    chunkHeader
}

// NewChunkReader returns a ChunkReader reading serialized chunks from r.
func NewChunkReader(r io.Reader) *ChunkReader {
	return &ChunkReader{r: r}
}

// Next returns the raw bytes of the next chunk, valid until the next
// call. It returns io.EOF at the end of the stream or at the start of a
// xorb footer. Malformed or truncated chunks give an error wrapping
// [ErrInvalid]; errors from the underlying reader are returned as they
// are.
func (cr *ChunkReader) Next() ([]byte, error) {
	if cr.footer {
		return nil, io.EOF
	}
	n, err := io.ReadFull(cr.r, cr.hdr[:])
	switch {
	case errors.Is(err, io.EOF):
		return nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		if bytes.HasPrefix(cr.hdr[:n], footerIdent) {
			return nil, invalid("truncated xorb footer")
		}
		return nil, invalid("truncated chunk header")
	case err != nil:
		return nil, err
	}
	if bytes.HasPrefix(cr.hdr[:], footerIdent) {
		cr.footer = true
		return nil, io.EOF
	}
	h, err := parseChunkHeader(cr.hdr[:])
	if err != nil {
		return nil, err
	}
	if cap(cr.payload) < h.payloadLen {
		cr.payload = make([]byte, 0, maxPayloadSize)
	}
	payload := cr.payload[:h.payloadLen]
	if _, err := io.ReadFull(cr.r, payload); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, invalid("truncated chunk: %d bytes declared", h.payloadLen)
		}
		return nil, err
	}
	if cap(cr.raw) < h.rawLen {
		cr.raw = make([]byte, 0, MaxChunkSize)
	}
	raw := cr.raw[:h.rawLen]
	if err := cr.dec.decode(raw, h.scheme, payload); err != nil {
		return nil, err
	}
	cr.last = h
	return raw, nil
}

// DecodeChunks writes the raw bytes of the serialized chunks read from r
// to w and returns how many it wrote.
func DecodeChunks(w io.Writer, r io.Reader) (int64, error) {
	cr := NewChunkReader(r)
	var n int64
	for {
		raw, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		m, err := w.Write(raw)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
}
