package cas

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/xet"
)

// File reads a registered file's content by decoding its chunks from the
// stored xorbs, one chunk at a time: its memory is a chunk and a read
// buffer, whatever the file's size. It implements blob.File, so the hub
// serves it with http.ServeContent (ranges, conditional requests) and
// reads headers through ReadAt, like an LFS object.
//
// Sequential reads stream each term's bytes with one read of the stored
// xorb (one GET on S3); a seek or a ReadAt elsewhere starts a new stream
// at the chunk that holds the offset. It is safe for concurrent use.
type File struct {
	lg    *slog.Logger
	xorbs blob.Keyspace
	l     *layout
	// starts[i] is the file offset of term i; chunkStarts[i][j] that of
	// chunk j of term i, relative to the term.
	starts      []int64
	chunkStarts [][]int64

	mu   sync.Mutex
	pos  int64
	open map[xet.Hash]blob.File
	st   *stream // nil: no stream, or not at pos
}

// stream is a sequential decode in progress: next is the file offset of
// buf[0].
type stream struct {
	term int
	next int64
	cr   *xet.ChunkReader
	left int // chunks of the term still to read
	buf  []byte
}

func newFile(lg *slog.Logger, xorbs blob.Keyspace, l *layout) *File {
	f := &File{lg: lg, xorbs: xorbs, l: l, open: map[xet.Hash]blob.File{}}
	var off int64
	for _, t := range l.terms {
		f.starts = append(f.starts, off)
		cs := make([]int64, len(t.raw))
		var c int64
		for i, r := range t.raw {
			cs[i] = c
			c += int64(r)
		}
		f.chunkStarts = append(f.chunkStarts, cs)
		off += c
	}
	return f
}

// Size returns the file's length.
func (f *File) Size() int64 { return f.l.size }

// Read implements io.Reader.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.readLocked(p, f.pos)
	f.pos += int64(n)
	return n, err
}

// ReadAt implements io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off < 0 {
		return 0, errors.New("cas: negative offset")
	}
	n := 0
	for n < len(p) {
		m, err := f.readLocked(p[n:], off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Seek implements io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.l.size
	default:
		return 0, errors.New("cas: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("cas: negative position")
	}
	f.pos = offset
	return offset, nil
}

// Close implements io.Closer.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first error
	for h, x := range f.open {
		if err := x.Close(); err != nil && first == nil {
			first = err
		}
		delete(f.open, h)
	}
	f.st = nil
	return first
}

// readLocked reads at off into p, up to the end of one decoded chunk.
func (f *File) readLocked(p []byte, off int64) (int, error) {
	if off >= f.l.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.st == nil || f.st.next != off {
		if err := f.seekStream(off); err != nil {
			return 0, err
		}
	}
	st := f.st
	for len(st.buf) == 0 {
		if err := f.nextChunk(st); err != nil {
			f.st = nil
			return 0, err
		}
	}
	n := copy(p, st.buf)
	st.buf = st.buf[n:]
	st.next += int64(n)
	return n, nil
}

// seekStream starts a stream at file offset off: at the chunk holding it,
// with the chunk's bytes before off dropped.
func (f *File) seekStream(off int64) error {
	ti := sort.Search(len(f.starts), func(i int) bool { return f.starts[i] > off }) - 1
	t := &f.l.terms[ti]
	rel := off - f.starts[ti]
	ci := sort.Search(len(f.chunkStarts[ti]), func(i int) bool { return f.chunkStarts[ti][i] > rel }) - 1
	from := t.from
	for _, s := range t.ser[:ci] {
		from += int64(s)
	}
	st := &stream{term: ti, next: f.starts[ti] + f.chunkStarts[ti][ci]}
	if err := f.openTerm(st, from, len(t.raw)-ci); err != nil {
		return err
	}
	for len(st.buf) == 0 {
		if err := f.nextChunk(st); err != nil {
			return err
		}
	}
	skip := off - st.next
	st.buf, st.next = st.buf[skip:], off
	f.st = st
	return nil
}

