package e2e

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestCrashSafety kills `agora serve` with SIGKILL at random moments while
// clients commit files and upload LFS objects concurrently, restarts it on
// the same stores, and checks after every restart that each commit the
// server acknowledged is on the branch with its exact content, that the
// consistency check (refs reach complete graphs, LFS content whole, no
// partial blob visible anywhere in the store) passes, and that new commits
// work. It runs on the embedded default and on PostgreSQL + S3.
func TestCrashSafety(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		runCrashCycles(t, []string{"--data", t.TempDir()})
	})
	t.Run("postgres-s3", func(t *testing.T) {
		runCrashCycles(t, scaleOutStore(t))
	})
}

const (
	crashCycles = 10
	// crashBudget bounds a deployment's cycles; later ones are skipped
	// (and logged) when a slow machine used it up.
	crashBudget = 60 * time.Second
)

// crashServer is an `agora serve` process the test kills.
type crashServer struct {
	cmd *exec.Cmd
	log *syncWriter
	buf *bytes.Buffer
}

func startCrashServer(t *testing.T, bin, addr string, store []string) *crashServer {
	t.Helper()
	buf := &bytes.Buffer{}
	s := &crashServer{log: &syncWriter{w: buf}, buf: buf}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, store...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			t.Fatalf("agora did not become ready after a restart: %v\n%s", err, s.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *crashServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

func (s *crashServer) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.kill()
	}
}

func (s *crashServer) output() string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return tail(s.buf.String(), 100)
}

// ack is a file whose commit the server acknowledged.
type ack struct {
	commit, path string
	content      []byte
	lfs          bool
}

// crashLoad drives the hub with plain HTTP, as the Python and JS clients
// do: NDJSON commits of regular files, and LFS batch + PUT + verify +
// commit.
type crashLoad struct {
	base, repo, token string
	client            *http.Client
	mu                sync.Mutex
	acks              []ack
	errs              []string // server errors (5xx), which a crash never excuses
}

func (l *crashLoad) request(ctx context.Context, method, url, ctype string, body []byte, auth bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err // cut off by the kill
	}
	if resp.StatusCode >= 500 {
		l.mu.Lock()
		l.errs = append(l.errs, fmt.Sprintf("%s %s: %d %s", method, url, resp.StatusCode, b))
		l.mu.Unlock()
	}
	return resp.StatusCode, b, nil
}

// commit sends one commit operation line and returns the new commit id.
func (l *crashLoad) commit(ctx context.Context, op string) (string, error) {
	body := `{"key":"header","value":{"summary":"crash test"}}` + "\n" + op + "\n"
	code, b, err := l.request(ctx, "POST", l.base+"/api/models/"+l.repo+"/commit/main", "application/x-ndjson", []byte(body), true)
	if err != nil {
		return "", err
	}
	var out struct{ CommitOid string }
	if code != 200 || json.Unmarshal(b, &out) != nil || len(out.CommitOid) != 40 {
		return "", fmt.Errorf("commit: %d %s", code, b)
	}
	return out.CommitOid, nil
}

func (l *crashLoad) commitFile(ctx context.Context, path string, content []byte) error {
	op := fmt.Sprintf(`{"key":"file","value":{"path":%q,"content":%q,"encoding":"base64"}}`, path, base64.StdEncoding.EncodeToString(content))
	id, err := l.commit(ctx, op)
	if err != nil {
		return err
	}
	l.record(ack{commit: id, path: path, content: content})
	return nil
}

func (l *crashLoad) uploadAndCommit(ctx context.Context, path string, content []byte) error {
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])
	req, _ := json.Marshal(map[string]any{"operation": "upload", "transfers": []string{"basic"},
		"objects": []map[string]any{{"oid": oid, "size": len(content)}}})
	code, b, err := l.request(ctx, "POST", l.base+"/"+l.repo+".git/info/lfs/objects/batch", "application/vnd.git-lfs+json", req, true)
	if err != nil {
		return err
	}
	var batch struct {
		Objects []struct {
			Actions map[string]struct{ Href string }
		}
	}
	if code != 200 || json.Unmarshal(b, &batch) != nil || len(batch.Objects) != 1 {
		return fmt.Errorf("batch: %d %s", code, b)
	}
	if up, ok := batch.Objects[0].Actions["upload"]; ok {
		if code, b, err := l.request(ctx, "PUT", up.Href, "application/octet-stream", content, false); err != nil {
			return err
		} else if code != 200 {
			return fmt.Errorf("PUT: %d %s", code, b)
		}
		if v, ok := batch.Objects[0].Actions["verify"]; ok {
			vb, _ := json.Marshal(map[string]any{"oid": oid, "size": len(content)})
			if code, b, err := l.request(ctx, "POST", v.Href, "application/vnd.git-lfs+json", vb, true); err != nil {
				return err
			} else if code != 200 {
				return fmt.Errorf("verify: %d %s", code, b)
			}
		}
	}
	id, err := l.commit(ctx, fmt.Sprintf(`{"key":"lfsFile","value":{"path":%q,"algo":"sha256","oid":%q,"size":%d}}`, path, oid, len(content)))
	if err != nil {
		return err
	}
	l.record(ack{commit: id, path: path, content: content, lfs: true})
	return nil
}

