package mirror_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/mirror"
	"github.com/agorahub/agora/internal/testenv"
)

// concurrentGets downloads path n times at once from the given hubs
// (round robin) and checks every body.
func concurrentGets(t *testing.T, hubs []*mirrorHub, path string, n int, want []byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := doURL(t, "GET", hubs[i%len(hubs)].URL+path, "", nil)
			if r.status != 200 || !bytes.Equal(r.body, want) {
				errs <- fmt.Errorf("download %d: status %d, %d bytes", i, r.status, len(r.body))
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestColdFillShared: twenty concurrent cold downloads of one file make
// one upstream transfer.
func TestColdFillShared(t *testing.T) {
	f := newFixture(t)
	mh := startMirror(t, f.up.URL, mirrorOpts{})
	if r := mh.do("GET", "/api/models/alice/model", ""); r.status != 200 {
		t.Fatalf("info: %d %s", r.status, r.body)
	}
	// Clients ask HEAD first (Python), or a one-byte range (JS).
	if r := mh.do("HEAD", "/alice/model/resolve/main/big.bin", ""); r.status != 200 || r.h.Get("X-Linked-Size") != strconv.Itoa(len(f.big)) {
		t.Fatalf("HEAD: %d %v", r.status, r.h)
	}
	concurrentGets(t, []*mirrorHub{mh}, "/alice/model/resolve/main/big.bin", 20, f.big)
	if n := f.up.contentGets.Load(); n != 1 {
		t.Fatalf("%d upstream requests for a HEAD and 20 concurrent downloads, want 1", n)
	}
}

// TestStreamsWhileFilling: a client gets the first bytes of a cold file
// before the mirror has fetched 10% of it, and a Range far ahead is
// answered without waiting for the bytes before it.
func TestStreamsWhileFilling(t *testing.T) {
	f := newFixture(t)
	p := newFaultProxy(t, f.up.URL)
	mh := startMirror(t, p.URL, mirrorOpts{})
	if r := mh.do("GET", "/api/models/alice/model", ""); r.status != 200 {
		t.Fatalf("info: %d %s", r.status, r.body)
	}
	size := int64(len(f.big))
	p.gateAt = size / 20 // the upstream sends 5%, then stalls until released
	p.set("gate")

	resp, err := http.Get(mh.URL + "/alice/model/resolve/main/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1000)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	if got := p.sent.Load(); got >= size/10 {
		t.Fatalf("first bytes arrived after %d of %d bytes were fetched", got, size)
	}
	if !bytes.Equal(first, f.big[:1000]) {
		t.Fatal("wrong first bytes")
	}
	// A range far ahead: the mirror asks the upstream for it (passing the
	// gate, which holds only the full transfer) instead of waiting.
	p.set("")
	r := mh.do("GET", "/alice/model/resolve/main/big.bin", "", "Range", "bytes=3000000-3000999")
	if r.status != http.StatusPartialContent || !bytes.Equal(r.body, f.big[3000000:3001000]) {
		t.Fatalf("far range: %d, %d bytes", r.status, len(r.body))
	}
	close(p.release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(append(first, rest...), f.big) {
		t.Fatalf("whole body: %v, %d bytes", err, len(first)+len(rest))
	}
}

// TestUpstreamFaults: an upstream that truncates, corrupts, refuses or
// hangs never leaves anything in the cache; the client gets a clear error
// (a status when the failure comes first, a broken body otherwise) and a
// later request succeeds.
func TestUpstreamFaults(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		mode       string
		status     int // the client's status, or -1 for a broken body
		retryAfter string
	}{
		{"truncate", -1, ""},
		{"corrupt", -1, ""},
		{"429", http.StatusTooManyRequests, "7"},
		{"500", http.StatusServiceUnavailable, ""},
		{"hang", http.StatusGatewayTimeout, ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			p := newFaultProxy(t, f.up.URL)
			now := time.Now()
			var mu sync.Mutex
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			mh := startMirror(t, p.URL, mirrorOpts{timeout: time.Second, ttl: time.Hour, now: clock})
			if r := mh.do("GET", "/api/models/alice/model", ""); r.status != 200 {
				t.Fatalf("info: %d %s", r.status, r.body)
			}
			p.set(tc.mode)
			r := mh.do("GET", "/alice/model/resolve/main/weights.bin", "")
			switch {
			case tc.status == -1:
				if r.status == 200 && bytes.Equal(r.body, f.weights) {
					t.Fatalf("a complete download of damaged content")
				}
			case r.status != tc.status:
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.h.Get("X-Error-Code") != "" {
				t.Errorf("an upstream failure answered %s: a client would remember the file as missing", r.h.Get("X-Error-Code"))
			}
			if ra := r.h.Get("Retry-After"); ra != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, tc.retryAfter)
			}
			if _, err := mh.blobs.Stat(t.Context(), oidOf(f.weights)); err == nil {
				t.Fatal("the damaged transfer left an object in the cache")
			}
			p.set("")
			if tc.mode == "429" {
				// Every request backs off until the upstream's deadline.
				if r := mh.do("GET", "/alice/model/resolve/main/weights.bin", ""); r.status != http.StatusTooManyRequests {
					t.Fatalf("during the back-off: %d", r.status)
				}
				mu.Lock()
				now = now.Add(8 * time.Second)
				mu.Unlock()
			}
			if tc.mode == "500" || tc.mode == "hang" {
				mu.Lock()
				now = now.Add(3 * time.Second) // past the short "unreachable" pause
				mu.Unlock()
			}
			r = mh.do("GET", "/alice/model/resolve/main/weights.bin", "")
			if r.status != 200 || !bytes.Equal(r.body, f.weights) {
				t.Fatalf("after the fault: %d, %d bytes: %s", r.status, len(r.body), r.body)
			}
		})
	}
}

