package s3blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/blob"
)

// TestFullServerIsErrNoSpace runs the store against a stand-in server that
// answers every write the way a full S3-compatible server does, and checks
// that writes of every path fail with blob.ErrNoSpace while other errors
// stay what they were.
func TestFullServerIsErrNoSpace(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		full   bool
	}{
		{"MinIO full disks", http.StatusInsufficientStorage, "XMinioStorageFull", true},
		{"MinIO bucket quota", http.StatusBadRequest, "XMinioAdminBucketQuotaExceeded", true},
		{"Ceph quota", http.StatusForbidden, "QuotaExceeded", true},
		{"bare 507", http.StatusInsufficientStorage, "SomethingElse", true},
		{"access denied", http.StatusForbidden, "AccessDenied", false},
		{"object too large", http.StatusBadRequest, "EntityTooLarge", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.Method == http.MethodHead {
					if r.URL.Path == "/b" {
						w.WriteHeader(http.StatusOK) // the bucket exists
					} else {
						w.WriteHeader(http.StatusNotFound) // no object does
					}
					return
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tc.status)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+tc.code+`</Code><Message>no</Message></Error>`)
			}))
			defer srv.Close()
			s, err := Open(t.Context(), Options{Bucket: "b", Endpoint: srv.URL, Region: "us-east-1", PathStyle: true, AccessKey: "k", SecretKey: "s"})
			if err != nil {
				t.Fatal(err)
			}
			data := "hello"
			oid := sha256hex(data)
			w, err := s.Create(t.Context(), oid, int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, data)
			_, errPut := w.Commit(t.Context())
			_, errStart := s.StartMultipart(t.Context(), oid, 5)
			_, errPart := s.UploadPart(t.Context(), strings.Repeat("a", 32)+"/up", 1, strings.NewReader(data), int64(len(data)))
			for what, err := range map[string]error{"put": errPut, "start multipart": errStart, "upload part": errPart} {
				if got := errors.Is(err, blob.ErrNoSpace); got != tc.full {
					t.Errorf("%s: err = %v; ErrNoSpace = %v, want %v", what, err, got, tc.full)
				}
			}
		})
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
