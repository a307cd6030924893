package s3blob

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob/blobtest"
)

// pieceRecorder is a response writer stand-in: it keeps what it is sent
// and the size of each write.
type pieceRecorder struct {
	bytes.Buffer
	writes []int
}

func (r *pieceRecorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, len(p))
	return r.Buffer.Write(p)
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

// TestRawRange: over plain HTTP, WriteRange fetches the range on a
// connection of its own and sends the bytes asked for, in pieces as large
// as they come (a few write calls per MiB, not one per 32 KiB).
func TestRawRange(t *testing.T) {
	s := openTest(t)
	data, oid := putObject(t, s, 3<<20)
	for _, r := range []struct{ off, n int64 }{{0, 3 << 20}, {1_000_001, 1 << 20}, {3<<20 - 1, 1}} {
		f, _, err := s.Open(t.Context(), oid)
		if err != nil {
			t.Fatal(err)
		}
		rec := &pieceRecorder{}
		n, err := f.(*file).WriteRange(rec, r.off, r.n)
		f.Close()
		if err != nil || n != r.n || !bytes.Equal(rec.Bytes(), data[r.off:r.off+r.n]) {
			t.Fatalf("range %d+%d: %d bytes, %v", r.off, r.n, n, err)
		}
		if len(rec.writes) > int(r.n>>10)/32+1 {
			t.Errorf("range %d+%d: %d writes, want pieces of 32 KiB and more on average", r.off, r.n, len(rec.writes))
		}
	}
}

// TestWriteRangeThroughClient: with a caller's HTTP client, WriteRange
// goes through the SDK and sends the same bytes.
func TestWriteRangeThroughClient(t *testing.T) {
	s := openTest(t)
	s.o.HTTPClient = &http.Client{}
	data, oid := putObject(t, s, 3<<20)
	f, _, err := s.Open(t.Context(), oid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec := &pieceRecorder{}
	if n, err := f.(*file).WriteRange(rec, 5, 3<<20-10); err != nil || !bytes.Equal(rec.Bytes(), data[5:3<<20-5]) {
		t.Fatalf("%d bytes, %v", n, err)
	}
	if _, err := f.(*file).WriteRange(rec, 3<<20-1, 2); err == nil {
		t.Error("a range past the end was accepted")
	}
}

// TestRawRangeEndsWithRequest: once the context the file was opened with
// is done, a GET on a connection of its own does not start (nor go on:
// its connection is closed).
func TestRawRangeEndsWithRequest(t *testing.T) {
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