// TestUpstreamDown: with the upstream stopped, what was cached keeps
// being served (branches from their last binding) and the rest is a 503,
// never a 404. Offline mode answers the same without asking.
func TestUpstreamDown(t *testing.T) {
	f := newFixture(t)
	p := newFaultProxy(t, f.up.URL)
	mh := startMirror(t, p.URL, mirrorOpts{ttl: 0})
	main := jsonOf(t, mh.do("GET", "/api/models/alice/model/revision/main", "")).(map[string]any)["sha"].(string)
	if r := mh.do("GET", "/alice/model/resolve/main/weights.bin", ""); r.status != 200 {
		t.Fatalf("warm-up: %d", r.status)
	}
	check := func(t *testing.T, mh *mirrorHub) {
		for _, tc := range []struct {
			path   string
			status int
		}{
			{"/alice/model/resolve/main/weights.bin", 200},
			{"/alice/model/resolve/" + main + "/config.json", 200},
			{"/api/models/alice/model/revision/main", 200},
			{"/api/models/alice/model/tree/main", 200},
			{"/alice/model/resolve/main/big.bin", 503},
			{"/alice/model/resolve/nobranch/config.json", 503},
			{"/api/models/alice/other", 503},
			{"/alice/model/resolve/0123456789012345678901234567890123456789/config.json", 503},
		} {
			r := mh.do("GET", tc.path, "")
			if r.status != tc.status {
				t.Errorf("%s: %d, want %d: %s", tc.path, r.status, tc.status, r.body)
			}
			if tc.status == 503 && r.h.Get("X-Error-Code") != "" {
				t.Errorf("%s: X-Error-Code %s", tc.path, r.h.Get("X-Error-Code"))
			}
		}
	}
	p.srvClose()
	t.Run("stopped", func(t *testing.T) { check(t, mh) })
	t.Run("offline", func(t *testing.T) {
		off := startMirror(t, "http://127.0.0.1:1", mirrorOpts{offline: true, m: mh.meta, b: mh.blobs})
		check(t, off)
	})
}

