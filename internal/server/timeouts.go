package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"
)

// Defaults of the limits against slow and idle clients, as the README
// documents them. There is deliberately no whole-request timeout: a
// multi-gigabyte transfer may take hours, so every deadline is about
// progress instead.
const (
	// DefaultReadHeaderTimeout bounds the time to send request headers
	// (and to send anything at all on a new connection).
	DefaultReadHeaderTimeout = 20 * time.Second
	// DefaultIdleTimeout bounds a keep-alive connection between requests.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes bounds request headers.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultBodyIdleTimeout is how long a request body may make no
	// progress (see [bodyProgress]).
	DefaultBodyIdleTimeout = time.Minute
	// DefaultWriteIdleTimeout is how long a client may take to accept one
	// piece of a response (see [progressWriter]).
	DefaultWriteIdleTimeout = time.Minute
	// DefaultMaxConnsPerIP caps the open connections of one address.
	DefaultMaxConnsPerIP = 256
)

// bodyProgress is the progress that renews a request body's idle
// allowance: the allowance counts only the time spent waiting for the
// client (not the handler's own work between reads), and is renewed once
// this many bytes have arrived. A client that trickles a byte every few
// seconds therefore runs out of allowance as surely as a silent one; one
// that sends at least 16 KiB per allowance (273 B/s for a minute) never
// does.
const bodyProgress = 16 << 10

// Pieces of a response are written under one write deadline each; their
// size follows the client's pace (doubling when a piece went out in a
// sixteenth of the allowance, halving when it took a quarter), so that a
// fast client gets few large sendfile calls and a slow one small pieces
// it can take in time; once a file's pieces have reached maxPiece, the
// rest of it goes in one run (readFromFile). The smallest piece sets the
// slowest rate a client may read at: 16 KiB per allowance (273 B/s for a
// minute).
const (
	minPiece   = 16 << 10
	firstPiece = 64 << 10
	maxPiece   = 8 << 20
)

// errSlowBody is the error a request body's reader returns when the
// client stopped sending (or trickles) for longer than the body idle
// timeout. Classify turns it into 408.
var errSlowBody = errors.New("request body timed out")

type slowBodyError struct{ idle time.Duration }

func (e *slowBodyError) Error() string {
	return fmt.Sprintf("request body timed out: less than %d bytes in %v of waiting", bodyProgress, e.idle)
}

func (e *slowBodyError) Is(target error) bool {
	return target == errSlowBody || target == os.ErrDeadlineExceeded
}

// withProgressDeadlines applies the body and write idle timeouts to every
// request. It must sit outside every other middleware: it needs the
// connection's own ResponseWriter for http.ResponseController, and the
// writer the handlers see must stay the access log's statusWriter.
func (s *Server) withProgressDeadlines(h http.Handler) http.Handler {
	bodyIdle, writeIdle := s.cfg.BodyIdleTimeout, s.cfg.WriteIdleTimeout
	if bodyIdle <= 0 && writeIdle <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if bodyIdle > 0 && r.Body != nil && r.Body != http.NoBody {
			// A deadline from the start: if the handler never reads the
			// body, the server still reads what is left of it before the
			// next request, and a client that promised a body and sends
			// nothing must not hold that read open.
			rc.SetReadDeadline(time.Now().Add(bodyIdle))
			body := &idleBody{ReadCloser: r.Body, rc: rc, idle: bodyIdle}
			// A copy: the server keeps its own *http.Request and decides
			// how to finish the body by its type.
			r = r.WithContext(r.Context())
			r.Body = body
		}
		if writeIdle > 0 {
			// Armed before the handler runs: the server may write
			// "100 Continue" on the handler's first read. (net/http
			// clears the write deadline after each request.)
			rc.SetWriteDeadline(time.Now().Add(writeIdle))
			w = &progressWriter{ResponseWriter: w, rc: rc, idle: writeIdle, piece: firstPiece, armed: time.Now(), conn: connOf(r.Context())}
			// Rearmed after: the server flushes the last buffered bytes
			// once the handler returns, however long it worked, and may
			// first spend up to the body's allowance reading what is left
			// of the request body (under the read deadline the body's
			// last read left, which is not extended: a client that
			// stopped sending gets its answer and a closed connection).
			defer func() { rc.SetWriteDeadline(time.Now().Add(writeIdle + max(bodyIdle, 0))) }()
		}
		h.ServeHTTP(w, r)
	})
}

