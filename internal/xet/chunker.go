package xet

import (
	"errors"
	"io"
)

// Chunk sizes of xet-core's content-defined chunker
// (xet_data/src/deduplication/chunking.rs and xorb_object/constants.rs).
const (
	// TargetChunkSize is the mean chunk size the boundary mask aims at.
	TargetChunkSize = 64 << 10
	// MinChunkSize is the smallest chunk the chunker cuts, except the
	// last chunk of a stream.
	MinChunkSize = TargetChunkSize / 8
	// MaxChunkSize is the largest chunk: the chunker cuts here when no
	// boundary came sooner, and a xorb chunk may not be larger.
	MaxChunkSize = TargetChunkSize * 2
)

// boundaryMask keeps the high bits of the gear hash, which depend on
// more of the last 64 bytes than the low ones: (TargetChunkSize-1)
// shifted left by its leading zeros.
const boundaryMask uint64 = 0xFFFF_0000_0000_0000

// gearWindow is how many trailing bytes a gear hash depends on: each
// byte's table value is shifted left once per later byte.
const gearWindow = 64

// cutPoint returns the length of the first chunk of data and true, or
// false if data holds no boundary and is shorter than MaxChunkSize.
//
// The hash starts gearWindow+1 bytes before MinChunkSize rather than at
// the chunk's first byte, as xet-core does; since the hash forgets bytes
// older than gearWindow, every boundary test sees the same value as a
// hash run from the start.
func cutPoint(data []byte) (int, bool) {
	n := min(len(data), MaxChunkSize)
	var h uint64
	for i := min(MinChunkSize-gearWindow-1, n); i < n; i++ {
		h = h<<1 + gearTable[data[i]]
		if h&boundaryMask == 0 && i+1 >= MinChunkSize {
			return i + 1, true
		}
	}
	return n, n == MaxChunkSize
}

// A Chunker splits a stream into content-defined chunks exactly as
// hf_xet and huggingface.js do, so that chunks of content converted by
// the server deduplicate against chunks uploaded by clients. Its memory
// is two maximum chunks, whatever the stream's length.
type Chunker struct {
	r     io.Reader
	buf   []byte
	start int // first byte of the next chunk in buf
	end   int // end of buffered data
	err   error
}

// NewChunker returns a Chunker reading from r.
func NewChunker(r io.Reader) *Chunker {
	return &Chunker{r: r, buf: make([]byte, 2*MaxChunkSize)}
}

// Next returns the next chunk. The slice aliases the Chunker's buffer and
// is valid until the next call. After the last chunk Next returns nil,
// io.EOF; an empty stream has no chunks. Other errors are the reader's.
func (c *Chunker) Next() ([]byte, error) {
	for c.end-c.start < MaxChunkSize && c.err == nil {
		if c.start > 0 && len(c.buf)-c.start < MaxChunkSize {
			c.end = copy(c.buf, c.buf[c.start:c.end])
			c.start = 0
		}
		c.fill()
	}
	if c.err != nil && !errors.Is(c.err, io.EOF) {
		return nil, c.err
	}
	data := c.buf[c.start:c.end]
	if len(data) == 0 {
		return nil, io.EOF
	}
	// Without an error the loop above buffered MaxChunkSize bytes, so
	// cutPoint cuts; at the end of the stream the rest is the last chunk.
	n, _ := cutPoint(data)
	c.start += n
	return data[:n:n], nil
}

// fill reads once into the free end of buf, giving up as bufio.Scanner
// does on a reader that keeps returning nothing.
func (c *Chunker) fill() {
	for range 100 {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if n > 0 || err != nil {
			c.err = err
			return
		}
	}
	c.err = io.ErrNoProgress
}
