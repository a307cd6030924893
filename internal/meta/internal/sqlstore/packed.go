package sqlstore

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"sync"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Objects are stored as the zlib stream a git pack carries (objects.zlib
// = 1, migration 0011): a clone writes them into its pack as they are, as
// git does with the objects of its own packs, where compressing each one
// again was most of a cold clone's server time (Go's deflate costs about
// 100 µs for a 4 KiB tree; inflating it, 40 µs). Reads inflate them; the
// hub caches what it reads. Rows written before the migration stay whole
// (zlib = 0) and are compressed by whoever packs them.

// stored returns the compressed form of obj to store, or nil to store it
// whole. Every kind is compressed: trees shrink least (a fifth of each
// entry is a SHA-1) and are read most, but inflating one costs a third of
// compressing it, and a clone's plan reads them in batches.
func stored(obj gitobj.Object) []byte {
	return deflate(obj.Data)
}

// deflate returns data's zlib stream at the speed-first level git uses for
// loose objects it writes in bulk (level 1).
func deflate(data []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(data)/2 + 32)
	// A compressor holds about a megabyte of tables: reused.
	z := deflaters.Get().(*zlib.Writer)
	z.Reset(&b)
	z.Write(data)
	z.Close()
	deflaters.Put(z)
	return b.Bytes()
}

var deflaters = sync.Pool{New: func() any {
	z, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	return z
}}

var inflaters sync.Pool // of zlib readers (io.ReadCloser + zlib.Resetter)

// content returns an object's content from its stored data, inflating it
// when z is 1; size is the content's length as stored with it.
func content(data []byte, z, size int) ([]byte, error) {
	if z != 1 {
		return data, nil
	}
	br := bytes.NewReader(data)
	var r io.ReadCloser
	if v := inflaters.Get(); v != nil {
		r = v.(io.ReadCloser)
		if err := r.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, fmt.Errorf("inflate: %v: %w", err, meta.ErrCorrupt)
		}
	} else {
		var err error
		if r, err = zlib.NewReader(br); err != nil {
			return nil, fmt.Errorf("inflate: %v: %w", err, meta.ErrCorrupt)
		}
	}
	out := make([]byte, size)
	n, err := io.ReadFull(r, out)
	if err == nil {
		// The stream must end exactly there (its checksum is read too).
		var one [1]byte
		switch m, rerr := r.Read(one[:]); {
		case m != 0:
			err = fmt.Errorf("more than %d bytes", size)
		case rerr != io.EOF:
			err = rerr
		}
	}
	inflaters.Put(r)
	if err != nil {
		return nil, fmt.Errorf("inflate %d of %d bytes: %v: %w", n, size, err, meta.ErrCorrupt)
	}
	return out, nil
}
