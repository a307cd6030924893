// Package blobtest is the conformance suite of blob.Store; every
// implementation runs it against a real backend.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob"
)

// Run runs the suite. open returns a store; stores may be shared between
// cases (objects are content-addressed and the cases use random content).
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"WriteReadStat", testWriteRead},
		{"EmptyObject", testEmpty},
		{"DigestMismatchLeavesNothing", testDigestMismatch},
		{"SizeMismatchLeavesNothing", testSizeMismatch},
		{"AbortLeavesNothing", testAbort},
		{"Idempotent", testIdempotent},
		{"ConcurrentSameObject", testConcurrent},
		{"Multipart", testMultipart},
		{"MultipartMismatch", testMultipartMismatch},
		{"DeleteAndList", testDeleteList},
		{"ModTime", testModTime},
		{"Keyspaces", testKeyspaces},
		{"InvalidOID", testInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Content returns n random bytes and their SHA-256.
func Content(n int) ([]byte, string) {
	b := make([]byte, n)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Put writes data through Create/Commit.
func Put(t *testing.T, s blob.Store, data []byte, oid string) {
	t.Helper()
	w, err := s.Create(t.Context(), oid, int64(len(data)))
	must(t, err)
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	info, err := w.Commit(t.Context())
	must(t, err)
	if info.OID != oid || info.Size != int64(len(data)) {
		t.Fatalf("Commit info %+v", info)
	}
}

func readAll(t *testing.T, s blob.Store, oid string) []byte {
	t.Helper()
	f, info, err := s.Open(t.Context(), oid)
	must(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	must(t, err)
	if int64(len(b)) != info.Size {
		t.Fatalf("read %d bytes, info says %d", len(b), info.Size)
	}
	return b
}

func wantMissing(t *testing.T, s blob.Store, oid string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), oid); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat(%s) = %v, want ErrNotFound", oid, err)
	}
	if _, _, err := s.Open(t.Context(), oid); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(%s) = %v, want ErrNotFound", oid, err)
	}
}

func testWriteRead(t *testing.T, s blob.Store) {
	data, oid := Content(3<<20 + 17)
	wantMissing(t, s, oid)
	Put(t, s, data, oid)
	info, err := s.Stat(t.Context(), oid)
	must(t, err)
	if info.Size != int64(len(data)) {
		t.Fatalf("Stat size %d", info.Size)
	}
	if !bytes.Equal(readAll(t, s, oid), data) {
		t.Fatal("content differs")
	}
	// Seek and ReadAt serve ranges.
	f, _, err := s.Open(t.Context(), oid)
	must(t, err)
	defer f.Close()
	buf := make([]byte, 100)
	_, err = f.ReadAt(buf, 1<<20)
	must(t, err)
	if !bytes.Equal(buf, data[1<<20:1<<20+100]) {
		t.Fatal("ReadAt differs")
	}
	end, err := f.Seek(0, io.SeekEnd)
	must(t, err)
	if end != int64(len(data)) {
		t.Fatalf("Seek end = %d", end)
	}
	_, err = f.Seek(10, io.SeekStart)
	must(t, err)
	_, err = io.ReadFull(f, buf)
	must(t, err)
	if !bytes.Equal(buf, data[10:110]) {
		t.Fatal("Seek+Read differs")
	}
}

func testEmpty(t *testing.T, s blob.Store) {
	data, oid := Content(0)
	Put(t, s, data, oid)
	if got := readAll(t, s, oid); len(got) != 0 {
		t.Fatalf("empty object has %d bytes", len(got))
	}
}

func testDigestMismatch(t *testing.T, s blob.Store) {
	data, _ := Content(1000)
	_, wrong := Content(1000)
	w, err := s.Create(t.Context(), wrong, 1000)
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	if _, err := w.Commit(t.Context()); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatalf("Commit = %v, want ErrDigestMismatch", err)
	}
	w.Abort()
	wantMissing(t, s, wrong)
}

func testSizeMismatch(t *testing.T, s blob.Store) {
	data, oid := Content(1000)
	// Too few bytes.
	w, err := s.Create(t.Context(), oid, 1001)
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	if _, err := w.Commit(t.Context()); !errors.Is(err, blob.ErrSizeMismatch) {
		t.Fatalf("short: Commit = %v, want ErrSizeMismatch", err)
	}
	wantMissing(t, s, oid)
	// Too many: the write itself fails.
	w, err = s.Create(t.Context(), oid, 999)
	must(t, err)
	if _, err := w.Write(data); !errors.Is(err, blob.ErrSizeMismatch) {
		t.Fatalf("long: Write = %v, want ErrSizeMismatch", err)
	}
	must(t, w.Abort())
	wantMissing(t, s, oid)
}

func testAbort(t *testing.T, s blob.Store) {
	data, oid := Content(5000)
	w, err := s.Create(t.Context(), oid, int64(len(data)))
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	must(t, w.Abort())
	wantMissing(t, s, oid)
}

func testIdempotent(t *testing.T, s blob.Store) {
	data, oid := Content(2048)
	Put(t, s, data, oid)
	Put(t, s, data, oid)
	if !bytes.Equal(readAll(t, s, oid), data) {
		t.Fatal("content differs after second put")
	}
}

