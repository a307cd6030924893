// Package testenv lets tests declare the external programs and services they
// need, and skips them when those are missing.
//
// The services are started by scripts/services.sh ("start", then
// `eval "$(scripts/services.sh env)"`), which exports:
//
//	AGORA_TEST_PG           postgres://agora:agora@127.0.0.1:25432/agora?sslmode=disable
//	AGORA_TEST_S3_ENDPOINT  http://127.0.0.1:28333 (needs path-style addressing)
//	AGORA_TEST_S3_BUCKET    a bucket that already exists (tests may create their own)
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
//
// When AGORA_TEST_REQUIRE=1 (as in CI), a missing program or service fails
// the test instead of skipping it, so that a broken environment cannot make
// a run look green.
package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Environment variable names.
const (
	EnvRequire    = "AGORA_TEST_REQUIRE"
	EnvPostgres   = "AGORA_TEST_PG"
	EnvS3Endpoint = "AGORA_TEST_S3_ENDPOINT"
	EnvS3Bucket   = "AGORA_TEST_S3_BUCKET"
	EnvAccessKey  = "AWS_ACCESS_KEY_ID"
	EnvSecretKey  = "AWS_SECRET_ACCESS_KEY"
	EnvRegion     = "AWS_REGION"
)

// dialTimeout bounds the connectivity checks.
const dialTimeout = 2 * time.Second

// Required reports whether missing programs and services must fail tests
// rather than skip them (AGORA_TEST_REQUIRE=1 or "true").
func Required() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvRequire))) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// unavailable skips the test, or fails it when Required.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("testenv: "+format+" ("+EnvRequire+"=1)", args...)
	}
	t.Skipf("testenv: "+format, args...)
}

// MustHaveExecPath returns the path of the program name, looked up in PATH.
// It skips the test if the program is missing (fails it if Required).
func MustHaveExecPath(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, "program %q not found: %v", name, err)
	}
	return path
}

// MustHavePostgres returns the PostgreSQL connection URL from AGORA_TEST_PG
// after checking that its host and port accept TCP connections (when the URL
// names a host). It skips the test if the variable is unset or the server is
// unreachable (fails it if Required).
func MustHavePostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		unavailable(t, "%s is not set; run scripts/services.sh start", EnvPostgres)
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Not a reachability problem: a malformed value is always a failure.
		t.Fatalf("testenv: %s is not a postgres:// URL", EnvPostgres)
	}
	if u.Host != "" { // a host-less URL (unix socket via ?host=) is not checked
		checkTCP(t, EnvPostgres, u.Host, "5432")
	}
	return dsn
}

// S3 describes the S3-compatible server the tests may use. The server
// needs path-style addressing (UsePathStyle in aws-sdk-go-v2).
type S3 struct {
	Endpoint  string // e.g. http://127.0.0.1:28333
	Region    string // AWS_REGION, us-east-1 if unset
	AccessKey string
	SecretKey string
	Bucket    string // an existing bucket, may be empty; tests may create their own
}

// MustHaveS3 returns the S3 server settings from AGORA_TEST_S3_ENDPOINT,
// AGORA_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_REGION after checking that the endpoint accepts TCP connections. It
// skips the test if they are unset or the server is unreachable (fails it if
// Required).
func MustHaveS3(t testing.TB) S3 {
	t.Helper()
	s := S3{
		Endpoint:  os.Getenv(EnvS3Endpoint),
		Region:    os.Getenv(EnvRegion),
		AccessKey: os.Getenv(EnvAccessKey),
		SecretKey: os.Getenv(EnvSecretKey),
		Bucket:    os.Getenv(EnvS3Bucket),
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.Endpoint == "" || s.AccessKey == "" || s.SecretKey == "" {
		unavailable(t, "%s, %s and %s must be set; run scripts/services.sh start",
			EnvS3Endpoint, EnvAccessKey, EnvSecretKey)
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Fatalf("testenv: %s=%q is not an http(s) URL", EnvS3Endpoint, s.Endpoint)
	}
	defPort := "80"
	if u.Scheme == "https" {
		defPort = "443"
	}
	checkTCP(t, EnvS3Endpoint, u.Host, defPort)
	return s
}

// checkTCP dials hostport (adding defPort when it has none).
func checkTCP(t testing.TB, what, hostport, defPort string) {
	t.Helper()
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), defPort)
	}
	c, err := net.DialTimeout("tcp", hostport, dialTimeout)
	if err != nil {
		unavailable(t, "%s: cannot connect to %s: %v", what, hostport, err)
		return
	}
	c.Close()
}

var schemas atomic.Int64

// PostgresSchema makes a new, empty schema on the test server (see
// MustHavePostgres) and returns a URL whose search_path is that schema,
// so that each test starts from scratch on one shared server; every store
// opened on the URL shares it, as replicas would. The schema is dropped
// when the test ends. The test binary must register the "pgx"
// database/sql driver (importing pgmeta does).
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := MustHavePostgres(t)
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), schemas.Add(1))
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), "CREATE SCHEMA "+name); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