// openTerm points st's chunk reader at term st.term's bytes from serialized
// offset from, for chunks more chunks.
func (f *File) openTerm(st *stream, from int64, chunks int) error {
	t := &f.l.terms[st.term]
	x, err := f.xorb(t.xorb)
	if err != nil {
		return err
	}
	if _, err := x.Seek(from, io.SeekStart); err != nil {
		return fmt.Errorf("xorb %v: %w", t.xorb, err)
	}
	st.cr = xet.NewChunkReader(bufio.NewReaderSize(io.LimitReader(x, t.to()-from), 256<<10))
	st.left = chunks
	return nil
}

// nextChunk decodes the next chunk into st.buf, moving to the next term
// at the end of one.
func (f *File) nextChunk(st *stream) error {
	if st.left == 0 {
		if st.term+1 >= len(f.l.terms) {
			return io.ErrUnexpectedEOF
		}
		st.term++
		if err := f.openTerm(st, f.l.terms[st.term].from, len(f.l.terms[st.term].raw)); err != nil {
			return err
		}
	}
	t := &f.l.terms[st.term]
	raw, err := st.cr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("xorb %v: %w", t.xorb, err)
	}
	if want := t.raw[len(t.raw)-st.left]; uint32(len(raw)) != want {
		return fmt.Errorf("xorb %v: chunk of %d bytes, layout says %d: %w", t.xorb, len(raw), want, errLayout)
	}
	st.left--
	st.buf = raw
	return nil
}

func (f *File) xorb(h xet.Hash) (blob.File, error) {
	if x, ok := f.open[h]; ok {
		return x, nil
	}
	// Reads outlive the request that opened the file only through
	// Close, as with the blob store's own files.
	x, _, err := f.xorbs.Open(context.Background(), h.String())
	if err != nil {
		return nil, fmt.Errorf("open xorb %v: %w", h, err)
	}
	f.open[h] = x
	return x, nil
}

// WriteRange writes bytes [off, off+n) of the file to w, as fast as the
// xorb store allows: from files of the filesystem store, chunks stored
// uncompressed go out with sendfile when w is a connection (or a writer
// keeping io.ReaderFrom, like the server's), and decoded chunks are
// written in large pieces; from other stores, the bytes are read as a
// stream and written in 1 MiB pieces. It is how the hub serves plain
// downloads of Xet files.
func (f *File) WriteRange(w io.Writer, off, n int64) (int64, error) {
	m, err := f.writeRange(w, off, n)
	if err != nil && errors.Is(err, errStore) {
		// After the headers, only the log can tell: the client sees a
		// short body.
		f.lg.Error("xet file: reading the stored chunks failed", "err", err)
	}
	return m, err
}

// errStore marks the errors of writeRange that are the store's (not the
// client's, which are the writer's).
var errStore = errors.New("stored chunks unreadable")