func testConcurrent(t *testing.T, s blob.Store) {
	data, oid := Content(256 << 10)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			w, err := s.Create(context.Background(), oid, int64(len(data)))
			if err != nil {
				errs <- err
				return
			}
			if _, err := w.Write(data); err != nil {
				w.Abort()
				errs <- err
				return
			}
			if _, err := w.Commit(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, s, oid), data) {
		t.Fatal("content differs")
	}
}

func upload(t *testing.T, s blob.Store, id string, data []byte, partSize int) []blob.Part {
	t.Helper()
	var parts []blob.Part
	// Upload in reverse order: parts may arrive in any order.
	n := (len(data) + partSize - 1) / partSize
	for i := n; i >= 1; i-- {
		chunk := data[(i-1)*partSize : min(i*partSize, len(data))]
		etag, err := s.UploadPart(t.Context(), id, i, bytes.NewReader(chunk), int64(len(chunk)))
		must(t, err)
		if etag == "" {
			t.Fatal("empty etag")
		}
		parts = append([]blob.Part{{Number: i, ETag: etag}}, parts...)
	}
	return parts
}

func testMultipart(t *testing.T, s blob.Store) {
	const part = 5 << 20 // S3's minimum part size
	data, oid := Content(2*part + 1234)
	id, err := s.StartMultipart(t.Context(), oid, int64(len(data)))
	must(t, err)
	parts := upload(t, s, id, data, part)
	// Replacing a part keeps the last upload.
	etag, err := s.UploadPart(t.Context(), id, 2, bytes.NewReader(data[part:2*part]), part)
	must(t, err)
	parts[1].ETag = etag
	wantMissing(t, s, oid)
	info, err := s.CompleteMultipart(t.Context(), id, oid, int64(len(data)), parts)
	must(t, err)
	if info.Size != int64(len(data)) {
		t.Fatalf("info %+v", info)
	}
	if !bytes.Equal(readAll(t, s, oid), data) {
		t.Fatal("assembled content differs")
	}
}

func testMultipartMismatch(t *testing.T, s blob.Store) {
	const part = 5 << 20
	data, _ := Content(part + 10)
	_, wrong := Content(10)
	id, err := s.StartMultipart(t.Context(), wrong, int64(len(data)))
	must(t, err)
	parts := upload(t, s, id, data, part)
	if _, err := s.CompleteMultipart(t.Context(), id, wrong, int64(len(data)), parts); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatalf("Complete = %v, want ErrDigestMismatch", err)
	}
	wantMissing(t, s, wrong)
	// A missing part is refused too.
	data2, oid2 := Content(part + 10)
	id2, err := s.StartMultipart(t.Context(), oid2, int64(len(data2)))
	must(t, err)
	parts2 := upload(t, s, id2, data2, part)
	if _, err := s.CompleteMultipart(t.Context(), id2, oid2, int64(len(data2)), parts2[:1]); err == nil {
		t.Fatal("Complete with a missing part succeeded")
	}
	wantMissing(t, s, oid2)
	// Abort discards.
	id3, err := s.StartMultipart(t.Context(), oid2, int64(len(data2)))
	must(t, err)
	upload(t, s, id3, data2, part)
	must(t, s.AbortMultipart(t.Context(), id3))
	wantMissing(t, s, oid2)
}

func testDeleteList(t *testing.T, s blob.Store) {
	data, oid := Content(100)
	Put(t, s, data, oid)
	found := false
	for info, err := range s.List(t.Context()) {
		must(t, err)
		if info.OID == oid {
			found = info.Size == 100
		}
	}
	if !found {
		t.Fatal("List did not yield the object")
	}
	must(t, s.Delete(t.Context(), oid))
	wantMissing(t, s, oid)
	if err := s.Delete(t.Context(), oid); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete = %v", err)
	}
}

func testInvalid(t *testing.T, s blob.Store) {
	for _, oid := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63), strings.Repeat("g", 64)} {
		if _, err := s.Stat(t.Context(), oid); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Stat(%q) = %v, want ErrInvalid", oid, err)
		}
		if _, err := s.Create(t.Context(), oid, 1); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Create(%q) = %v, want ErrInvalid", oid, err)
		}
	}
}

// testModTime: Stat and List report when an object was published, which
// garbage collection relies on to spare fresh uploads. Clocks of a remote
// backend may be a little off, hence the margin.
func testModTime(t *testing.T, s blob.Store) {
	before := time.Now().Add(-time.Minute)
	data, oid := Content(10)
	Put(t, s, data, oid)
	after := time.Now().Add(time.Minute)
	info, err := s.Stat(t.Context(), oid)
	must(t, err)
	if info.ModTime.Before(before) || info.ModTime.After(after) {
		t.Errorf("Stat ModTime = %v, want about %v", info.ModTime, time.Now())
	}
	for info, err := range s.List(t.Context()) {
		must(t, err)
		if info.OID == oid && (info.ModTime.Before(before) || info.ModTime.After(after)) {
			t.Errorf("List ModTime = %v, want about %v", info.ModTime, time.Now())
		}
	}
}
