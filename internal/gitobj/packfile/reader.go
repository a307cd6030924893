package packfile

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/agorahub/agora/internal/gitobj"
)

// Errors wrapped by everything [Read] returns.
var (
	// ErrInvalid: the pack is malformed (bad header, entry, zlib stream,
	// delta or checksum).
	ErrInvalid = errors.New("invalid pack")
	// ErrLimit: the pack exceeds one of the [Limits].
	ErrLimit = errors.New("pack exceeds a limit")
	// ErrBaseNotFound: a delta's base is neither in the pack nor known to
	// the [BaseFunc].
	ErrBaseNotFound = errors.New("delta base not found")
)

// Limits bound what [Read] accepts. Zero fields take the defaults of
// [DefaultLimits].
type Limits struct {
	// MaxPackSize bounds the bytes read from the stream.
	MaxPackSize int64
	// MaxObjects bounds the entry count the header may announce.
	MaxObjects uint32
	// MaxObjectSize bounds one object (or delta) kept in memory. A whole
	// (non-delta) object larger than this is hashed while it streams by
	// and reported in [Pack.Oversized] without its content, so that the
	// caller can refuse it with a useful message.
	MaxObjectSize int64
	// MaxMemory bounds the inflated bytes kept at once: objects, pending
	// deltas and bases fetched through the [BaseFunc].
	MaxMemory int64
	// MaxOversized bounds the inflated bytes of oversized objects hashed
	// without being kept (a zlib stream inflates up to ~1000 times its
	// size: this bounds the CPU a small hostile pack can cost).
	MaxOversized int64
}

// DefaultLimits returns conservative defaults: 1 GiB packs of at most a
// million objects, 16 MiB per object, 1 GiB of inflated content kept and
// 4 GiB of oversized content hashed.
func DefaultLimits() Limits {
	return Limits{MaxPackSize: 1 << 30, MaxObjects: 1 << 20, MaxObjectSize: 16 << 20, MaxMemory: 1 << 30, MaxOversized: 4 << 30}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxPackSize <= 0 {
		l.MaxPackSize = d.MaxPackSize
	}
	if l.MaxObjects == 0 {
		l.MaxObjects = d.MaxObjects
	}
	if l.MaxObjectSize <= 0 {
		l.MaxObjectSize = d.MaxObjectSize
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = d.MaxMemory
	}
	if l.MaxOversized <= 0 {
		l.MaxOversized = d.MaxOversized
	}
	return l
}

// BaseFunc returns an object the receiver already has, for REF_DELTA
// entries whose base is not in the pack (thin packs). It returns an error
// wrapping [ErrBaseNotFound] when it has no such object.
type BaseFunc func(id gitobj.ID) (gitobj.Object, error)

// Oversized describes a whole object larger than [Limits.MaxObjectSize]:
// its id was computed but its content dropped.
type Oversized struct {
	Kind gitobj.Kind
	Size int64
}

// Pack is the content of a pack.
type Pack struct {
	// Objects are the pack's objects by id, deltas resolved.
	Objects map[gitobj.ID]gitobj.Object
	// Oversized are the objects too large to keep.
	Oversized map[gitobj.ID]Oversized
	// Bytes is the size of the pack stream.
	Bytes int64
}

// Kind returns the kind of an object of the pack (kept or oversized).
func (p *Pack) Kind(id gitobj.ID) (gitobj.Kind, bool) {
	if o, ok := p.Objects[id]; ok {
		return o.Kind, true
	}
	if o, ok := p.Oversized[id]; ok {
		return o.Kind, true
	}
	return 0, false
}

// entry is a delta waiting for its base.
type entry struct {
	offset int64
	delta  []byte
}

type reader struct {
	lim     Limits
	src     *hashingReader
	z       io.ReadCloser
	mem     int64
	pack    *Pack
	byOff   map[int64]gitobj.ID // resolved (kept or oversized) entries by offset
	ofs     map[int64][]*entry  // deltas waiting for the entry at an offset
	ref     map[gitobj.ID][]*entry
	queue   []resolved
	wait    int   // deltas not yet resolved
	over    int64 // inflated bytes of oversized objects
	scratch []byte
}

type resolved struct {
	offset int64 // -1 for a base from outside the pack
	id     gitobj.ID
}