func (l *crashLoad) record(a ack) {
	l.mu.Lock()
	l.acks = append(l.acks, a)
	l.mu.Unlock()
}

// run makes each worker commit until ctx ends; errors are expected once
// the server is killed, so workers only stop.
func (l *crashLoad) run(ctx context.Context, cycle int, rnd *rand.Rand) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 4 {
		seed := rnd.Uint64()
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for n := 0; ctx.Err() == nil; n++ {
				var err error
				if w < 2 {
					data := make([]byte, 1+r.IntN(8<<10))
					fillRandom(r, data)
					err = l.commitFile(ctx, fmt.Sprintf("c%d/w%d/%d.txt", cycle, w, n), data)
				} else {
					data := make([]byte, 32<<10+r.IntN(224<<10))
					fillRandom(r, data)
					err = l.uploadAndCommit(ctx, fmt.Sprintf("c%d/w%d/%d.bin", cycle, w, n), data)
				}
				if err != nil {
					return
				}
			}
		})
	}
	return &wg
}

func fillRandom(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func gitBlobID(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// checkAcks checks that every acknowledged file is at the head of main
// with its content's id, and reads the content of recent back through its
// own commit.
func (l *crashLoad) checkAcks(t *testing.T, recent []ack) {
	t.Helper()
	ctx := t.Context()
	code, b, err := l.request(ctx, "GET", l.base+"/api/models/"+l.repo+"/revision/main?blobs=true", "", nil, true)
	if err != nil || code != 200 {
		t.Fatalf("repo info: %d %v %s", code, err, b)
	}
	var info struct {
		Siblings []struct {
			RFilename string
			BlobID    string
			LFS       *struct{ SHA256 string }
		}
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	at := map[string]string{}
	for _, s := range info.Siblings {
		at[s.RFilename] = s.BlobID
		if s.LFS != nil {
			at[s.RFilename] = s.LFS.SHA256
		}
	}
	l.mu.Lock()
	all := append([]ack(nil), l.acks...)
	l.mu.Unlock()
	for _, a := range all {
		want := gitBlobID(a.content)
		if a.lfs {
			sum := sha256.Sum256(a.content)
			want = hex.EncodeToString(sum[:])
		}
		if got, ok := at[a.path]; !ok || got != want {
			t.Errorf("acknowledged %s (commit %s): main has %q, want %s", a.path, a.commit, got, want)
		}
	}
	for _, a := range recent {
		code, got, err := l.request(ctx, "GET", l.base+"/"+l.repo+"/resolve/"+a.commit+"/"+a.path, "", nil, true)
		if err != nil || code != 200 || !bytes.Equal(got, a.content) {
			t.Errorf("acknowledged %s at commit %s: %d, %d bytes (want %d), %v", a.path, a.commit, code, len(got), len(a.content), err)
		}
	}
}

func runCrashCycles(t *testing.T, store []string) {
	bin := agoraBinary(t)
	addr := freePort(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))

	srv := startCrashServer(t, bin, addr, store)
	defer func() {
		if t.Failed() {
			t.Logf("last server's log:\n%s", srv.output())
		}
		srv.stop()
	}()
	out, err := exec.Command(bin, append([]string{"user", "add", "alice"}, store...)...).Output()
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	lines := strings.Fields(string(out))
	l := &crashLoad{base: "http://" + addr, repo: "alice/crash", token: lines[len(lines)-1], client: &http.Client{Timeout: 20 * time.Second}}
	req, _ := json.Marshal(map[string]any{"name": "crash", "organization": "alice"})
	if code, b, err := l.request(t.Context(), "POST", l.base+"/api/repos/create", "application/json", req, true); err != nil || code != 200 {
		t.Fatalf("create: %d %v %s", code, err, b)
	}

	start := time.Now()
	kills := 0
	for cycle := range crashCycles {
		if time.Since(start) > crashBudget {
			t.Logf("time budget spent after %d kill cycles", cycle)
			break
		}
		before := len(l.acks)
		ctx, cancel := context.WithCancel(t.Context())
		wg := l.run(ctx, cycle, rnd)
		time.Sleep(time.Duration(150+rnd.IntN(900)) * time.Millisecond)
		srv.kill()
		kills++
		cancel()
		wg.Wait()
		l.mu.Lock()
		recent := append([]ack(nil), l.acks[before:]...)
		l.mu.Unlock()

		srv = startCrashServer(t, bin, addr, store)
		l.checkAcks(t, recent)
		if out, err := exec.Command(bin, append([]string{"fsck", "--rehash"}, store...)...).CombinedOutput(); err != nil {
			t.Fatalf("cycle %d: fsck after the restart: %v\n%s", cycle, err, out)
		}
		if err := l.commitFile(t.Context(), fmt.Sprintf("after/%d.txt", cycle), []byte("still works")); err != nil {
			t.Fatalf("cycle %d: a commit after the restart: %v", cycle, err)
		}
		t.Logf("cycle %d: killed after %d acknowledged commits this cycle", cycle, len(recent))
		if t.Failed() {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		t.Errorf("server error under load: %s", e)
	}
	t.Logf("%d kills, %d acknowledged commits checked, in %v", kills, len(l.acks), time.Since(start).Round(time.Millisecond))
	if len(l.acks) < kills {
		t.Errorf("only %d commits acknowledged in %d cycles: the load did not run", len(l.acks), kills)
	}
}
