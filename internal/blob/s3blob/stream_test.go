package s3blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob/blobtest"
)

// spliceRecorder is a response writer stand-in: it keeps what it is sent
// and, for ReadFrom, the kind of source (what the client connection's
// ReadFrom would get, and splice needs: a LimitedReader over a TCPConn).
type spliceRecorder struct {
	bytes.Buffer
	sources map[string]int64
}

func (r *spliceRecorder) ReadFrom(src io.Reader) (int64, error) {
	kind := fmt.Sprintf("%T", src)
	if lr, ok := src.(*io.LimitedReader); ok {
		kind += fmt.Sprintf("(%T)", lr.R)
	}
	n, err := r.Buffer.ReadFrom(src)
	r.sources[kind] += n
	return n, err
}

func putObject(t *testing.T, s *Store, n int) ([]byte, string) {
	t.Helper()
	data, oid := blobtest.Content(n)
	w, err := s.Create(t.Context(), oid, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if _, err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	return data, oid
}

// TestSpliceRange: over plain HTTP, WriteRange hands the writer's
// ReadFrom the store's own connection, which the client connection's
// ReadFrom splices, and the bytes are the range asked for.
func TestSpliceRange(t *testing.T) {
	s := openTest(t)
	data, oid := putObject(t, s, 3<<20)
	for _, r := range []struct{ off, n int64 }{{0, 3 << 20}, {1_000_001, 1 << 20}, {3<<20 - 1, 1}} {
		f, _, err := s.Open(t.Context(), oid)
		if err != nil {
			t.Fatal(err)
		}
		rec := &spliceRecorder{sources: map[string]int64{}}
		n, err := f.(*file).WriteRange(rec, r.off, r.n)
		f.Close()
		if err != nil || n != r.n || !bytes.Equal(rec.Bytes(), data[r.off:r.off+r.n]) {
			t.Fatalf("range %d+%d: %d bytes, %v", r.off, r.n, n, err)
		}
		// The response headers come with the first bytes of the body,
		// which are written as they were read with them.
		const splice = "*io.LimitedReader(*net.TCPConn)"
		if r.n > 64<<10 && rec.sources[splice] < r.n-64<<10 {
			t.Errorf("range %d+%d: ReadFrom got %v, want most bytes as %s", r.off, r.n, rec.sources, splice)
		}
	}
}

// TestWriteRangeThroughClient: with a caller's HTTP client, WriteRange
// goes through the SDK (no splice) and sends the same bytes.
func TestWriteRangeThroughClient(t *testing.T) {
	s := openTest(t)
	s.o.HTTPClient = &http.Client{}
	data, oid := putObject(t, s, 3<<20)
	f, _, err := s.Open(t.Context(), oid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := &spliceRecorder{sources: map[string]int64{}}
	if n, err := f.(*file).WriteRange(rec, 5, 3<<20-10); err != nil || !bytes.Equal(rec.Bytes(), data[5:3<<20-5]) {
		t.Fatalf("%d bytes, %v", n, err)
	}
	if len(rec.sources) != 0 {
		t.Errorf("ReadFrom used: %v", rec.sources)
	}
	if _, err := f.(*file).WriteRange(rec, 3<<20-1, 2); err == nil {
		t.Error("a range past the end was accepted")
	}
}

// TestSpliceEndsWithRequest: once the context the file was opened with
// is done, a splice does not start (nor go on: its connection is closed).
func TestSpliceEndsWithRequest(t *testing.T) {
	s := openTest(t)
	_, oid := putObject(t, s, 1<<20)
	ctx, cancel := context.WithCancel(t.Context())
	f, _, err := s.Open(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cancel()
	ff := f.(*file)
	for deadline := time.Now().Add(5 * time.Second); ; {
		ff.mu.Lock()
		done := ff.interrupted
		ff.mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var out bytes.Buffer
	if n, err := ff.WriteRange(&out, 0, 1<<20); err == nil {
		t.Fatalf("WriteRange after the request ended: %d bytes, no error", n)
	}
}
