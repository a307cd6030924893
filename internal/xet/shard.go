package xet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A Shard is a parsed MDB shard (format version 2), as clients upload it
// to register files and as the CAS service answers global-dedup queries
// (xet-core metadata_shard/shard_format.rs, file_structs.rs,
// xorb_structs.rs).
//
// On the wire, every record is 48 bytes and integers are little-endian:
//
//	header:  tag[32] version:u64=2 footer_size:u64 (200, or 0 without footer)
//	file info section, per file:
//	  file_hash[32] flags:u32 num_terms:u32 unused:u64
//	  num_terms × (xorb_hash[32] xorb_flags:u32 raw_size:u32 chunk_start:u32 chunk_end:u32)
//	  if flags bit 31: num_terms × (range_hash[32] zero[16])
//	  if flags bit 30: sha256 in Xet order[32] zero[16]
//	bookend: 32×0xFF 16×0x00
//	CAS info section, per xorb:
//	  xorb_hash[32] flags:u32 num_chunks:u32 raw_size:u32 stored_size:u32
//	  num_chunks × (chunk_hash[32] raw_start:u32 raw_size:u32 flags:u32 unused:u32)
//	bookend
//	optional lookup tables (hf_xet 1.1.9 and older), then the footer
type Shard struct {
	Files []ShardFile
	Xorbs []ShardXorb
	// Footer is nil when the shard has none (footer_size 0), as hf_xet
	// 1.1.10 and later upload shards; huggingface.js sends one.
	Footer *ShardFooter
}

// A ShardFile registers one file: its hash and the terms that rebuild it.
type ShardFile struct {
	Hash  Hash
	Terms []Term
	// Verification holds one range hash per term (see
	// [VerificationHash]), or is nil when the file has none.
	Verification []Hash
	// SHA256 is the file's SHA-256 digest in the usual byte order (its
	// hex is the LFS oid), or nil when the file has no FileMetadataExt.
	SHA256 *[32]byte
}

// A Term is a run of consecutive chunks of one xorb that makes part of a
// file.
type Term struct {
	Xorb       Hash
	Flags      uint32 // always 0 from clients
	RawSize    uint32 // the chunks' total raw size
	ChunkStart uint32
	ChunkEnd   uint32 // exclusive
}

// Size returns the file's length: the sum of its terms' raw sizes.
func (f *ShardFile) Size() uint64 {
	var n uint64
	for _, t := range f.Terms {
		n += uint64(t.RawSize)
	}
	return n
}

// A ShardXorb describes one xorb in a shard's CAS info section: the
// chunks it holds, for deduplication.
type ShardXorb struct {
	Hash    Hash
	Flags   uint32
	RawSize uint32 // num_bytes_in_xorb
	// StoredSize is num_bytes_on_disk; hf_xet writes 0, huggingface.js
	// the serialized length. Nothing should rely on it.
	StoredSize uint32
	Chunks     []ShardChunk
}

// A ShardChunk is one chunk of a [ShardXorb].
type ShardChunk struct {
	Hash     Hash
	RawStart uint32
	RawSize  uint32
	// Flags bit 31 marks a chunk eligible for the global-dedup index
	// ([ChunkGlobalDedup]).
	Flags uint32
}

// ChunkGlobalDedup is the [ShardChunk] flag that marks a chunk as a
// candidate for the global-dedup index (xet-core
// MDB_CHUNK_WITH_GLOBAL_DEDUP_FLAG).
const ChunkGlobalDedup uint32 = 1 << 31

// A ShardFooter is the trailer of a full shard. Global-dedup replies need
// one, with the HMAC key that protects their chunk hashes and an expiry.
// The section and lookup-table offsets are not kept: [Shard.MarshalBinary]
// computes them.
type ShardFooter struct {
	// ChunkHashKey, when not zero, means the chunk hashes of the CAS
	// section are given as HMAC(ChunkHashKey, hash) (see [HMAC]).
	ChunkHashKey Hash
	CreatedAt    uint64 // unix seconds
	// KeyExpiry is the unix time after which hf_xet drops the shard from
	// its cache; 0 reads as already expired.
	KeyExpiry         uint64
	Reserved          [6]uint64
	StoredBytesOnDisk uint64
	MaterializedBytes uint64
	StoredBytes       uint64
}

// Shard layout constants.
const (
	shardRecordSize     = 48
	shardHeaderVersion  = 2
	shardFooterVersion  = 1
	shardFooterSize     = 200
	fileFlagVerified    = 1 << 31
	fileFlagMetadataExt = 1 << 30
)

// shardTag starts every shard: "HFRepoMetaData\0" and 17 fixed bytes.
var shardTag = [32]byte{
	'H', 'F', 'R', 'e', 'p', 'o', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 0, 85,
	105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169,
}

var bookendHash = Hash{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// ReadShard reads a shard to the end of r, reading at most maxSize bytes.
//
// It reads the header, the file info section and the CAS info section in
// order, each up to its bookend. Whatever follows (lookup tables that
// hf_xet 1.1.9 and older include) is read and ignored, except that a
// shard whose header announces a footer must end with a 200-byte footer
// of version 1, or with its CAS section (what hf_xet 1.1.9 uploads). The header must carry the shard tag and version 2, and
// footer_size must be 0 or 200. Memory grows with the bytes read, never
// with a count read from the shard. Malformed or truncated shards give
// errors wrapping [ErrInvalid]; more than maxSize bytes, an error that
// also wraps [ErrTooLarge].
//
// ReadShard checks the layout only; [Shard.Check] and [Shard.Verify]
// check the content.
func ReadShard(r io.Reader, maxSize int64) (*Shard, error) {
	sr := &shardReader{r: &cappedReader{r: r, max: maxSize}}
	hdr, err := sr.record("header")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(hdr[:32], shardTag[:]) {
		return nil, invalid("not a shard: bad tag")
	}
	if v := binary.LittleEndian.Uint64(hdr[32:]); v != shardHeaderVersion {
		return nil, invalid("shard header version %d", v)
	}
	footerSize := binary.LittleEndian.Uint64(hdr[40:])
	if footerSize != 0 && footerSize != shardFooterSize {
		return nil, invalid("shard footer size %d", footerSize)
	}
	s := &Shard{}
	if err := sr.files(s); err != nil {
		return nil, err
	}
	if err := sr.xorbs(s); err != nil {
		return nil, err
	}
	// Lookup tables can be most of an old client's shard: keep only what
	// could be the footer.
	rest, err := tail(sr.r, shardFooterSize)
	if err != nil {
		return nil, err
	}
	// hf_xet 1.1.9 (and, by its code, older releases) uploads shards to
	// /shard/{prefix}/{hash} with the footer cut off but the header's
	// footer_size still 200: nothing at all after the CAS section reads
	// as no footer.
	if footerSize == 0 || len(rest) == 0 {
		return s, nil
	}
	if len(rest) < shardFooterSize {
		return nil, invalid("shard footer: %d bytes, want %d", len(rest), shardFooterSize)
	}
	f, err := parseShardFooter(rest)
	if err != nil {
		return nil, err
	}
	s.Footer = f
	return s, nil
}

// tail reads r to its end and returns its last n bytes, or all of them if
// there are fewer.
func tail(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, n+32<<10)
	for empty := 0; empty < 100; {
		if len(buf) > n && cap(buf)-len(buf) < 4<<10 {
			buf = buf[:copy(buf, buf[len(buf)-n:])]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf[max(0, len(buf)-n):], nil
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			empty++
		} else {
			empty = 0
		}
	}
	return nil, io.ErrNoProgress
}

type shardReader struct {
	r   io.Reader
	buf [shardRecordSize]byte
}

func (sr *shardReader) record(what string) ([]byte, error) {
	if _, err := io.ReadFull(sr.r, sr.buf[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, invalid("shard truncated in %s", what)
		}
		return nil, err
	}
	return sr.buf[:], nil
}

// grow is a capacity hint for n records: no more than the bytes a record
// takes could justify, so a hostile count costs nothing up front.
func grow(n uint32) int { return int(min(n, 1024)) }

func (sr *shardReader) files(s *Shard) error {
	for {
		b, err := sr.record("file info")
		if err != nil {
			return err
		}
		var f ShardFile
		copy(f.Hash[:], b)
		if f.Hash == bookendHash {
			return nil
		}
		flags := binary.LittleEndian.Uint32(b[32:])
		n := binary.LittleEndian.Uint32(b[36:])
		f.Terms = make([]Term, 0, grow(n))
		for range n {
			b, err := sr.record("file term")
			if err != nil {
				return err
			}
			t := Term{
				Flags:      binary.LittleEndian.Uint32(b[32:]),
				RawSize:    binary.LittleEndian.Uint32(b[36:]),
				ChunkStart: binary.LittleEndian.Uint32(b[40:]),
				ChunkEnd:   binary.LittleEndian.Uint32(b[44:]),
			}
			copy(t.Xorb[:], b)
			f.Terms = append(f.Terms, t)
		}
		if flags&fileFlagVerified != 0 {
			f.Verification = make([]Hash, 0, grow(n))
			for range n {
				b, err := sr.record("file verification")
				if err != nil {
					return err
				}
				f.Verification = append(f.Verification, Hash(b[:32]))
			}
		}
		if flags&fileFlagMetadataExt != 0 {
			b, err := sr.record("file metadata")
			if err != nil {
				return err
			}
			sum := Hash(b[:32]).SHA256()
			f.SHA256 = &sum
		}
		s.Files = append(s.Files, f)
	}
}

