package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPythonMirror runs e2e/python/mirror with the newest Python client
// against a mirror Agora of another Agora (issue 14): snapshot and file
// downloads by branch, tag and commit id, ranges, errors, all with the
// upstream's commit ids and ETags.
func TestPythonMirror(t *testing.T) {
	envs := pythonEnvs(t)
	env := envs[0]
	for _, e := range envs {
		if e.name == "hub2" {
			env = e
		}
	}
	up := StartHub(t, HubOptions{})
	alice := up.Admin(t, "user", "add", "alice")
	mirror := StartHub(t, HubOptions{ServeArgs: []string{"--upstream", "up=" + up.URL, "--mirror-ttl", "0"}})

	tests := filepath.Join(t.TempDir(), "mirror")
	if err := os.CopyFS(tests, os.DirFS("python/mirror")); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	run := func(phase string, extra ...string) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(env.path, "bin", "python"), "-m", "pytest", "-p", "no:cacheprovider",
			"-q", "-rfEs", "--tb=short", "--basetemp", filepath.Join(t.TempDir(), "pytest"))
		cmd.Dir = tests
		cmd.Env = append(clientFreeEnv(),
			"HF_ENDPOINT="+mirror.URL, "HF_HOME="+t.TempDir(), "AGORA_E2E_STATE="+state,
			"AGORA_E2E_UPSTREAM="+up.URL, "AGORA_E2E_UPSTREAM_TOKEN="+alice,
			"HF_HUB_DISABLE_TELEMETRY=1", "HF_HUB_DISABLE_UPDATE_CHECK=1", "HF_HUB_DISABLE_PROGRESS_BARS=1", "NO_COLOR=1")
		cmd.Env = append(cmd.Env, extra...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pytest mirror (%s) in %s failed: %v\n%s", phase, env.name, err, out)
		}
		t.Logf("%s, %s: %s", env.name, phase, lastLine(string(out)))
	}
	run("upstream up")
	up.Stop(t)
	run("upstream down", "AGORA_E2E_UPSTREAM_DOWN=1")
}
