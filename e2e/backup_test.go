package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob/s3blob"
	"github.com/agorahub/agora/internal/testenv"
)

// startLoad runs the crash test's clients (commits and LFS uploads)
// against a hub until the returned stop is called.
func startLoad(t *testing.T, h *Hub) (*crashLoad, func()) {
	t.Helper()
	tok := tokenOf(h.Users(t), "TOKEN_ALICE")
	l := &crashLoad{base: h.URL, repo: "alice/busy", token: tok, client: &http.Client{Timeout: 30 * time.Second}}
	if code := (hubClient{t, h.URL, tok}).json("POST", "/api/repos/create", map[string]any{"name": "busy", "organization": "alice"}, nil); code != 200 {
		t.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithCancel(t.Context())
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	wg := l.run(ctx, 0, rnd)
	// Let some content exist before any backup starts.
	for deadline := time.Now().Add(20 * time.Second); ; {
		l.mu.Lock()
		n := len(l.acks)
		l.mu.Unlock()
		if n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the load made %d commits in 20s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l, func() { cancel(); wg.Wait() }
}

// acked returns the acknowledgements so far.
func (l *crashLoad) acked() []ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ack(nil), l.acks...)
}

// checkRestored checks that a hub restored from a backup taken after acks
// were made serves each of them at its commit with identical bytes, and
// that its main is a commit the original made.
func checkRestored(t *testing.T, url, token string, acks, all []ack) {
	t.Helper()
	l := &crashLoad{base: url, repo: "alice/busy", token: token, client: http.DefaultClient}
	for _, a := range acks {
		code, got, err := l.request(t.Context(), "GET", url+"/alice/busy/resolve/"+a.commit+"/"+a.path, "", nil, true)
		if err != nil || code != 200 || string(got) != string(a.content) {
			t.Errorf("restored %s at %s: %d, %d bytes (want %d), %v", a.path, a.commit, code, len(got), len(a.content), err)
		}
	}
	var info struct{ Sha string }
	if code := (hubClient{t, url, token}).json("GET", "/api/models/alice/busy", nil, &info); code != 200 {
		t.Fatalf("restored repo info: %d", code)
	}
	for _, a := range all {
		if a.commit == info.Sha {
			return
		}
	}
	t.Errorf("the restored main is at %s, a commit the original never acknowledged", info.Sha)
}

var backupCounts = regexp.MustCompile(`backup: (\d+) blobs copied and verified \((\d+) bytes\), (\d+) already in the backup`)

// TestBackupRestoreOnline backs the embedded default up twice while
// commits and uploads run (the second time copying only new blobs),
// restores into an empty directory and checks the result.
func TestBackupRestoreOnline(t *testing.T) {
	data := t.TempDir()
	h := StartHub(t, HubOptions{StoreArgs: []string{"--data", data}})
	l, stop := startLoad(t, h)
	defer stop()
	dir := filepath.Join(t.TempDir(), "backup")
	backup := func() (copied, present int) {
		t.Helper()
		out, err := runCmd(h.bin, "backup", "--data", data, dir)
		if err != nil {
			t.Fatalf("backup: %v\n%s", err, out)
		}
		m := backupCounts.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("backup output:\n%s", out)
		}
		copied, _ = strconv.Atoi(m[1])
		present, _ = strconv.Atoi(m[3])
		return copied, present
	}
	start := time.Now()
	first, _ := backup()
	t.Logf("first backup: %d blobs copied (%v)", first, time.Since(start))
	time.Sleep(300 * time.Millisecond) // more commits and uploads
	before := l.acked()
	copied, present := backup()
	t.Logf("second backup: %d blobs copied, %d already there (%v)", copied, present, time.Since(start))
	if first == 0 || present < first {
		t.Errorf("second backup: %d copied, %d already there; the first copied %d", copied, present, first)
	}
	stop()
	all := l.acked()

	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := runCmd(h.bin, "restore", "--data", restored, dir); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("restored (%v)", time.Since(start))
	if out, err := runCmd(h.bin, "restore", "--data", restored, dir); err == nil || !strings.Contains(out, "not empty") {
		t.Errorf("restore into a non-empty directory: %v\n%s", err, out)
	}
	if out, err := runCmd(h.bin, "fsck", "--rehash", "--data", restored); err != nil {
		t.Fatalf("fsck of the restored hub: %v\n%s", err, out)
	}
	h2 := StartHub(t, HubOptions{StoreArgs: []string{"--data", restored}})
	checkRestored(t, h2.URL, l.token, before, all)
}

