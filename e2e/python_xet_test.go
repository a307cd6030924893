package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPythonXet runs e2e/python/tests/test_xet.py with Xet left on, as
// users have it: huggingface_hub with hf_xet from PyPI, in every
// environment of TestPythonClients (hub2, hub1, hub036: hf_xet 1.8.0)
// plus hub036-xet119 (hf_xet 1.1.9, whose CAS routes are the oldest:
// /xorb, /shard, /reconstruction). Each environment gets a hub of its
// own; after pytest, the hub's access log must show the routes that
// hf_xet release uses.
func TestPythonXet(t *testing.T) {
	current := []string{"/cas/v1/xorbs/default/", "/cas/v2/shards", "/cas/v2/reconstructions/", "/cas/v1/xorb-grants/default/"}
	for _, env := range pythonEnvs(t) {
		t.Run(env.name, func(t *testing.T) {
			routes := current
			if strings.Contains(env.name, "xet119") {
				routes = []string{"/cas/xorb/default/", "/cas/shard/default/", "/cas/reconstruction/"}
			}
			data := t.TempDir()
			runPytestXet(t, env, []string{"--data", data}, filepath.Join(data, "blobs", "xorbs"), routes)
		})
		if env.name == "hub2" {
			// PostgreSQL + S3: xorb ranges come from presigned S3 URLs.
			t.Run(env.name+"-postgres+s3", func(t *testing.T) {
				runPytestXet(t, env, scaleOutStore(t), "", current)
			})
		}
	}
}

func runPytestXet(t *testing.T, env pyenv, store []string, xorbsDir string, routes []string) {
	h := StartHub(t, HubOptions{StoreArgs: store})
	alice := h.Admin(t, "user", "add", "alice", "--email", "alice@example.org")
	bob := h.Admin(t, "user", "add", "bob")
	tests := filepath.Join(t.TempDir(), "tests")
	if err := os.CopyFS(tests, os.DirFS("python/tests")); err != nil {
		t.Fatal(err)
	}
	args := []string{"-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", "--tb=short",
		"--basetemp", filepath.Join(t.TempDir(), "pytest"), "test_xet.py"}
	args = append(args, strings.Fields(os.Getenv("AGORA_E2E_PYTEST_ARGS"))...)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.path, "bin", "python"), args...)
	cmd.Dir = tests
	cmd.Env = append(clientFreeEnv(),
		"HF_ENDPOINT="+h.URL,
		"HF_TOKEN="+alice,
		"AGORA_E2E_TOKEN_BOB="+bob,
		"HF_HOME="+t.TempDir(),
		"AGORA_E2E_XET=1",
		"AGORA_E2E_XORBS_DIR="+xorbsDir,
		"HF_HUB_DISABLE_TELEMETRY=1",
		"HF_HUB_DISABLE_UPDATE_CHECK=1",
		"HF_HUB_DISABLE_PROGRESS_BARS=1",
		"HF_XET_TELEMETRY_ENABLED=0",
		"NO_COLOR=1",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pytest test_xet.py in %s failed after %s: %v\n%s", env.name, time.Since(start).Round(time.Second), err, out)
	}
	if strings.Contains(string(out), "skipped") && !strings.Contains(string(out), "passed") {
		t.Fatalf("pytest skipped the Xet tests:\n%s", out)
	}
	t.Logf("%s: %s", env.name, lastLine(string(out)))
	h.Stop(t) // its log is complete, and nobody writes it any more
	logw := h.log.String()
	for _, r := range routes {
		if !strings.Contains(logw, "path="+r) {
			t.Errorf("%s: no request to %s in the access log", env.name, r)
		}
	}
}
