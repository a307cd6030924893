package testenv

import (
	"net"
	"testing"
)

func TestRequired(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "1": true, "true": true, "no": false} {
		t.Setenv(EnvRequire, v)
		if got := Required(); got != want {
			t.Errorf("Required() with %s=%q = %v, want %v", EnvRequire, v, got, want)
		}
	}
}

// run runs f in a subtest and reports whether it was skipped.
func run(t *testing.T, f func(t *testing.T)) (skipped bool) {
	t.Helper()
	t.Run("sub", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		f(t)
	})
	return skipped
}

func TestMustHaveExecPath(t *testing.T) {
	t.Setenv(EnvRequire, "")
	if !run(t, func(t *testing.T) { MustHaveExecPath(t, "agora-no-such-program") }) {
		t.Error("missing program did not skip")
	}
	if run(t, func(t *testing.T) {
		if MustHaveExecPath(t, "go") == "" {
			t.Error("empty path for go")
		}
	}) {
		t.Error("go was not found")
	}
}

func TestMustHavePostgres(t *testing.T) {
	t.Setenv(EnvRequire, "")
	t.Setenv(EnvPostgres, "")
	if !run(t, func(t *testing.T) { MustHavePostgres(t) }) {
		t.Error("unset AGORA_TEST_PG did not skip")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	dsn := "postgres://u:p@" + addr + "/db?sslmode=disable"
	t.Setenv(EnvPostgres, dsn)
	if run(t, func(t *testing.T) {
		if got := MustHavePostgres(t); got != dsn {
			t.Errorf("MustHavePostgres = %q, want %q", got, dsn)
		}
	}) {
		t.Error("listening server was skipped")
	}
	ln.Close()
	if !run(t, func(t *testing.T) { MustHavePostgres(t) }) {
		t.Error("closed port did not skip")
	}
}

func TestMustHaveS3(t *testing.T) {
	t.Setenv(EnvRequire, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv(EnvS3Endpoint, "http://"+ln.Addr().String())
	t.Setenv(EnvAccessKey, "ak")
	t.Setenv(EnvSecretKey, "sk")
	t.Setenv(EnvRegion, "")
	t.Setenv(EnvS3Bucket, "b")
	var got S3
	if run(t, func(t *testing.T) { got = MustHaveS3(t) }) {
		t.Fatal("listening server was skipped")
	}
	want := S3{Endpoint: "http://" + ln.Addr().String(), Region: "us-east-1", AccessKey: "ak", SecretKey: "sk", Bucket: "b"}
	if got != want {
		t.Errorf("MustHaveS3 = %+v, want %+v", got, want)
	}
	t.Setenv(EnvSecretKey, "")
	if !run(t, func(t *testing.T) { MustHaveS3(t) }) {
		t.Error("missing secret key did not skip")
	}
}