// TestBackupRestoreScaleOut follows the procedure docs/operations.md gives
// for PostgreSQL + S3 while commits and uploads run: pg_dump first, then a
// copy of the bucket; restore into a new database and bucket prefix, and
// agora fsck confirms the result.
func TestBackupRestoreScaleOut(t *testing.T) {
	pg := testenv.MustHavePostgres(t)
	s3 := testenv.MustHaveS3(t)
	psql := testenv.MustHaveExecPath(t, "psql")
	pgDump := testenv.MustHaveExecPath(t, "pg_dump")
	pgRestore := testenv.MustHaveExecPath(t, "pg_restore")
	name := fmt.Sprintf("e2e_bk_%d_%d", time.Now().UnixNano()%1e9, storeSeq.Add(1))
	dbURL := func(db string) string {
		u, err := url.Parse(pg)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + db
		return u.String()
	}
	for _, db := range []string{name, name + "_restored"} {
		if out, err := exec.Command(psql, pg, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE "+db).CombinedOutput(); err != nil {
			t.Fatalf("create database: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command(psql, pg, "-qc", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)").Run() })
	}
	blobsURL := func(prefix string) string {
		return "s3://agora-e2e/" + prefix + "?endpoint=" + url.QueryEscape(s3.Endpoint) + "&region=" + s3.Region
	}
	src := []string{"--db", dbURL(name), "--blobs", blobsURL(name)}
	dst := []string{"--db", dbURL(name + "_restored"), "--blobs", blobsURL(name + "-restored")}

	h := StartHub(t, HubOptions{StoreArgs: src})
	l, stop := startLoad(t, h)
	defer stop()
	before := l.acked()
	dump := filepath.Join(t.TempDir(), "agora.dump")
	if out, err := exec.Command(pgDump, "-Fc", "-f", dump, dbURL(name)).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	// The bucket after the dump: content is immutable and published before
	// any row names it, so the copy holds everything the dump references.
	copyPrefix(t, s3, name, name+"-restored")
	stop()
	all := l.acked()
	h.Stop(t)

	if out, err := exec.Command(pgRestore, "--no-owner", "--no-privileges", "-d", dbURL(name+"_restored"), dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	if out, err := runCmd(h.bin, append([]string{"fsck", "--rehash"}, dst...)...); err != nil {
		t.Fatalf("fsck of the restored hub: %v\n%s", err, out)
	}
	h2 := StartHub(t, HubOptions{StoreArgs: dst})
	checkRestored(t, h2.URL, l.token, before, all)
}

// copyPrefix copies every object of the test bucket under prefix from to
// prefix to, as `aws s3 sync` would, verifying each one on the way.
func copyPrefix(t *testing.T, env testenv.S3, from, to string) {
	t.Helper()
	open := func(prefix string) *s3blob.Store {
		s, err := s3blob.Open(t.Context(), s3blob.Options{Bucket: "agora-e2e", Prefix: prefix, Endpoint: env.Endpoint, Region: env.Region,
			PathStyle: true, AccessKey: env.AccessKey, SecretKey: env.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(from), open(to)
	for info, err := range a.List(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := a.Open(t.Context(), info.OID)
		if err != nil {
			t.Fatal(err)
		}
		w, err := b.Create(t.Context(), info.OID, info.Size)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if _, err := w.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