// idleBody is a request body whose reads fail once the client has kept
// them waiting for idle without delivering bodyProgress bytes.
type idleBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	idle   time.Duration
	waited time.Duration // blocked in Read since the last progress
	got    int           // bytes since the last progress
	eof    bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.eof {
		return b.ReadCloser.Read(p)
	}
	left := b.idle - b.waited
	if left <= 0 {
		return 0, &slowBodyError{b.idle}
	}
	start := time.Now()
	b.rc.SetReadDeadline(start.Add(left))
	n, err := b.ReadCloser.Read(p)
	b.waited += time.Since(start)
	if b.got += n; b.got >= bodyProgress {
		b.got, b.waited = 0, 0
	}
	switch {
	case err == io.EOF:
		// net/http now watches the connection for the client going away
		// with a read of its own (clearing the deadline first), which a
		// deadline set by a later Read would cut, cancelling the request.
		b.eof = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = &slowBodyError{b.idle}
	}
	return n, err
}

// progressWriter writes a response in pieces, each under a fresh write
// deadline. It keeps io.ReaderFrom, handing the connection's ReadFrom a
// LimitedReader over the same source, so that a file still goes out with
// sendfile (net's sendfile unwraps exactly one LimitedReader).
type progressWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	idle  time.Duration
	piece int64
	armed time.Time
	conn  net.Conn // for sendingFile, or nil
}

// arm renews the write deadline, at most every eighth of the allowance:
// small writes are frequent (templates write in many pieces), and a
// deadline at least 7/8 of the allowance away is as good as a fresh one.
func (w *progressWriter) arm() time.Time {
	now := time.Now()
	if now.Sub(w.armed) > w.idle/8 {
		w.rc.SetWriteDeadline(now.Add(w.idle))
		w.armed = now
	}
	return now
}

// adapt sizes the next piece from how long a full piece took.
func (w *progressWriter) adapt(start time.Time, wrote, asked int64) {
	if wrote < asked {
		return
	}
	switch took := time.Since(start); {
	case took < w.idle/16:
		w.piece = min(2*w.piece, maxPiece)
	case took > w.idle/4:
		w.piece = max(w.piece/2, minPiece)
	}
}

func (w *progressWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		n := min(len(p), int(w.piece))
		start := w.arm()
		m, err := w.ResponseWriter.Write(p[:n])
		w.adapt(start, int64(m), int64(n))
		total += m
		if err != nil {
			return total, err
		}
		p = p[m:]
	}
	return total, nil
}

func (w *progressWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{w}, src)
	}
	// The ramp's pieces too: each would end in a short segment.
	defer corkFile(w.conn, src)()
	outer, _ := src.(*io.LimitedReader)
	inner := src
	if outer != nil {
		inner = outer.R
	}
	var total int64
	for {
		if f, ok := inner.(*os.File); ok && w.piece == maxPiece && watchFilePosition {
			// The client has taken full pieces quickly: the rest of the
			// file goes in one sendfile run, with the larger send buffer.
			if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
				sendingFile(w.conn, src)
				m, err := w.readFromFile(rf, src, f, pos)
				return total + m, err
			}
		}
		n := w.piece
		if outer != nil {
			if outer.N <= 0 {
				return total, nil
			}
			n = min(n, outer.N)
		}
		start := w.arm()
		m, err := rf.ReadFrom(&io.LimitedReader{R: inner, N: n})
		total += m
		if outer != nil {
			outer.N -= m
		}
		w.adapt(start, m, n)
		if err != nil || m < n {
			// An error, or the source ended inside the piece.
			return total, err
		}
	}
}

// watchFilePosition says whether a file's position can be read while
// sendfile moves it: on Linux, lseek does not wait for sendfile (which
// takes no lock on the position); on Windows, Seek would wait for the
// whole transfer.
const watchFilePosition = runtime.GOOS == "linux"

// readFromFile sends src, which reads f from position last, with one
// ReadFrom: splitting it in pieces cost about a tenth of the throughput
// on a 2-core machine (bench/transfer.sh). Instead a timer renews the
// write deadline every eighth of the allowance if the file's position
// (what sendfile has queued) moved by at least minPiece since the last
// renewal. The position moves when the socket has room again, a third of
// its send buffer at a time, so a client that proved fast keeps the
// connection while it takes at least that much per allowance (about
// 2.7 MiB a minute, 47 KB/s, with the larger buffer; 8 MiB pieces asked
// for 140 KB/s).
func (w *progressWriter) readFromFile(rf io.ReaderFrom, src io.Reader, f *os.File, last int64) (int64, error) {
	w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	t = time.AfterFunc(w.idle/8, func() {
		pos, err := f.Seek(0, io.SeekCurrent)
		mu.Lock()
		defer mu.Unlock()
		if stopped || err != nil {
			return
		}
		if pos-last >= minPiece {
			last = pos
			w.rc.SetWriteDeadline(time.Now().Add(w.idle))
		}
		t.Reset(w.idle / 8)
	})
	n, err := rf.ReadFrom(src)
	mu.Lock()
	stopped = true
	t.Stop()
	mu.Unlock()
	w.armed = time.Time{} // the next write renews the deadline
	return n, err
}

func (w *progressWriter) Flush() {
	w.arm()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }
