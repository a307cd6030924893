// Package xettest builds Xet uploads for tests: content chunked, packed
// into xorbs and described by a shard exactly as hf_xet and huggingface.js
// do it, with a client's memory of the chunks it uploaded before.
package xettest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/agorahub/agora/internal/xet"
)

// Upload is one client upload: the xorbs it sends and its shard.
type Upload struct {
	Data  []byte
	Xorbs map[xet.Hash][]byte // serialized, as sent
	File  xet.ShardFile
	CAS   []xet.ShardXorb
}

// Shard returns the shard registering the upload's file.
func (u *Upload) Shard(t testing.TB) []byte {
	t.Helper()
	b, err := (&xet.Shard{Files: []xet.ShardFile{u.File}, Xorbs: u.CAS}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Client chunks and packs content as hf_xet does, remembering the chunks
// it uploaded, so that a later upload references them instead of sending
// them again (the client's local dedup).
type Client struct {
	Scheme    xet.Scheme
	MaxChunks int // chunks per xorb (0: the clients' limit)
	// Known are the chunks the client can reference without sending
	// them; Indexes the xorbs that hold them.
	Known   map[xet.Hash]Loc
	Indexes map[xet.Hash]*xet.Index
}

// Loc is where a chunk is: a xorb and its index there.
type Loc struct {
	Xorb  xet.Hash
	Index int
}

// NewClient returns a client that knows no chunk.
func NewClient(scheme xet.Scheme) *Client {
	return &Client{Scheme: scheme, Known: map[xet.Hash]Loc{}, Indexes: map[xet.Hash]*xet.Index{}}
}

// Upload chunks data and packs the chunks the client does not know into
// new xorbs; the file's terms reference known chunks where they are.
func (c *Client) Upload(t testing.TB, data []byte) *Upload {
	t.Helper()
	u := &Upload{Data: data, Xorbs: map[xet.Hash][]byte{}}
	var locs []Loc
	var leaves []xet.Leaf
	var buf bytes.Buffer
	xw := xet.NewXorbWriter(&buf, c.Scheme)
	pending := 0 // chunks in xw
	var pendingLocs []int
	flush := func() {
		if pending == 0 {
			return
		}
		idx := xw.Index()
		u.Xorbs[idx.Hash] = bytes.Clone(buf.Bytes())
		c.Indexes[idx.Hash] = idx
		for i, ch := range idx.Chunks {
			c.Known[ch.Hash] = Loc{idx.Hash, i}
		}
		for _, li := range pendingLocs {
			locs[li].Xorb = idx.Hash
		}
		sx := xet.ShardXorb{Hash: idx.Hash, RawSize: uint32(idx.RawSize()), StoredSize: uint32(idx.Size())}
		for _, ch := range idx.Chunks {
			sx.Chunks = append(sx.Chunks, xet.ShardChunk{Hash: ch.Hash, RawStart: uint32(ch.RawStart), RawSize: ch.RawSize})
		}
		u.CAS = append(u.CAS, sx)
		buf.Reset()
		xw = xet.NewXorbWriter(&buf, c.Scheme)
		pending, pendingLocs = 0, nil
	}
	ch := xet.NewChunker(bytes.NewReader(data))
	seen := map[xet.Hash]Loc{} // chunks of this upload's open xorb
	for {
		raw, err := ch.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h := xet.ChunkHash(raw)
		leaves = append(leaves, xet.Leaf{Hash: h, Size: uint64(len(raw))})
		if l, ok := c.Known[h]; ok {
			locs = append(locs, l)
			continue
		}
		if l, ok := seen[h]; ok {
			locs = append(locs, l)
			pendingLocs = append(pendingLocs, len(locs)-1)
			continue
		}
		if !xw.Fits(len(raw)) || (c.MaxChunks > 0 && pending == c.MaxChunks) {
			flush()
			seen = map[xet.Hash]Loc{}
		}
		if err := xw.WriteChunk(raw); err != nil {
			t.Fatal(err)
		}
		seen[h] = Loc{Index: pending}
		locs = append(locs, Loc{Index: pending})
		pendingLocs = append(pendingLocs, len(locs)-1)
		pending++
	}
	flush()
	// Terms: runs of consecutive chunks of one xorb.
	f := xet.ShardFile{Hash: xet.FileHash(leaves), Verification: []xet.Hash{}}
	for i := 0; i < len(locs); {
		j := i + 1
		for j < len(locs) && locs[j].Xorb == locs[i].Xorb && locs[j].Index == locs[j-1].Index+1 {
			j++
		}
		idx := c.Indexes[locs[i].Xorb]
		term := xet.Term{Xorb: locs[i].Xorb, ChunkStart: uint32(locs[i].Index), ChunkEnd: uint32(locs[j-1].Index + 1)}
		var hashes []xet.Hash
		for _, ch := range idx.Chunks[term.ChunkStart:term.ChunkEnd] {
			term.RawSize += ch.RawSize
			hashes = append(hashes, ch.Hash)
		}
		f.Terms = append(f.Terms, term)
		f.Verification = append(f.Verification, xet.VerificationHash(hashes))
		i = j
	}
	sum := sha256.Sum256(data)
	f.SHA256 = &sum
	u.File = f
	return u
}

// RandomData returns n pseudo-random bytes (seeded: the same for a seed).
func RandomData(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// Compressible returns n bytes of text-like content that LZ4 shrinks.
func Compressible(seed uint64, n int) []byte {
	words := []string{"tensor ", "weight ", "bias ", "layer ", "0.125 ", "-3.5e-2 ", "attention ", "\n"}
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}
