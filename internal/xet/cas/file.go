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
	// Decoding is what costs: two workers decode runs of chunks into
	// 1 MiB pieces while this goroutine writes the pieces, in order, as
	// they come; a chunk stored uncompressed travels as a region of its
	// file, for sendfile. At most a handful of pieces exist at a time.
	const workers = 2
	pieces := make(chan piece, 4)
	jobs := make(chan *job)
	free := make(chan []byte, 8) // more than can be taken: pieces, a job per worker, one at the writer
	for range cap(free) {
		free <- make([]byte, 0, pieceSize)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { decodeJobs(jobs, free, stop) })
	}
	done := make(chan error, 1)
	go func() { done <- f.produce(off, off+n, rf != nil, pieces, jobs, stop) }()
	var written int64
	var werr error
	for p := range pieces {
		if werr != nil {
			continue // drain until the producer sees stop
		}
		switch {
		case p.file != nil:
			var m int64
			if _, werr = p.file.Seek(p.off, io.SeekStart); werr == nil {
				m, werr = rf.ReadFrom(&io.LimitedReader{R: p.file, N: p.n})
				if werr == nil && m != p.n {
					werr = io.ErrUnexpectedEOF
				}
			}
			written += m
		default:
			res := <-p.job.out
			if werr = res.err; werr == nil {
				var m int
				m, werr = w.Write(res.buf)
				written += int64(m)
				free <- res.buf[:0]
			}
		}
		if werr != nil {
			close(stop)
		}
	}
	perr := <-done
	wg.Wait() // the workers read the xorb files: they must be done before Close
	if perr != nil && werr == nil {
		return written, perr
	}
	return written, werr
}

// pieceSize is the most decoded bytes a piece holds.
const pieceSize = 1 << 20

// piece is what the producer of writeRange queues for the writer, in file
// order: a job being decoded, or n bytes of a xorb file at off.
type piece struct {
	job    *job
	file   *os.File
	off, n int64
}

// job is a run of chunks of one xorb to decode into one piece.
type job struct {
	file   *os.File
	chunks []jobChunk
	out    chan jobResult // buffered: a worker never waits for the writer
}

type jobChunk struct {
	at       int64 // serialized offset of the chunk
	hdr      [xet.ChunkHeaderSize]byte
	from, to int64 // the bytes of the chunk's content wanted
}

type jobResult struct {
	buf []byte
	err error
}

// decodeJobs decodes jobs until jobs is closed or stop is.
func decodeJobs(jobs <-chan *job, free chan []byte, stop <-chan struct{}) {
	src := &swapReader{}
	cr := xet.NewChunkReader(src) // one reader for all its chunks keeps its buffers
	for j := range jobs {
		var buf []byte
		select {
		case buf = <-free:
		case <-stop:
			j.out <- jobResult{err: errStopped}
			continue
		}
		var err error
		for _, c := range j.chunks {
			payloadLen := int64(c.hdr[1]) | int64(c.hdr[2])<<8 | int64(c.hdr[3])<<16
			src.r = io.MultiReader(bytes.NewReader(c.hdr[:]), io.NewSectionReader(j.file, c.at+xet.ChunkHeaderSize, payloadLen))
			var raw []byte
			if raw, err = cr.Next(); err != nil {
				err = fmt.Errorf("%w: %w", errStore, err)
				break
			}
			buf = append(buf, raw[c.from:c.to]...)
		}
		j.out <- jobResult{buf: buf, err: err}
	}
}

var errStopped = errors.New("cas: download stopped")

// produce queues bytes [off, end) of the file as pieces, closing pieces
// and jobs when done or when stop is closed. Uncompressed chunks of at
// least 16 KiB become file regions when regions is set.
func (f *File) produce(off, end int64, regions bool, pieces chan<- piece, jobs chan<- *job, stop <-chan struct{}) error {
	defer close(pieces)
	defer close(jobs)
	send := func(p piece) bool {
		select {
		case pieces <- p:
			return true
		case <-stop:
			return false
		}
	}
	var cur *job
	var curRaw int64
	flush := func() bool {
		if cur == nil {
			return true
		}
		j := cur
		cur, curRaw = nil, 0
		select {
		case jobs <- j:
		case <-stop:
			return false
		}
		return send(piece{job: j})
	}
	var hdr [xet.ChunkHeaderSize]byte
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
		if cur != nil && cur.file != osf && !flush() {
			return nil
		}
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
			if cur != nil && curRaw+(to-from) > pieceSize && !flush() {
				return nil
			}
			if cur == nil {
				cur = &job{file: osf, out: make(chan jobResult, 1)}
			}
			cur.chunks = append(cur.chunks, jobChunk{at: chunkAt, hdr: hdr, from: from, to: to})
			curRaw += to - from
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
