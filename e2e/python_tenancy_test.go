package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// orgMembers is how many members acme gets: more than a page of the
// member list (50), so the client must follow Link.
const orgMembers = 55

// TestPythonTenancy runs e2e/python/tenancy with each Python client
// environment: organisations, roles, fine-grained tokens and gated access,
// with the accounts made by the admin CLI as an operator would.
func TestPythonTenancy(t *testing.T) {
	for _, env := range pythonEnvs(t) {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			runTenancy(t, env)
		})
	}
}

func runTenancy(t *testing.T, env pyenv) {
	h := StartHub(t, HubOptions{})
	alice := h.Admin(t, "user", "add", "alice", "--email", "alice@example.org")
	bob := h.Admin(t, "user", "add", "bob")
	carol := h.Admin(t, "user", "add", "carol")
	dave := h.Admin(t, "user", "add", "dave")
	h.Admin(t, "org", "add", "acme", "--owner", "alice", "--fullname", "ACME Lab")
	h.Admin(t, "org", "member", "acme", "carol", "--role", "contributor")
	h.Admin(t, "org", "member", "acme", "dave", "--role", "read")
	// More members than a page, through the API as an org admin would.
	for i := range orgMembers - 3 {
		name := fmt.Sprintf("m%02d", i)
		h.Admin(t, "user", "add", name)
		apiCall(t, h, alice, "PUT", "/api/organizations/acme/members/"+name+"/role", map[string]any{"role": "read"})
	}
	for _, n := range []string{"fg-one", "fg-two"} {
		apiCall(t, h, alice, "POST", "/api/repos/create", map[string]any{"name": "alice/" + n, "private": true})
		apiCall(t, h, alice, "POST", "/api/models/alice/"+n+"/commit/main", nil,
			`{"key":"header","value":{"summary":"a"}}`+"\n"+
				`{"key":"file","value":{"path":"a.txt","content":"`+b64(n+"\n")+`","encoding":"base64"}}`+"\n")
	}
	fgOne := h.Admin(t, "token", "add", "alice", "--name", "fg-one", "--scope", "model:alice/fg-one=repo.content.read")
	fgOrg := h.Admin(t, "token", "add", "carol", "--name", "ci", "--scope", "org:acme=repo.write", "--expires", "30d")

	tests := filepath.Join(t.TempDir(), "tenancy")
	if err := os.CopyFS(tests, os.DirFS("python/tenancy")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.path, "bin", "python"), "-m", "pytest", "-p", "no:cacheprovider",
		"-q", "-rfEs", "--tb=short", "--basetemp", filepath.Join(t.TempDir(), "pytest"))
	cmd.Dir = tests
	cmd.Env = append(clientFreeEnv(),
		"HF_ENDPOINT="+h.URL, "HF_TOKEN="+alice, "HF_HOME="+t.TempDir(),
		"AGORA_E2E_TOKEN_BOB="+bob, "AGORA_E2E_TOKEN_CAROL="+carol, "AGORA_E2E_TOKEN_DAVE="+dave,
		"AGORA_E2E_TOKEN_FG_ONE="+fgOne, "AGORA_E2E_TOKEN_FG_ORG="+fgOrg,
		"AGORA_E2E_MEMBERS="+strconv.Itoa(orgMembers),
		"HF_HUB_DISABLE_TELEMETRY=1", "HF_HUB_DISABLE_UPDATE_CHECK=1", "HF_HUB_DISABLE_PROGRESS_BARS=1", "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pytest tenancy in %s failed: %v\n%s", env.name, err, out)
	}
	t.Logf("%s: %s", env.name, lastLine(string(out)))
}

// apiCall sends one authenticated request and fails the test unless it
// answers 200. body is JSON-encoded unless raw is given.
func apiCall(t *testing.T, h *Hub, token, method, path string, body any, raw ...string) {
	t.Helper()
	var data []byte
	if len(raw) > 0 {
		data = []byte(raw[0])
	} else if body != nil {
		data, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, h.URL+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b.String())
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
