package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agorahub/agora/internal/testenv"
)

// Single sign-on through a real OpenID Connect provider (zitadel/oidc's
// example provider, tools/oidcop, built from the Go module proxy and
// started on loopback): Chromium signs in through the provider's own
// login form, the hub creates the account on the first sign-in, maps the
// groups claim to an organisation role, and never links a provider user
// to a local account of the same name.

// oidcProvider builds (or finds in the cache) the provider binary.
func oidcProvider(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AGORA_OIDCOP"); p != "" {
		return p
	}
	testenv.MustHaveExecPath(t, "go")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "../scripts/build-oidcop.sh").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		if testenv.Required() {
			t.Fatalf("build the OpenID provider: %v\n%s", err, stderr)
		}
		t.Skipf("cannot build the OpenID provider (needs the Go module proxy): %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// startProvider starts the provider on addr for one client and returns
// its issuer URL.
func startProvider(t *testing.T, bin, addr, redirect string, users map[string]any) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "users.json")
	data, _ := json.Marshal(users)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-addr", addr, "-client-id", "agora", "-client-secret", "s3cret",
		"-redirect-uri", redirect, "-users", file)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	logw := &syncWriter{w: &strings.Builder{}}
	cmd.Stderr = logw
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			logw.mu.Lock()
			t.Logf("OpenID provider log:\n%s", tail(logw.w.(*strings.Builder).String(), 100))
			logw.mu.Unlock()
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() {
		}
	}()
	select {
	case l, ok := <-lines:
		issuer, found := strings.CutPrefix(l, "issuer ")
		if !ok || !found {
			t.Fatalf("OpenID provider did not start: %q", l)
		}
		return issuer
	case <-time.After(30 * time.Second):
		t.Fatal("OpenID provider did not start within 30s")
	}
	return ""
}

func TestWebSSO(t *testing.T) {
	chromium := testenv.MustHaveExecPath(t, "chromium")
	op := oidcProvider(t)
	// The hub reads the provider's discovery document at the first
	// sign-in, so it can start first and give the provider its callback.
	opAddr := freePort(t)
	issuer := "http://" + opAddr + "/"
	h := StartHub(t, HubOptions{
		ServeArgs: []string{"--oidc-issuer", issuer, "--oidc-client-id", "agora", "--oidc-org-claim", "groups", "--oidc-admin-group", "hub-admins"},
		Env:       []string{"AGORA_OIDC_CLIENT_SECRET=s3cret"},
	})
	h.Admin(t, "user", "add", "alice", "--password", alicePassword)
	h.Admin(t, "org", "add", "acme", "--owner", "alice")
	got := startProvider(t, op, opAddr, h.URL+"/login/oidc/callback", map[string]any{
		"u-carol": map[string]any{"Username": "carol@example.org", "Password": "carol-pw", "FirstName": "Carol", "LastName": "Example",
			"Email": "carol@example.org", "Groups": []string{"acme:contributor", "not-an-org", "hub-admins"}},
		"u-alice": map[string]any{"Username": "alice", "Password": "other-alice-pw", "FirstName": "Another", "LastName": "Alice",
			"Email": "alice@idp.example"},
	})
	if got != issuer {
		t.Fatalf("provider issuer %q, want %q", got, issuer)
	}
	shots := newScreenshots(t)
	ctx := newBrowser(t, chromium)

	// signInSSO goes from the hub's sign-in page through the provider's
	// form and back, and returns the name shown as signed in.
	signInSSO := func(t *testing.T, user, password string) string {
		t.Helper()
		do(t, ctx, chromedp.Navigate(h.URL+"/login?next=/acme"),
			chromedp.Click(chromedp.CSS(`a[href^="/login/oidc"]`)),
			chromedp.WaitVisible(chromedp.CSS(`input#username`)),
		)
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if !strings.HasPrefix(loc, "http://"+opAddr+"/login/username") {
			t.Errorf("provider's login page at %s", loc)
		}
		shots.take(t, ctx, "sso-provider-login")
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`input#username`), user),
			chromedp.SetValue(chromedp.CSS(`input#password`), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		)
		waitPath(t, ctx, h.URL, "/acme")
		return text(t, ctx, "a.me")
	}

	t.Run("first sign-in creates the account and maps the org role", func(t *testing.T) {
		if me := signInSSO(t, "carol@example.org", "carol-pw"); me != "carol" {
			t.Fatalf("signed in as %q, want carol", me)
		}
		if head := text(t, ctx, ".user-head"); !strings.Contains(head, "You are contributor") {
			t.Errorf("carol's role in acme: %q", head)
		}
		shots.take(t, ctx, "sso-signed-in")
		// The admin group made carol a site admin: the audit log is hers.
		do(t, ctx, chromedp.Navigate(h.URL+"/admin/audit-log"))
		log := text(t, ctx, "table.audit")
		for _, want := range []string{"user.create", "auth.signin", "org.member.role"} {
			if !strings.Contains(log, want) {
				t.Errorf("audit log lacks %s:\n%s", want, log)
			}
		}
		signOut(t, ctx, h)
	})

	t.Run("a provider user named like a local account gets its own", func(t *testing.T) {
		if me := signInSSO(t, "alice", "other-alice-pw"); me != "alice-2" {
			t.Fatalf("signed in as %q, want alice-2", me)
		}
		signOut(t, ctx, h)
		// The local alice still signs in with her password, as herself.
		signIn(t, ctx, h, "alice", alicePassword)
		signOut(t, ctx, h)
	})

	t.Run("the second sign-in finds the same account", func(t *testing.T) {
		if me := signInSSO(t, "carol@example.org", "carol-pw"); me != "carol" {
			t.Fatalf("signed in again as %q", me)
		}
		out, err := runCmd(h.bin, append([]string{"audit", "--namespace", "carol"}, h.Args...)...)
		if err != nil {
			t.Fatalf("agora audit: %v\n%s", err, out)
		}
		if n := strings.Count(out, "auth.signin"); n != 2 || strings.Count(out, "user.create") != 1 {
			t.Errorf("carol's audit: %d sign-ins, want 2:\n%s", n, out)
		}
	})
}
