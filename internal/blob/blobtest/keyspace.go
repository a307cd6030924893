package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob"
)

// testKeyspaces: a key space holds objects named by the caller, checks
// only their size, publishes atomically, and stays out of the store's own
// listing, Stat and Delete (which garbage collection of LFS content runs
// on). Stores without key spaces skip it.
func testKeyspaces(t *testing.T, s blob.Store) {
	ctx := t.Context()
	if _, ok := s.(blob.Keyspaces); !ok {
		t.Skip("store has no key spaces")
	}
	for _, bad := range []string{"", "objects", "tmp", "uploads", "Xorbs", "x/y", "../x"} {
		if _, err := blob.OpenKeyspace(s, bad); !errors.Is(err, blob.ErrInvalid) {
			t.Errorf("Keyspace(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	ks, err := blob.OpenKeyspace(s, "xorbs")
	must(t, err)
	put := func(key string, data []byte, size int64) {
		t.Helper()
		w, err := ks.Create(ctx, key, size)
		must(t, err)
		if _, err := w.Write(data); err != nil {
			w.Abort()
			t.Fatal(err)
		}
		info, err := w.Commit(ctx)
		must(t, err)
		if info.OID != key || info.Size != int64(len(data)) {
			t.Fatalf("Commit info %+v", info)
		}
	}
	missing := func(key string) {
		t.Helper()
		if _, err := ks.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat(%s) = %v, want ErrNotFound", key, err)
		}
	}
	// The key is not the content's SHA-256: any 64-hex name is taken.
	data, _ := Content(100_000)
	_, key := Content(1)
	missing(key)
	put(key, data, int64(len(data)))
	info, err := ks.Stat(ctx, key)
	must(t, err)
	if info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Fatalf("Stat = %+v", info)
	}
	f, _, err := ks.Open(ctx, key)
	must(t, err)
	buf := make([]byte, 1000)
	_, err = f.ReadAt(buf, 5000)
	must(t, err)
	got, err := io.ReadAll(f)
	f.Close()
	must(t, err)
	if !bytes.Equal(got, data) || !bytes.Equal(buf, data[5000:6000]) {
		t.Fatal("content differs")
	}
	put(key, data, int64(len(data))) // idempotent

	t.Run("SeparateFromObjects", func(t *testing.T) {
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("store Stat of a key space object = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("store Delete of a key space object = %v, want ErrNotFound", err)
		}
		for info, err := range s.List(ctx) {
			must(t, err)
			if info.OID == key {
				t.Fatal("store List yields a key space object")
			}
		}
		other, err := blob.OpenKeyspace(s, "other")
		must(t, err)
		if _, err := other.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("another key space sees the object: %v", err)
		}
	})

	t.Run("UnknownSize", func(t *testing.T) {
		d, _ := Content(7 << 20)
		_, k := Content(2)
		put(k, d, -1)
		f, info, err := ks.Open(ctx, k)
		must(t, err)
		defer f.Close()
		if info.Size != int64(len(d)) {
			t.Fatalf("size %d, want %d", info.Size, len(d))
		}
	})

	t.Run("SizeMismatchAndAbortLeaveNothing", func(t *testing.T) {
		_, k := Content(3)
		w, err := ks.Create(ctx, k, 10)
		must(t, err)
		if _, err := w.Write(make([]byte, 11)); !errors.Is(err, blob.ErrSizeMismatch) {
			t.Fatalf("long write = %v, want ErrSizeMismatch", err)
		}
		must(t, w.Abort())
		missing(k)
		w, err = ks.Create(ctx, k, 10)
		must(t, err)
		_, err = w.Write(make([]byte, 9))
		must(t, err)
		if _, err := w.Commit(ctx); !errors.Is(err, blob.ErrSizeMismatch) {
			t.Fatalf("short Commit = %v, want ErrSizeMismatch", err)
		}
		missing(k)
		w, err = ks.Create(ctx, k, 10)
		must(t, err)
		_, err = w.Write(make([]byte, 10))
		must(t, err)
		must(t, w.Abort())
		missing(k)
	})

	t.Run("ListAndDelete", func(t *testing.T) {
		seen := false
		for info, err := range ks.List(ctx) {
			must(t, err)
			if info.OID == key {
				seen = info.Size == int64(len(data)) && !info.ModTime.IsZero()
			}
		}
		if !seen {
			t.Fatal("List misses the object or its size and time")
		}
		must(t, ks.Delete(ctx, key))
		missing(key)
		if err := ks.Delete(ctx, key); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("second Delete = %v, want ErrNotFound", err)
		}
	})

	t.Run("RangeURL", func(t *testing.T) {
		rr, ok := ks.(blob.RangeRedirector)
		if !ok {
			t.Skip("no range URLs")
		}
		d, _ := Content(300_000)
		_, k := Content(4)
		put(k, d, int64(len(d)))
		u, err := rr.RangeURL(ctx, k, 1000, 70_000, time.Minute)
		must(t, err)
		if u == "" {
			t.Skip("the server cannot sign ranges")
		}
		get := func(rng string) (*http.Response, []byte) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			must(t, err)
			if rng != "" {
				req.Header.Set("Range", rng)
			}
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			must(t, err)
			return resp, b
		}
		resp, b := get(fmt.Sprintf("bytes=%d-%d", 1000, 69_999))
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, d[1000:70_000]) {
			t.Fatalf("signed range: %s, %d bytes", resp.Status, len(b))
		}
		for _, rng := range []string{"", "bytes=0-299999", "bytes=1000-70000"} {
			if resp, _ := get(rng); resp.StatusCode < 400 {
				t.Errorf("Range %q outside the signed one: %s, want a refusal", rng, resp.Status)
			}
		}
	})
}
