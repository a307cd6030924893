package gitproto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/testenv"
)

// TestPushRefusesWhatGitFsckRefuses pushes with the real git client and
// checks that objects git's fsck refuses are refused with git's message
// id in the report-status line git push prints, and that the branch is
// not created.
func TestPushRefusesWhatGitFsckRefuses(t *testing.T) {
	testenv.MustHaveExecPath(t, "git")
	th := newTestHub(t, Config{})
	dir := t.TempDir()
	basic := base64.StdEncoding.EncodeToString([]byte("git:" + th.token))
	git := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), "git", append([]string{"-c", "http.extraHeader=Authorization: Basic " + basic}, args...)...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
			"GIT_DIR="+filepath.Join(dir, "repo.git"),
			"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.org")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return strings.TrimSpace(out.String()), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := git(stdin, args...)
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return out
	}
	must("", "init", "-q", "--bare", filepath.Join(dir, "repo.git"))
	blob := func(content string) string { return must(content, "hash-object", "-w", "--stdin") }
	// rawTree writes a tree exactly as given, bypassing mktree's checks.
	rawTree := func(ents ...[3]string) string {
		var b strings.Builder
		for _, e := range ents {
			id, err := hex.DecodeString(e[2])
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(e[0] + " " + e[1] + "\x00")
			b.Write(id)
		}
		return must(b.String(), "hash-object", "-w", "-t", "tree", "--literally", "--stdin")
	}
	url := th.url + "/alice/pub.git"
	hostile := blob("[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n")
	readme := blob("hello\n")
	cases := []struct {
		name string
		tree string
		want string // in git push's output; "" for success
	}{
		{"benign", rawTree([3]string{"100644", ".gitmodules", blob("[submodule \"x\"]\n\tpath = x\n\turl = ../x.git\n")}, [3]string{"100644", "README.md", readme}), ""},
		{"hostile .gitmodules", rawTree([3]string{"100644", ".gitmodules", hostile}), "gitmodulesUrl"},
		{"duplicate entries", rawTree([3]string{"100644", "README.md", readme}, [3]string{"100644", "README.md", readme}), "duplicateEntries"},
		{"NTFS alias of .git", rawTree([3]string{"40000", "GIT~1", rawTree([3]string{"100644", "config", readme})}), "reads as .git"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			commit := must("", "commit-tree", "-m", tc.name, tc.tree)
			branch := "refs/heads/fsck-" + string(rune('a'+i))
			out, err := git("", "push", "--porcelain", url, commit+":"+branch)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("push refused: %v\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, "[remote rejected]") || !strings.Contains(out, tc.want) {
				t.Fatalf("push: %v, want a rejection naming %s:\n%s", err, tc.want, out)
			}
			t.Logf("git push:\n%s", out)
			if refs := must("", "ls-remote", url, branch); refs != "" {
				t.Errorf("refused branch exists: %s", refs)
			}
		})
	}
}
