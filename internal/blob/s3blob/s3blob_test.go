package s3blob

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/blobtest"
	"github.com/agorahub/agora/internal/testenv"
)

var seq atomic.Int64

// openTest opens a store on the test server under a fresh prefix, so that
// cases never see each other's objects.
func openTest(t *testing.T) *Store {
	t.Helper()
	env := testenv.MustHaveS3(t)
	s, err := Open(t.Context(), Options{
		Bucket: "agora-s3blob-test", Prefix: fmt.Sprintf("t%d-%d", time.Now().UnixNano(), seq.Add(1)),
		Endpoint: env.Endpoint, Region: env.Region, PathStyle: true, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
		PartSize: 5 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return openTest(t) })
}

func TestParseURL(t *testing.T) {
	o, err := ParseURL("s3://models/agora/prod?endpoint=http://127.0.0.1:8333&region=eu-west-1")
	if err != nil || o.Bucket != "models" || o.Prefix != "agora/prod" || !o.PathStyle || o.Region != "eu-west-1" {
		t.Fatalf("%+v %v", o, err)
	}
	if o, _ := ParseURL("s3://b"); o.PathStyle || o.Region != "us-east-1" {
		t.Fatalf("AWS defaults: %+v", o)
	}
	for _, bad := range []string{"s3://", "http://b", "s3://b?bogus=1", "s3://b?path_style=maybe"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

// TestPresigned checks what clients use directly: a presigned GET with a
// range (downloads) and presigned part PUTs (multipart uploads).
func TestPresigned(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	data, oid := blobtest.Content(6 << 20)
	blobtest.Put(t, s, data, oid)
	u, err := s.RedirectURL(ctx, oid, time.Minute, "weights.bin")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || !bytes.Equal(got, data[10:20]) || resp.Header.Get("ETag") == "" {
		t.Fatalf("presigned range: %d %q", resp.StatusCode, resp.Header)
	}

	big, bigOID := blobtest.Content(11 << 20)
	id, err := s.StartMultipart(ctx, bigOID, int64(len(big)))
	if err != nil {
		t.Fatal(err)
	}
	var parts []blob.Part
	for n, off := 1, 0; off < len(big); n, off = n+1, off+5<<20 {
		chunk := big[off:min(off+5<<20, len(big))]
		pu, err := s.PresignPart(ctx, id, n, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("PUT", pu, bytes.NewReader(chunk))
		req.ContentLength = int64(len(chunk))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
			t.Fatalf("part %d: %d %s", n, resp.StatusCode, body)
		}
		parts = append(parts, blob.Part{Number: n, ETag: resp.Header.Get("ETag")})
	}
	if _, err := s.CompleteMultipart(ctx, id, bigOID, int64(len(big)), parts); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, bigOID)
	if err != nil || info.Size != int64(len(big)) {
		t.Fatalf("after direct upload: %+v %v", info, err)
	}
	// Nothing is left under uploads/.
	if err := s.Sweep(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, bigOID); errors.Is(err, blob.ErrNotFound) {
		t.Fatal("sweep removed a published object")
	}
}
