// Package e2e runs Agora against the real clients: the JS client from npm
// (pinned in package-lock.json) driven by node's test runner, and later git
// with git-lfs. Each test builds the agora binary, starts `agora serve` on
// a free loopback port with its own data, and creates users with the admin
// commands, exactly as an operator would.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// agoraBinary builds cmd/agora once per test process.
func agoraBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agora-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "agora")
		args := []string{"build", "-o", binPath}
		if os.Getenv("AGORA_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "../cmd/agora")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Hub is a running `agora serve`.
type Hub struct {
	URL  string
	Args []string // store flags shared by admin commands
	bin  string
	log  *bytes.Buffer
	logw *syncWriter
	stop func()
}

// logText returns what the hub logged so far.
func (h *Hub) logText() string {
	h.logw.mu.Lock()
	defer h.logw.mu.Unlock()
	return h.log.String()
}

// Stop shuts the hub down (gracefully) before the test ends.
func (h *Hub) Stop(t *testing.T) { h.stop() }

// HubOptions configure StartHub.
type HubOptions struct {
	// StoreArgs replace the default --data directory (e.g. --db/--blobs).
	StoreArgs []string
	// ServeArgs are extra flags for serve.
	ServeArgs []string
	Env       []string
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// StartHub starts a hub and stops it when the test ends.
func StartHub(t *testing.T, o HubOptions) *Hub {
	t.Helper()
	bin := agoraBinary(t)
	store := o.StoreArgs
	if store == nil {
		store = []string{"--data", t.TempDir()}
	}
	addr := freePort(t)
	h := &Hub{URL: "http://" + addr, Args: store, bin: bin, log: &bytes.Buffer{}}
	args := append([]string{"serve", "--addr", addr}, store...)
	args = append(args, o.ServeArgs...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), o.Env...)
	logw := &syncWriter{w: h.log}
	h.logw = logw
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			cmd.Wait()
		})
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			logw.mu.Lock()
			t.Logf("agora serve log (last 200 lines):\n%s", tail(h.log.String(), 200))
			logw.mu.Unlock()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(h.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agora did not become ready: %v\n%s", err, h.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return h
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Admin runs an admin command against the hub's stores and returns the
// last line of its output (the token, for user add and token add).
func (h *Hub) Admin(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(h.bin, append(args, h.Args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("agora %v: %v\n%s%s", args, err, out, stderr)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	last := ""
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	return last
}

// RunNode runs a node test file of e2e/js with the given environment.
func RunNode(t *testing.T, file string, env ...string) {
	t.Helper()
	testenv.MustHaveExecPath(t, "node")
	if _, err := os.Stat("node_modules/@huggingface/hub"); err != nil {
		if testenv.Required() {
			t.Fatal("e2e/node_modules missing: run `npm ci` in e2e/ (the test script does)")
		}
		t.Skip("e2e/node_modules missing: run `npm ci` in e2e/")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", file)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("node %s:\n%s", file, out)
	if err != nil {
		t.Fatalf("node tests failed: %v", err)
	}
}

// Users creates alice (write and read tokens) and bob, returning the
// environment the JS tests read.
func (h *Hub) Users(t *testing.T) []string {
	alice := h.Admin(t, "user", "add", "alice", "--email", "alice@example.org")
	aliceRead := h.Admin(t, "token", "add", "alice", "--read")
	bob := h.Admin(t, "user", "add", "bob")
	return []string{"HUB_URL=" + h.URL, "TOKEN_ALICE=" + alice, "TOKEN_ALICE_READ=" + aliceRead, "TOKEN_BOB=" + bob}
}

func TestJSClientCore(t *testing.T) {
	h := StartHub(t, HubOptions{})
	env := h.Users(t)
	RunNode(t, "js/core.test.mjs", append(env, "E2E_PREFIX=core")...)
	// The same workflows through the LFS transfers (basic and multipart),
	// on a hub of their own since they list by tag.
	h2 := StartHub(t, HubOptions{})
	RunNode(t, "js/core.test.mjs", append(h2.Users(t), "E2E_PREFIX=core", "USE_XET=0")...)
}

func runCmd(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
