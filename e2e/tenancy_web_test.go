package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agorahub/agora/internal/testenv"
)

// The team features in a real Chromium against a real `agora serve`: an
// organisation admin adds a member and changes a role; a user fills a
// gated repository's request form, its owner accepts the request and the
// user can then download; a fine-grained token is created, used and
// revoked.

const (
	bobPassword = "bob's much longer password"
	gatedCard   = `---
license: other
extra_gated_heading: Request access to the browser model
extra_gated_prompt: "You agree to the **terms** of use."
extra_gated_fields:
  Company: text
  Country: country
  Purpose:
    type: select
    options:
      - Research
      - label: Commercial use
        value: commercial
  Start date: date_picker
  I agree to the licence: checkbox
---
# Gated browser model
`
	gatedWeights = "weights only for accepted users\n"
)

// signIn signs the browser in with a password.
func signIn(t *testing.T, ctx context.Context, h *Hub, user, password string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(h.URL+"/login"),
		chromedp.SetValue(chromedp.CSS(`input[name=username]`), user),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form.stack button.primary`)),
	)
	waitPath(t, ctx, h.URL, "/")
	if me := text(t, ctx, "a.me"); me != user {
		t.Fatalf("signed in as %q, want %s", me, user)
	}
}

// signOut uses the header's button.
func signOut(t *testing.T, ctx context.Context, h *Hub) {
	t.Helper()
	submit(t, ctx, h, `header form.inline button.link`, "/")
}

// submit clicks a form's button and waits for the page that answers,
// also when it has the address of the form's page (a POST redirected
// back): the old document is marked, and the new one has no mark.
func submit(t *testing.T, ctx context.Context, h *Hub, button, want string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.agoraOldPage = true`)); err != nil {
		t.Fatalf("mark the page: %v", err)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(button)))
	for {
		fresh, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.agoraOldPage === undefined && document.readyState === "complete"`))
		if err == nil && fresh {
			break
		}
		if tctx.Err() != nil {
			t.Fatalf("no new page after clicking %s", button)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitPath(t, ctx, h.URL, want)
}

// value returns a form control's current value.
func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

// fetch GETs a path of the hub with a token and returns status, the
// X-Error-Code and the body.
func fetch(t *testing.T, h *Hub, path, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("X-Error-Code"), string(b)
}

func TestWebTenancy(t *testing.T) {
	chromium := testenv.MustHaveExecPath(t, "chromium")
	h := StartHub(t, HubOptions{})
	aliceToken := h.Admin(t, "user", "add", "alice", "--password", alicePassword)
	h.Admin(t, "user", "add", "bob", "--password", bobPassword)
	bobToken := h.Admin(t, "token", "add", "bob", "--read")
	apiCreate(t, h, aliceToken, "gated-model", false, map[string]string{"README.md": gatedCard, "weights.txt": gatedWeights})
	apiCreate(t, h, aliceToken, "other-model", true, map[string]string{"config.json": "{}\n"})
	shots := newScreenshots(t)
	ctx := newBrowser(t, chromium)
	signIn(t, ctx, h, "alice", alicePassword)

	t.Run("org admin adds a member and changes a role", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(h.URL+"/organizations/new"),
			chromedp.SetValue(chromedp.CSS(`input[name=name]`), "acme"),
			chromedp.SetValue(chromedp.CSS(`input[name=fullname]`), "Acme Lab"),
			chromedp.Click(chromedp.CSS(`form.stack button.primary`)),
		)
		waitPath(t, ctx, h.URL, "/acme")
		if head := text(t, ctx, ".user-head"); !strings.Contains(head, "Acme Lab") || !strings.Contains(head, "You are admin") {
			t.Errorf("org profile head = %q", head)
		}
		members := "/organizations/acme/settings/members"
		do(t, ctx, chromedp.Click(chromedp.CSS(`a[href="`+members+`"]`)))
		waitPath(t, ctx, h.URL, members)
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`form.add-member input[name=user]`), "bob"),
			chromedp.SetValue(chromedp.CSS(`form.add-member select[name=role]`), "read"),
		)
		submit(t, ctx, h, `form.add-member button.primary`, members)
		if got := value(t, ctx, `select[aria-label="Role of bob"]`); got != "read" {
			t.Fatalf("bob's role after adding = %q", got)
		}
		shots.take(t, ctx, "org-members")
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`select[aria-label="Role of bob"]`), "write"),
		)
		submit(t, ctx, h, `form.role-form:has(select[aria-label="Role of bob"]) button`, members)
		if got := value(t, ctx, `select[aria-label="Role of bob"]`); got != "write" {
			t.Errorf("bob's role after the change = %q, want write", got)
		}
		// The API sees the same membership.
		status, _, body := fetch(t, h, "/api/whoami-v2", bobToken)
		if status != 200 || !strings.Contains(body, `"name":"acme"`) || !strings.Contains(body, `"roleInOrg":"write"`) {
			t.Errorf("bob's whoami after the change: %d %s", status, body)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/acme"))
		shots.take(t, ctx, "org-profile")
	})

	t.Run("a user fills the gating form, the owner accepts, the user downloads", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/gated-model/settings"),
			chromedp.SetValue(chromedp.CSS(`select[name=gated]`), "manual"),
		)
		submit(t, ctx, h, `form:has(select[name=gated]) button`, "/alice/gated-model/settings")
		if got := value(t, ctx, `select[name=gated]`); got != "manual" {
			t.Fatalf("gating after saving = %q", got)
		}
		signOut(t, ctx, h)
		signIn(t, ctx, h, "bob", bobPassword)
		if status, code, _ := fetch(t, h, "/alice/gated-model/resolve/main/weights.txt", bobToken); status != 403 || code != "GatedRepo" {
			t.Errorf("download before the request: %d %s", status, code)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/gated-model"))
		if gate := text(t, ctx, "section.gate"); !strings.Contains(gate, "Request access to the browser model") || !strings.Contains(gate, "terms") {
			t.Errorf("gate panel = %q", gate)
		}
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`input[name="field:Company"]`), "Bob Labs"),
			chromedp.SetValue(chromedp.CSS(`select[name="field:Country"]`), "FR"),
			chromedp.SetValue(chromedp.CSS(`select[name="field:Purpose"]`), "commercial"),
			chromedp.SetValue(chromedp.CSS(`input[name="field:Start date"]`), "2026-01-15"),
			chromedp.Click(chromedp.CSS(`input[name="field:I agree to the licence"]`)),
		)
		shots.take(t, ctx, "gate-form")
		submit(t, ctx, h, `form.gate-form button.primary`, "/alice/gated-model")
		if gate := text(t, ctx, "section.gate"); !strings.Contains(gate, "awaiting a review") {
			t.Errorf("after the request, gate panel = %q", gate)
		}
		if status, code, _ := fetch(t, h, "/alice/gated-model/resolve/main/weights.txt", bobToken); status != 403 || code != "GatedRepo" {
			t.Errorf("download while pending: %d %s", status, code)
		}
		signOut(t, ctx, h)
		signIn(t, ctx, h, "alice", alicePassword)
		reqs := "/alice/gated-model/settings/access-requests"
		do(t, ctx, chromedp.Navigate(h.URL+reqs))
		list := text(t, ctx, "table.requests")
		for _, want := range []string{"bob", "Bob Labs", "FR", "commercial", "2026-01-15", "true"} {
			if !strings.Contains(list, want) {
				t.Errorf("pending requests lack %q:\n%s", want, list)
			}
		}
		shots.take(t, ctx, "access-requests")
		submit(t, ctx, h, `button[aria-label="Accept bob"]`, reqs+"?status=pending")
		status, _, body := fetch(t, h, "/alice/gated-model/resolve/main/weights.txt", bobToken)
		if status != 200 || body != gatedWeights {
			t.Errorf("download after acceptance: %d %q", status, body)
		}
		do(t, ctx, chromedp.Navigate(h.URL+reqs+"?status=accepted"))
		if list := text(t, ctx, "table.requests"); !strings.Contains(list, "bob") {
			t.Errorf("accepted list = %q", list)
		}
	})

	t.Run("a fine-grained token is created, used and revoked", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(h.URL+"/settings/tokens"),
			chromedp.SetValue(chromedp.CSS(`form.token-form input[name=name]`), "ci-fine"),
			chromedp.SetValue(chromedp.CSS(`select[name=expires_in]`), "30d"),
			chromedp.Click(chromedp.CSS(`input[name=role][value=fineGrained]`)),
			chromedp.Click(chromedp.CSS(`input[name=scope][value="model:alice/gated-model=repo.content.read"]`)),
		)
		shots.take(t, ctx, "token-form")
		do(t, ctx, chromedp.Click(chromedp.CSS(`form.token-form button.primary`)),
			chromedp.WaitVisible(chromedp.CSS(`#token-secret`)))
		secret := strings.TrimSpace(text(t, ctx, "#token-secret"))
		if !strings.HasPrefix(secret, "hf_") {
			t.Fatalf("token = %q", secret)
		}
		status, _, body := fetch(t, h, "/api/whoami-v2", secret)
		var who struct {
			Auth struct {
				AccessToken struct {
					Role        string `json:"role"`
					FineGrained struct {
						Scoped []struct {
							Entity struct {
								Name string `json:"name"`
							} `json:"entity"`
							Permissions []string `json:"permissions"`
						} `json:"scoped"`
					} `json:"fineGrained"`
				} `json:"accessToken"`
			} `json:"auth"`
		}
		if err := json.Unmarshal([]byte(body), &who); status != 200 || err != nil {
			t.Fatalf("whoami with the fine-grained token: %d %v %s", status, err, body)
		}
		at := who.Auth.AccessToken
		if at.Role != "fineGrained" || len(at.FineGrained.Scoped) != 1 || at.FineGrained.Scoped[0].Entity.Name != "alice/gated-model" {
			t.Errorf("whoami accessToken = %+v", at)
		}
		if status, _, body := fetch(t, h, "/alice/gated-model/resolve/main/weights.txt", secret); status != 200 || body != gatedWeights {
			t.Errorf("download in scope: %d", status)
		}
		// A private repository outside the scope is refused.
		if status, _, _ := fetch(t, h, "/alice/other-model/resolve/main/config.json", secret); status != 403 && status != 404 {
			t.Errorf("download outside the scope: %d, want 403 or 404", status)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/settings/tokens"))
		if list := text(t, ctx, "table.tokens"); !strings.Contains(list, "ci-fine") || !strings.Contains(list, "model:alice/gated-model") ||
			!strings.Contains(list, "repo.content.read") || strings.Contains(list, secret) {
			t.Errorf("token list = %q", list)
		}
		shots.take(t, ctx, "tokens-fine")
		submit(t, ctx, h, `button[aria-label="Revoke ci-fine"]`, "/settings/tokens")
		if list := text(t, ctx, "main"); strings.Contains(list, "ci-fine") {
			t.Errorf("the revoked token is still listed")
		}
		if status, _, _ := fetch(t, h, "/api/whoami-v2", secret); status != 401 {
			t.Errorf("whoami with the revoked token: %d, want 401", status)
		}
	})
}