// TestBindingTTL: a branch moved upstream is seen after the TTL and not
// before.
func TestBindingTTL(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mh := startMirror(t, f.up.URL, mirrorOpts{ttl: time.Minute, now: clock})
	sha := func() string {
		return jsonOf(t, mh.do("GET", "/api/models/alice/model/revision/main", "")).(map[string]any)["sha"].(string)
	}
	before := sha()
	moved := f.up.commit(f.tokens.alice, f.public, "main", file{path: "new.txt", data: []byte("new\n")})
	if got := sha(); got != before {
		t.Fatalf("the binding moved before the TTL: %s", got)
	}
	// A client that knows the new commit gets it at once (commit ids are
	// never stale).
	if r := mh.do("GET", "/alice/model/resolve/"+moved+"/new.txt", ""); r.status != 200 {
		t.Fatalf("new commit by id: %d %s", r.status, r.body)
	}
	if got := sha(); got != before {
		t.Fatalf("fetching a commit moved the branch: %s", got)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	// The refs listing rebinds too.
	refs := jsonOf(t, mh.do("GET", "/api/models/alice/model/refs", "")).(map[string]any)["branches"].([]any)
	for _, b := range refs {
		if b := b.(map[string]any); b["name"] == "main" && b["targetCommit"] != moved {
			t.Fatalf("refs after the TTL: main is %v, want %s", b["targetCommit"], moved)
		}
	}
	if got := sha(); got != moved {
		t.Fatalf("after the TTL main is %s, want %s", got, moved)
	}
}

// TestGitClone: git clones a mirror with the upstream's commit ids.
func TestGitClone(t *testing.T) {
	git := testenv.MustHaveExecPath(t, "git")
	f := newFixture(t)
	mh := startMirror(t, f.up.URL, mirrorOpts{})
	want := jsonOf(t, f.up.do("GET", "/api/models/alice/model/revision/main", "")).(map[string]any)["sha"].(string)
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.CommandContext(t.Context(), git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_LFS_SKIP_SMUDGE=1", "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("clone", "-q", mh.URL+"/alice/model.git", "m")
	dir = filepath.Join(dir, "m")
	if got := run("rev-parse", "HEAD"); got != want {
		t.Fatalf("cloned HEAD %s, upstream main %s", got, want)
	}
	if got := run("tag", "--list"); got != "v1\nv1-annotated" {
		t.Errorf("tags %q", got)
	}
	run("fsck", "--strict")
}

// TestEviction keeps each upstream's cache under its cap, least recently
// used first, and spares pinned mirrors.
func TestEviction(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mh := startMirror(t, f.up.URL, mirrorOpts{cacheSize: int64(len(f.big)) + 100, now: clock, ttl: time.Hour})
	get := func(path string) {
		t.Helper()
		if r := mh.do("GET", path, ""); r.status != 200 {
			t.Fatalf("%s: %d", path, r.status)
		}
		mu.Lock()
		now = now.Add(time.Second) // uses are ordered
		mu.Unlock()
	}
	get("/alice/model/resolve/main/weights.bin")
	get("/alice/model/resolve/main/big.bin")
	// Eviction runs in the background after a fill.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := mh.blobs.Stat(t.Context(), oidOf(f.weights)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the least recently used object was not evicted")
		}
	}
	if _, err := mh.blobs.Stat(t.Context(), oidOf(f.big)); err != nil {
		t.Errorf("the most recent object was evicted: %v", err)
	}

	// Pinned: nothing goes, even when asked to empty the cache.
	m2 := startMirror(t, f.up.URL, mirrorOpts{})
	get2 := func(path string) {
		if r := m2.do("GET", path, ""); r.status != 200 {
			t.Fatalf("%s: %d", path, r.status)
		}
	}
	get2("/alice/model/resolve/main/weights.bin")
	r, err := m2.meta.RepoByName(t.Context(), hub.TypeModel, "alice", "model")
	if err != nil {
		t.Fatal(err)
	}
	mr, _ := m2.meta.MirrorRepo(t.Context(), r.ID)
	mr.Pinned = true
	if err := m2.meta.UpdateMirrorRepo(t.Context(), mr); err != nil {
		t.Fatal(err)
	}
	if st, err := m2.mirror.Evict(t.Context(), "up", 0); err != nil || st.Objects != 0 {
		t.Fatalf("evicted %+v from a pinned mirror (%v)", st, err)
	}
	mr.Pinned = false
	m2.meta.UpdateMirrorRepo(t.Context(), mr)
	if st, err := m2.mirror.Evict(t.Context(), "up", 0); err != nil || st.Objects != 1 {
		t.Fatalf("evict after unpinning: %+v %v", st, err)
	}
	// Evicted content comes back on the next download.
	get2("/alice/model/resolve/main/weights.bin")
}

// TestPull prefetches the files a pattern selects.
func TestPull(t *testing.T) {
	f := newFixture(t)
	mh := startMirror(t, f.up.URL, mirrorOpts{})
	var last mirror.PullProgress
	_, _, err := mh.mirror.Pull(context.Background(), publicRef, "main", []string{"*.bin"}, func(p mirror.PullProgress) { last = p })
	if err != nil {
		t.Fatal(err)
	}
	if last.Files != 2 || last.BytesDone != last.Bytes || last.Bytes != int64(len(f.big)+len(f.weights)) {
		t.Fatalf("progress %+v", last)
	}
	before := f.up.contentGets.Load()
	concurrentGets(t, []*mirrorHub{mh}, "/alice/model/resolve/main/big.bin", 3, f.big)
	if f.up.contentGets.Load() != before {
		t.Fatal("pulled content was fetched again")
	}
}