// Read parses a whole pack from r. base may be nil when the pack must be
// self-contained.
func Read(r io.Reader, lim Limits, base BaseFunc) (*Pack, error) {
	lim = lim.withDefaults()
	rd := &reader{
		lim:   lim,
		src:   newHashingReader(r, lim.MaxPackSize),
		pack:  &Pack{Objects: map[gitobj.ID]gitobj.Object{}, Oversized: map[gitobj.ID]Oversized{}},
		byOff: map[int64]gitobj.ID{},
		ofs:   map[int64][]*entry{},
		ref:   map[gitobj.ID][]*entry{},
	}
	if err := rd.read(base); err != nil {
		return nil, err
	}
	rd.pack.Bytes = rd.src.off
	return rd.pack, nil
}

func (rd *reader) read(base BaseFunc) error {
	var hdr [12]byte
	if _, err := io.ReadFull(rd.src, hdr[:]); err != nil {
		return rd.ioErr(err, "header")
	}
	if string(hdr[:4]) != "PACK" {
		return fmt.Errorf("%w: not a pack (bad signature)", ErrInvalid)
	}
	if v := binary.BigEndian.Uint32(hdr[4:8]); v != 2 && v != 3 {
		return fmt.Errorf("%w: unsupported pack version %d", ErrInvalid, v)
	}
	n := binary.BigEndian.Uint32(hdr[8:12])
	if n > rd.lim.MaxObjects {
		return fmt.Errorf("%w: %d objects, at most %d accepted", ErrLimit, n, rd.lim.MaxObjects)
	}
	for i := uint32(0); i < n; i++ {
		if err := rd.entry(); err != nil {
			return err
		}
		if err := rd.drain(); err != nil {
			return err
		}
	}
	want := rd.src.sum()
	var got [20]byte
	if _, err := io.ReadFull(rd.src, got[:]); err != nil {
		return rd.ioErr(err, "trailer")
	}
	if !bytes.Equal(want, got[:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrInvalid)
	}
	// Deltas whose base is outside the pack (a thin pack).
	for rd.wait > 0 {
		var id gitobj.ID
		found := false
		for k := range rd.ref {
			id, found = k, true
			break
		}
		if !found {
			return fmt.Errorf("%w: %d deltas have no base", ErrInvalid, rd.wait)
		}
		if base == nil {
			return fmt.Errorf("%w: %s", ErrBaseNotFound, id)
		}
		o, err := base(id)
		if err != nil {
			return fmt.Errorf("delta base %s: %w", id, err)
		}
		if o.ID() != id {
			return fmt.Errorf("delta base %s: wrong object returned", id)
		}
		if err := rd.charge(int64(len(o.Data))); err != nil {
			return err
		}
		// Keep the base only while its deltas are resolved.
		children := rd.ref[id]
		delete(rd.ref, id)
		for _, e := range children {
			if err := rd.apply(e, o); err != nil {
				return err
			}
		}
		rd.mem -= int64(len(o.Data))
		if err := rd.drain(); err != nil {
			return err
		}
	}
	return nil
}

func (rd *reader) ioErr(err error, what string) error {
	if errors.Is(err, ErrLimit) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated %s", ErrInvalid, what)
	}
	return fmt.Errorf("read pack %s: %w", what, err)
}

func (rd *reader) charge(n int64) error {
	if rd.mem+n > rd.lim.MaxMemory {
		return fmt.Errorf("%w: content exceeds %d bytes once inflated", ErrLimit, rd.lim.MaxMemory)
	}
	rd.mem += n
	return nil
}

// entry reads one pack entry.
func (rd *reader) entry() error {
	offset := rd.src.off
	c, err := rd.src.ReadByte()
	if err != nil {
		return rd.ioErr(err, "entry header")
	}
	typ := (c >> 4) & 7
	size := uint64(c & 0x0f)
	for shift := uint(4); c&0x80 != 0; shift += 7 {
		if shift > 60 {
			return fmt.Errorf("%w: entry size overflows", ErrInvalid)
		}
		if c, err = rd.src.ReadByte(); err != nil {
			return rd.ioErr(err, "entry header")
		}
		size |= uint64(c&0x7f) << shift
	}
	switch typ {
	case byte(gitobj.KindCommit), byte(gitobj.KindTree), byte(gitobj.KindBlob), byte(gitobj.KindTag):
		return rd.whole(offset, gitobj.Kind(typ), size)
	case typeOFSDelta:
		c, err := rd.src.ReadByte()
		if err != nil {
			return rd.ioErr(err, "delta offset")
		}
		rel := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if rel >= 1<<56 {
				return fmt.Errorf("%w: delta offset overflows", ErrInvalid)
			}
			if c, err = rd.src.ReadByte(); err != nil {
				return rd.ioErr(err, "delta offset")
			}
			rel = ((rel + 1) << 7) | uint64(c&0x7f)
		}
		if rel == 0 || rel > uint64(offset) {
			return fmt.Errorf("%w: delta base offset out of range", ErrInvalid)
		}
		data, err := rd.inflateDelta(size)
		if err != nil {
			return err
		}
		e := &entry{offset: offset, delta: data}
		baseOff := offset - int64(rel)
		rd.wait++
		rd.ofs[baseOff] = append(rd.ofs[baseOff], e)
		if id, ok := rd.byOff[baseOff]; ok {
			// The base is already resolved: queue it again so that this
			// child is applied.
			rd.queue = append(rd.queue, resolved{offset: baseOff, id: id})
		}
		return nil
	case typeREFDelta:
		var id gitobj.ID
		if _, err := io.ReadFull(rd.src, id[:]); err != nil {
			return rd.ioErr(err, "delta base")
		}
		data, err := rd.inflateDelta(size)
		if err != nil {
			return err
		}
		e := &entry{offset: offset, delta: data}
		rd.wait++
		rd.ref[id] = append(rd.ref[id], e)
		if _, ok := rd.pack.Objects[id]; ok {
			rd.queue = append(rd.queue, resolved{offset: -1, id: id})
		} else if _, ok := rd.pack.Oversized[id]; ok {
			return fmt.Errorf("%w: a delta's base %s is larger than %d bytes", ErrLimit, id, rd.lim.MaxObjectSize)
		}
		return nil
	}
	return fmt.Errorf("%w: entry of unknown type %d", ErrInvalid, typ)
}

