package mirror_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob/s3blob"
	"github.com/agorahub/agora/internal/meta/pgmeta"
	"github.com/agorahub/agora/internal/testenv"
)

// scaleOutStores opens a fresh PostgreSQL schema and S3 prefix twice, as
// two replicas of one deployment would.
func scaleOutStores(t *testing.T) (open func() (*pgmeta.Store, *s3blob.Store)) {
	t.Helper()
	pg := testenv.MustHavePostgres(t)
	s3 := testenv.MustHaveS3(t)
	name := fmt.Sprintf("mirror_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	db, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		db.Close()
	})
	u, _ := url.Parse(pg)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	bucket := s3.Bucket
	if bucket == "" {
		bucket = "agora-e2e"
	}
	return func() (*pgmeta.Store, *s3blob.Store) {
		m, err := pgmeta.Open(t.Context(), u.String(), pgmeta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		b, err := s3blob.Open(t.Context(), s3blob.Options{Bucket: bucket, Prefix: name, Endpoint: s3.Endpoint, Region: s3.Region,
			PathStyle: true, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		return m, b
	}
}

// TestScaleOutOneTransfer: two replicas of a mirror on PostgreSQL + S3
// serve twenty concurrent cold downloads of one file with one upstream
// transfer, and readers on the replica that does not hold the fill's
// lease get bytes before the transfer ends (from the chunks the holder
// stages).
func TestScaleOutOneTransfer(t *testing.T) {
	open := scaleOutStores(t)
	f := newFixture(t)
	p := newFaultProxy(t, f.up.URL)
	m1, b1 := open()
	m2, b2 := open()
	a := startMirror(t, p.URL, mirrorOpts{m: m1, b: b1, chunkSize: 256 << 10, ttl: time.Hour, timeout: time.Minute})
	b := startMirror(t, p.URL, mirrorOpts{m: m2, b: b2, chunkSize: 256 << 10, ttl: time.Hour, timeout: time.Minute})
	if r := a.do("GET", "/api/models/alice/model", ""); r.status != 200 {
		t.Fatalf("info: %d %s", r.status, r.body)
	}
	p.gateAt = 1 << 20
	p.set("gate")
	path := "/alice/model/resolve/main/big.bin"

	// The first reader, on a, takes the lease; the transfer stalls at 1 MiB.
	first, err := http.Get(a.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Body.Close()
	if _, err := io.ReadFull(first.Body, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	// A reader on b streams the staged chunks while the transfer stalls.
	second, err := http.Get(b.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Body.Close()
	head := make([]byte, 300<<10)
	if _, err := io.ReadFull(second.Body, head); err != nil {
		t.Fatalf("reader on the other replica: %v", err)
	}
	if !bytes.Equal(head, f.big[:len(head)]) {
		t.Fatal("the other replica streamed wrong bytes")
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		concurrentGets(t, []*mirrorHub{a, b}, path, 18, f.big)
	}()
	time.Sleep(100 * time.Millisecond) // let them queue behind the fill
	close(p.release)
	wg.Wait()
	for i, resp := range []*http.Response{first, second} {
		rest, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
		if got := len(rest) + []int{1, len(head)}[i]; got != len(f.big) {
			t.Fatalf("reader %d got %d bytes", i, got)
		}
	}
	if n := f.up.contentGets.Load(); n != 1 {
		t.Fatalf("%d upstream transfers for 20 downloads across two replicas, want 1", n)
	}
}