func (f *File) writeRange(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 || off+n > f.l.size {
		return 0, fmt.Errorf("cas: range [%d, %d) of a %d-byte file", off, off+n, f.l.size)
	}
	if !f.osFiles() {
		return io.CopyBuffer(writerOnly{w}, io.NewSectionReader(f, off, n), make([]byte, 1<<20))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = nil // the xorb files' offsets move under it
	rf, _ := w.(io.ReaderFrom)
	// Decoding and writing overlap: a goroutine decodes chunks into 1 MiB
	// pieces (three at most exist) while this one writes them; a chunk
	// stored uncompressed travels as a region of its file, for sendfile.
	pieces := make(chan piece, 2)
	free := make(chan []byte, 3)
	for range 3 {
		free <- make([]byte, 0, 1<<20)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- f.produce(off, off+n, rf != nil, pieces, free, stop) }()
	var written int64
	var werr error
	for p := range pieces {
		if werr != nil {
			continue // drain until the producer sees stop
		}
		if p.file != nil {
			var m int64
			if _, werr = p.file.Seek(p.off, io.SeekStart); werr == nil {
				m, werr = rf.ReadFrom(&io.LimitedReader{R: p.file, N: p.n})
				if werr == nil && m != p.n {
					werr = io.ErrUnexpectedEOF
				}
			}
			written += m
		} else {
			var m int
			m, werr = w.Write(p.buf)
			written += int64(m)
			free <- p.buf[:0]
		}
		if werr != nil {
			close(stop)
		}
	}
	if err := <-done; err != nil && werr == nil {
		return written, err
	}
	return written, werr
}

// piece is what the decoder of writeRange hands the writer: decoded bytes,
// or n bytes of file at off.
type piece struct {
	buf    []byte
	file   *os.File
	off, n int64
}

// produce decodes bytes [off, end) of the file into pieces, closing pieces
// when done or when stop is closed. Uncompressed chunks of at least 16 KiB
// become file regions when regions is set.
func (f *File) produce(off, end int64, regions bool, pieces chan<- piece, free chan []byte, stop <-chan struct{}) error {
	defer close(pieces)
	send := func(p piece) bool {
		select {
		case pieces <- p:
			return true
		case <-stop:
			return false
		}
	}
	var buf []byte
	flush := func() bool {
		if len(buf) == 0 {
			return true
		}
		ok := send(piece{buf: buf})
		buf = nil
		return ok
	}
	var hdr [xet.ChunkHeaderSize]byte
	src := &swapReader{}
	cr := xet.NewChunkReader(src) // one reader for every chunk keeps its buffers
	for ti := range f.l.terms {
		t := &f.l.terms[ti]
		tStart := f.starts[ti]
		if tStart >= end {
			break
		}
		if tStart+t.rawSize() <= off {
			continue
		}
		x, err := f.xorb(t.xorb)
		if err != nil {
			return fmt.Errorf("%w: %w", errStore, err)
		}
		osf := x.(*os.File)
		pos := t.from // serialized offset of chunk ci
		for ci, raw := range t.raw {
			cStart := tStart + f.chunkStarts[ti][ci]
			cEnd := cStart + int64(raw)
			chunkAt := pos
			pos += int64(t.ser[ci])
			if cEnd <= off {
				continue
			}
			if cStart >= end {
				break
			}
			from, to := max(off, cStart)-cStart, min(end, cEnd)-cStart // within the chunk
			if _, err := osf.ReadAt(hdr[:], chunkAt); err != nil {
				return fmt.Errorf("xorb %v: %w: %w", t.xorb, errStore, err)
			}
			payloadLen := int64(hdr[1]) | int64(hdr[2])<<8 | int64(hdr[3])<<16
			rawLen := int64(hdr[5]) | int64(hdr[6])<<8 | int64(hdr[7])<<16
			if rawLen != int64(raw) || payloadLen+xet.ChunkHeaderSize != int64(t.ser[ci]) {
				return fmt.Errorf("xorb %v: chunk header disagrees with the layout: %w: %w", t.xorb, errStore, errLayout)
			}
			if xet.Scheme(hdr[4]) == xet.SchemeNone && regions && to-from >= 16<<10 {
				if !flush() || !send(piece{file: osf, off: chunkAt + xet.ChunkHeaderSize + from, n: to - from}) {
					return nil
				}
				continue
			}
			src.r = io.MultiReader(bytes.NewReader(hdr[:]), io.NewSectionReader(osf, chunkAt+xet.ChunkHeaderSize, payloadLen))
			b, err := cr.Next()
			if err != nil {
				return fmt.Errorf("xorb %v: %w: %w", t.xorb, errStore, err)
			}
			if buf == nil {
				select {
				case buf = <-free:
				case <-stop:
					return nil
				}
			}
			buf = append(buf, b[from:to]...)
			if len(buf) >= 1<<20-xet.MaxChunkSize && !flush() {
				return nil
			}
		}
	}
	flush()
	return nil
}

// osFiles reports whether every xorb of the file is a file of the local
// filesystem (opening them, which the download does anyway).
func (f *File) osFiles() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.l.terms {
		x, err := f.xorb(t.xorb)
		if err != nil {
			return false
		}
		if _, ok := x.(*os.File); !ok {
			return false
		}
	}
	return true
}

// swapReader reads from r, which its user replaces between reads.
type swapReader struct{ r io.Reader }

func (s *swapReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// writerOnly hides a writer's ReadFrom, so that io.CopyBuffer uses its
// buffer.
type writerOnly struct{ io.Writer }
