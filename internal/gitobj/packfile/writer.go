package packfile

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/agorahub/agora/internal/gitobj"
)

// Entry types in a pack, as git numbers them (the object kinds 1-4 share
// their numbers with [gitobj.Kind]).
const (
	typeOFSDelta = 6
	typeREFDelta = 7
)

// Writer streams a pack: a header announcing the number of objects, each
// object zlib-compressed, and the SHA-1 of everything before as trailer.
// Objects are written whole (no deltas), which every git client accepts.
type Writer struct {
	dst     io.Writer
	w       *bufio.Writer
	h       hash.Hash
	z       *zlib.Writer
	want    uint32
	written uint32
	err     error
}

// NewWriter writes the header of a pack of n objects to w. Exactly n
// objects must then be written before [Writer.Close].
func NewWriter(w io.Writer, n uint32) (*Writer, error) {
	h := sha1.New()
	pw := &Writer{dst: w, w: bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10), h: h, want: n}
	var hdr [12]byte
	copy(hdr[:4], "PACK")
	binary.BigEndian.PutUint32(hdr[4:8], 2)
	binary.BigEndian.PutUint32(hdr[8:12], n)
	if _, err := pw.w.Write(hdr[:]); err != nil {
		return nil, err
	}
	// BestSpeed: the pack goes over a network that is faster than the
	// default level compresses, and objects are small.
	z, err := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	if err != nil {
		return nil, err
	}
	pw.z = z
	return pw, nil
}

// appendEntryHeader appends the variable-length type and size header of a
// pack entry.
func appendEntryHeader(b []byte, typ byte, size uint64) []byte {
	c := typ<<4 | byte(size&0x0f)
	size >>= 4
	for size != 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(b, c)
}

// Write appends one whole object.
func (pw *Writer) Write(o gitobj.Object) error {
	if pw.err != nil {
		return pw.err
	}
	if pw.written == pw.want {
		return errors.New("packfile: more objects than announced")
	}
	if o.Kind < gitobj.KindCommit || o.Kind > gitobj.KindTag {
		return fmt.Errorf("packfile: cannot write object of kind %d", o.Kind)
	}
	var hdr [16]byte
	if _, err := pw.w.Write(appendEntryHeader(hdr[:0], byte(o.Kind), uint64(len(o.Data)))); err != nil {
		pw.err = err
		return err
	}
	pw.z.Reset(pw.w)
	if _, err := pw.z.Write(o.Data); err != nil {
		pw.err = err
		return err
	}
	if err := pw.z.Close(); err != nil {
		pw.err = err
		return err
	}
	pw.written++
	return nil
}

// Compress returns data as the zlib stream Write puts in a pack (at the
// same level), for callers that keep objects compressed and hand them to
// WriteCompressed.
func Compress(data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data)/2 + 64)
	// A compressor holds about a megabyte of tables: reused, not made per
	// object.
	z := zlibPool.Get().(*zlib.Writer)
	z.Reset(&b)
	z.Write(data)
	z.Close()
	zlibPool.Put(z)
	return bytes.Clone(b.Bytes())
}

var zlibPool = sync.Pool{New: func() any {
	z, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	return z
}}

// WriteCompressed appends one whole object of kind and size whose content
// is already zlib-compressed (see Compress): the bytes are copied as they
// are, which is what git does when it reuses objects of its own packs.
func (pw *Writer) WriteCompressed(kind gitobj.Kind, size int, z []byte) error {
	if pw.err != nil {
		return pw.err
	}
	if pw.written == pw.want {
		return errors.New("packfile: more objects than announced")
	}
	if kind < gitobj.KindCommit || kind > gitobj.KindTag {
		return fmt.Errorf("packfile: cannot write object of kind %d", kind)
	}
	var hdr [16]byte
	if _, err := pw.w.Write(appendEntryHeader(hdr[:0], byte(kind), uint64(size))); err != nil {
		pw.err = err
		return err
	}
	if _, err := pw.w.Write(z); err != nil {
		pw.err = err
		return err
	}
	pw.written++
	return nil
}

// Flush sends what is buffered to the underlying writer (so that a client
// sees progress on a slow, large pack).
func (pw *Writer) Flush() error {
	if pw.err != nil {
		return pw.err
	}
	pw.err = pw.w.Flush()
	return pw.err
}

// Close checks that every announced object was written and writes the
// trailer. It does not close the underlying writer.
func (pw *Writer) Close() error {
	if pw.err != nil {
		return pw.err
	}
	if pw.written != pw.want {
		return fmt.Errorf("packfile: wrote %d objects, announced %d", pw.written, pw.want)
	}
	if err := pw.w.Flush(); err != nil {
		return err
	}
	sum := pw.h.Sum(nil)
	// The trailer goes to the destination only: it is not part of the hash.
	_, err := pw.dst.Write(sum)
	pw.err = errors.New("packfile: writer closed")
	return err
}