func (rd *reader) zreader() (io.Reader, error) {
	if rd.z == nil {
		z, err := zlib.NewReader(rd.src)
		if err != nil {
			return nil, rd.zErr(err)
		}
		rd.z = z
		return z, nil
	}
	if err := rd.z.(zlib.Resetter).Reset(rd.src, nil); err != nil {
		return nil, rd.zErr(err)
	}
	return rd.z, nil
}

func (rd *reader) zErr(err error) error {
	if errors.Is(err, ErrLimit) {
		return err
	}
	return fmt.Errorf("%w: bad zlib stream: %v", ErrInvalid, err)
}

// inflate reads exactly size bytes of a zlib stream into a new slice.
func (rd *reader) inflate(size uint64) ([]byte, error) {
	z, err := rd.zreader()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(z, buf); err != nil {
		return nil, rd.zErr(err)
	}
	return buf, rd.endOfStream(z)
}

// endOfStream checks that the zlib stream ends where the size said (and
// reads its checksum).
func (rd *reader) endOfStream(z io.Reader) error {
	var one [1]byte
	n, err := z.Read(one[:])
	for n == 0 && err == nil {
		n, err = z.Read(one[:])
	}
	if n > 0 {
		return fmt.Errorf("%w: entry longer than its declared size", ErrInvalid)
	}
	if err != io.EOF {
		return rd.zErr(err)
	}
	return nil
}

func (rd *reader) inflateDelta(size uint64) ([]byte, error) {
	if size > uint64(rd.lim.MaxObjectSize) {
		return nil, fmt.Errorf("%w: a delta of %d bytes exceeds %d", ErrLimit, size, rd.lim.MaxObjectSize)
	}
	if err := rd.charge(int64(size)); err != nil {
		return nil, err
	}
	return rd.inflate(size)
}

// whole reads a non-delta entry.
func (rd *reader) whole(offset int64, kind gitobj.Kind, size uint64) error {
	if size > uint64(rd.lim.MaxObjectSize) {
		return rd.oversized(offset, kind, size)
	}
	if err := rd.charge(int64(size)); err != nil {
		return err
	}
	data, err := rd.inflate(size)
	if err != nil {
		return err
	}
	o := gitobj.Object{Kind: kind, Data: data}
	rd.add(offset, o)
	return nil
}

// oversized hashes a large object as it streams by without keeping it.
func (rd *reader) oversized(offset int64, kind gitobj.Kind, size uint64) error {
	if size > uint64(rd.lim.MaxOversized-rd.over) {
		return fmt.Errorf("%w: an object of %d bytes is larger than this hub accepts", ErrLimit, size)
	}
	rd.over += int64(size)
	z, err := rd.zreader()
	if err != nil {
		return err
	}
	h := gitobj.NewHasher(kind, int64(size))
	if rd.scratch == nil {
		rd.scratch = make([]byte, 32<<10)
	}
	n, err := io.CopyBuffer(h, io.LimitReader(z, int64(size)), rd.scratch)
	if err != nil {
		return rd.zErr(err)
	}
	if n != int64(size) {
		return fmt.Errorf("%w: entry shorter than its declared size", ErrInvalid)
	}
	if err := rd.endOfStream(z); err != nil {
		return err
	}
	id := h.Sum()
	rd.pack.Oversized[id] = Oversized{Kind: kind, Size: int64(size)}
	rd.byOff[offset] = id
	if len(rd.ofs[offset]) > 0 || len(rd.ref[id]) > 0 {
		return fmt.Errorf("%w: a delta's base %s is larger than %d bytes", ErrLimit, id, rd.lim.MaxObjectSize)
	}
	return nil
}

