package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/testenv"
)

// envPyenvs names the Python virtualenvs to test with, as
// NAME=PATH[,NAME=PATH…] (what scripts/pyenv.sh prints). When it is unset
// the test runs the script itself.
const envPyenvs = "AGORA_E2E_PYENVS"

// TestPythonClients runs the pytest workflows of e2e/python/tests with the
// Python clients as users install them from PyPI (huggingface_hub 2.x, 1.x
// and 0.36 with transformers, datasets, pandas…; the locks are
// e2e/python/*.txt), each environment against a hub of its own.
//
// AGORA_E2E_PYTEST_ARGS adds pytest arguments (e.g. "-k cli").
func TestPythonClients(t *testing.T) {
	for _, env := range pythonEnvs(t) {
		if !slices.Contains(workflowEnvs, env.name) {
			continue
		}
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			runPytest(t, env.name, env.path)
		})
	}
}

// workflowEnvs are the environments the workflows run in. Other locks in
// e2e/python (variants such as hub036-xet119) serve other tests: with Xet
// off they would only repeat one of these.
var workflowEnvs = []string{"hub2", "hub1", "hub036"}

type pyenv struct{ name, path string }

// pythonEnvs returns the virtualenvs from AGORA_E2E_PYENVS, or makes them
// with scripts/pyenv.sh (reused from ~/.cache/agora when the locks are
// unchanged). It skips the test when they cannot be made, and fails it
// under AGORA_TEST_REQUIRE=1.
func pythonEnvs(t *testing.T) []pyenv {
	t.Helper()
	spec := os.Getenv(envPyenvs)
	if spec == "" {
		testenv.MustHaveExecPath(t, "python3")
		testenv.MustHaveExecPath(t, "bash")
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "../scripts/pyenv.sh")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			pythonUnavailable(t, "scripts/pyenv.sh: %v\n%s", err, stderr.String())
		}
		spec = strings.TrimSpace(string(out))
	}
	var envs []pyenv
	for item := range strings.SplitSeq(spec, ",") {
		name, path, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" || path == "" {
			t.Fatalf("%s: %q is not NAME=PATH", envPyenvs, item)
		}
		if _, err := os.Stat(filepath.Join(path, "bin", "python")); err != nil {
			pythonUnavailable(t, "venv %s: %v", name, err)
		}
		envs = append(envs, pyenv{name, path})
	}
	if len(envs) == 0 {
		pythonUnavailable(t, "%s names no venv", envPyenvs)
	}
	return envs
}

func pythonUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if testenv.Required() {
		t.Fatalf("python clients: "+format+" ("+testenv.EnvRequire+"=1)", args...)
	}
	t.Skipf("python clients: "+format, args...)
}

// runPytest starts a hub with two users and runs the workflows in venv.
func runPytest(t *testing.T, name, venv string) {
	h := StartHub(t, HubOptions{})
	alice := h.Admin(t, "user", "add", "alice", "--email", "alice@example.org", "--fullname", "Alice Liddell")
	bob := h.Admin(t, "user", "add", "bob")

	// The tests are run from a copy: Python and pytest write caches next to
	// the files they import, and the working tree is shared.
	tests := filepath.Join(t.TempDir(), "tests")
	if err := os.CopyFS(tests, os.DirFS("python/tests")); err != nil {
		t.Fatal(err)
	}
	args := []string{"-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", "--tb=short",
		"--basetemp", filepath.Join(t.TempDir(), "pytest")}
	args = append(args, strings.Fields(os.Getenv("AGORA_E2E_PYTEST_ARGS"))...)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(venv, "bin", "python"), args...)
	cmd.Dir = tests
	cmd.Env = append(clientFreeEnv(),
		"HF_ENDPOINT="+h.URL,
		"HF_TOKEN="+alice,
		"AGORA_E2E_TOKEN_BOB="+bob,
		"HF_HOME="+t.TempDir(),
		"HF_HUB_DISABLE_TELEMETRY=1",
		"HF_HUB_DISABLE_UPDATE_CHECK=1", // the hf CLI would ask PyPI for a newer version
		"HF_HUB_DISABLE_PROGRESS_BARS=1",
		"NO_COLOR=1",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	summary := lastLine(string(out))
	if err != nil {
		t.Fatalf("pytest in %s (%s) failed after %s: %v\n%s", name, venv, time.Since(start).Round(time.Second), err, out)
	}
	t.Logf("%s: %s", name, summary)
}

// clientFreeEnv is the process environment without the settings of the
// Hugging Face clients a developer may have (a token, an endpoint, offline
// mode), which would change what the tests talk to. PYTHONDONTWRITEBYTECODE
// goes too: the venvs are installed without bytecode, and Python compiling
// on first use and keeping it is what makes later runs (and each of the
// dozens of `hf` processes) start fast.
func clientFreeEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(k, "HF_") || strings.HasPrefix(k, "HUGGINGFACE_") ||
			strings.HasPrefix(k, "TRANSFORMERS_") || k == "PYTHONPATH" || k == "PYTHONDONTWRITEBYTECODE"
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