func (sr *shardReader) xorbs(s *Shard) error {
	for {
		b, err := sr.record("CAS info")
		if err != nil {
			return err
		}
		var x ShardXorb
		copy(x.Hash[:], b)
		if x.Hash == bookendHash {
			return nil
		}
		x.Flags = binary.LittleEndian.Uint32(b[32:])
		n := binary.LittleEndian.Uint32(b[36:])
		x.RawSize = binary.LittleEndian.Uint32(b[40:])
		x.StoredSize = binary.LittleEndian.Uint32(b[44:])
		x.Chunks = make([]ShardChunk, 0, grow(n))
		for range n {
			b, err := sr.record("CAS chunk")
			if err != nil {
				return err
			}
			c := ShardChunk{
				RawStart: binary.LittleEndian.Uint32(b[32:]),
				RawSize:  binary.LittleEndian.Uint32(b[36:]),
				Flags:    binary.LittleEndian.Uint32(b[40:]),
			}
			copy(c.Hash[:], b)
			x.Chunks = append(x.Chunks, c)
		}
		s.Xorbs = append(s.Xorbs, x)
	}
}

func parseShardFooter(b []byte) (*ShardFooter, error) {
	u64 := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	if v := u64(0); v != shardFooterVersion {
		return nil, invalid("shard footer version %d", v)
	}
	// Words 1 to 8 are the section and lookup-table offsets and counts;
	// the key takes words 9 to 12.
	f := &ShardFooter{
		CreatedAt:         u64(13),
		KeyExpiry:         u64(14),
		StoredBytesOnDisk: u64(21),
		MaterializedBytes: u64(22),
		StoredBytes:       u64(23),
	}
	copy(f.ChunkHashKey[:], b[72:104])
	for i := range f.Reserved {
		f.Reserved[i] = u64(15 + i)
	}
	return f, nil
}

// MarshalBinary encodes the shard. A footer, when present, follows the
// CAS section directly, with empty lookup tables at its own offset, as
// xet-core writes the shards it sends (streaming_shard.rs serialize_impl);
// hf_xet then scans the CAS section instead of the tables.
func (s *Shard) MarshalBinary() ([]byte, error) {
	var b []byte
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	zero := func(n int) { b = append(b, make([]byte, n)...) }
	bookend := func() { b = append(b, bookendHash[:]...); zero(16) }

	b = append(b, shardTag[:]...)
	u64(shardHeaderVersion)
	if s.Footer != nil {
		u64(shardFooterSize)
	} else {
		u64(0)
	}
	for i := range s.Files {
		f := &s.Files[i]
		if f.Hash == bookendHash {
			return nil, fmt.Errorf("xet: file %d has the bookend hash", i)
		}
		if f.Verification != nil && len(f.Verification) != len(f.Terms) {
			return nil, fmt.Errorf("xet: file %v has %d verification hashes for %d terms", f.Hash, len(f.Verification), len(f.Terms))
		}
		var flags uint32
		if f.Verification != nil {
			flags |= fileFlagVerified
		}
		if f.SHA256 != nil {
			flags |= fileFlagMetadataExt
		}
		b = append(b, f.Hash[:]...)
		u32(flags)
		u32(uint32(len(f.Terms)))
		u64(0)
		for _, t := range f.Terms {
			b = append(b, t.Xorb[:]...)
			u32(t.Flags)
			u32(t.RawSize)
			u32(t.ChunkStart)
			u32(t.ChunkEnd)
		}
		for _, v := range f.Verification {
			b = append(b, v[:]...)
			zero(16)
		}
		if f.SHA256 != nil {
			h := HashFromSHA256(*f.SHA256)
			b = append(b, h[:]...)
			zero(16)
		}
	}
	bookend()
	xorbOffset := uint64(len(b))
	for i := range s.Xorbs {
		x := &s.Xorbs[i]
		if x.Hash == bookendHash {
			return nil, fmt.Errorf("xet: xorb %d has the bookend hash", i)
		}
		b = append(b, x.Hash[:]...)
		u32(x.Flags)
		u32(uint32(len(x.Chunks)))
		u32(x.RawSize)
		u32(x.StoredSize)
		for _, c := range x.Chunks {
			b = append(b, c.Hash[:]...)
			u32(c.RawStart)
			u32(c.RawSize)
			u32(c.Flags)
			u32(0)
		}
	}
	bookend()
	if f := s.Footer; f != nil {
		footerOffset := uint64(len(b))
		u64(shardFooterVersion)
		u64(shardRecordSize) // the file info section follows the header
		u64(xorbOffset)
		for range 3 { // file, xorb and chunk lookup tables: offset, count
			u64(footerOffset)
			u64(0)
		}
		b = append(b, f.ChunkHashKey[:]...)
		u64(f.CreatedAt)
		u64(f.KeyExpiry)
		for _, v := range f.Reserved {
			u64(v)
		}
		u64(f.StoredBytesOnDisk)
		u64(f.MaterializedBytes)
		u64(f.StoredBytes)
		u64(footerOffset)
	}
	return b, nil
}