func (rd *reader) add(offset int64, o gitobj.Object) {
	id := o.ID()
	if _, dup := rd.pack.Objects[id]; dup {
		rd.mem -= int64(len(o.Data)) // keep one copy
	} else {
		rd.pack.Objects[id] = o
	}
	rd.byOff[offset] = id
	rd.queue = append(rd.queue, resolved{offset: offset, id: id})
}

// drain applies every waiting delta whose base is now known.
func (rd *reader) drain() error {
	for len(rd.queue) > 0 {
		q := rd.queue[len(rd.queue)-1]
		rd.queue = rd.queue[:len(rd.queue)-1]
		var children []*entry
		if q.offset >= 0 {
			children = append(children, rd.ofs[q.offset]...)
			delete(rd.ofs, q.offset)
		}
		children = append(children, rd.ref[q.id]...)
		delete(rd.ref, q.id)
		if len(children) == 0 {
			continue
		}
		base, ok := rd.pack.Objects[q.id]
		if !ok {
			return fmt.Errorf("%w: a delta's base %s is larger than %d bytes", ErrLimit, q.id, rd.lim.MaxObjectSize)
		}
		for _, e := range children {
			if err := rd.apply(e, base); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply resolves delta e against base and queues the result.
func (rd *reader) apply(e *entry, base gitobj.Object) error {
	_, size, err := DeltaSizes(e.delta)
	if err != nil {
		return err
	}
	if size > uint64(rd.lim.MaxObjectSize) {
		return fmt.Errorf("%w: a delta result of %d bytes exceeds %d", ErrLimit, size, rd.lim.MaxObjectSize)
	}
	if err := rd.charge(int64(size)); err != nil {
		return err
	}
	data, err := ApplyDelta(base.Data, e.delta, rd.lim.MaxObjectSize)
	if err != nil {
		return err
	}
	rd.mem -= int64(len(e.delta))
	e.delta = nil
	rd.wait--
	rd.add(e.offset, gitobj.Object{Kind: base.Kind, Data: data})
	return nil
}

// hashingReader is a buffered reader that counts the bytes consumed and
// hashes them (for the pack trailer), and refuses to read past a limit.
// It implements io.ByteReader so that the zlib reader consumes exactly
// one entry's bytes.
type hashingReader struct {
	r      io.Reader
	buf    []byte
	rpos   int
	wpos   int
	hashed int // buf[:hashed] went into h
	h      hash.Hash
	off    int64 // bytes consumed
	total  int64 // bytes read from r
	limit  int64
	err    error
}

func newHashingReader(r io.Reader, limit int64) *hashingReader {
	return &hashingReader{r: r, buf: make([]byte, 64<<10), h: sha1.New(), limit: limit}
}

func (hr *hashingReader) fill() error {
	if hr.err != nil {
		return hr.err
	}
	hr.h.Write(hr.buf[hr.hashed:hr.rpos])
	n := copy(hr.buf, hr.buf[hr.rpos:hr.wpos])
	hr.rpos, hr.wpos, hr.hashed = 0, n, 0
	m, err := hr.r.Read(hr.buf[hr.wpos:])
	hr.wpos += m
	hr.total += int64(m)
	if hr.total > hr.limit {
		hr.err = fmt.Errorf("%w: the pack is larger than %d bytes", ErrLimit, hr.limit)
		return hr.err
	}
	if m == 0 && err == nil {
		return nil
	}
	if err != nil && m == 0 {
		hr.err = err
		return err
	}
	return nil
}

func (hr *hashingReader) ReadByte() (byte, error) {
	for hr.rpos == hr.wpos {
		if err := hr.fill(); err != nil {
			return 0, err
		}
	}
	c := hr.buf[hr.rpos]
	hr.rpos++
	hr.off++
	return c, nil
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	for hr.rpos == hr.wpos {
		if err := hr.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, hr.buf[hr.rpos:hr.wpos])
	hr.rpos += n
	hr.off += int64(n)
	return n, nil
}

// sum returns the hash of every byte consumed so far.
func (hr *hashingReader) sum() []byte {
	hr.h.Write(hr.buf[hr.hashed:hr.rpos])
	hr.hashed = hr.rpos
	return hr.h.Sum(nil)
}
