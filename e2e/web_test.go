package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/agorahub/agora/internal/testenv"
)

// The web UI in a real headless Chromium, against a real `agora serve`:
// a visitor searches, opens a model, reads its card and downloads a
// file; alice signs in, creates a token and uses it with the JS client,
// creates a repository in the browser, uploads to it and finds it
// listed; a private repository stays invisible to the signed-out visitor.
//
// Screenshots of the main pages go to $AGORA_E2E_SCREENSHOTS when it is
// set (e2e/testdata/web/screenshots is ignored by git), else to a
// temporary directory.

const (
	alicePassword = "correct horse battery staple"
	demoCard      = `---
license: apache-2.0
language:
- en
library_name: transformers
pipeline_tag: text-generation
tags:
- browser-test
---
# Browser demo

This model card is **rendered** by the hub. It has a table:

| Split | Rows |
|-------|-----:|
| train | 1000 |

<script>document.title = "pwned"</script>
`
	demoConfig = `{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64}` + "\n"
)

// apiCreate creates a repository with files through the HF API.
func apiCreate(t *testing.T, h *Hub, token, name string, private bool, files map[string]string) {
	t.Helper()
	type file struct {
		Path     string `json:"path"`
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
	}
	body := map[string]any{"name": name, "organization": "alice", "type": "model", "private": private}
	var fs []file
	for p, c := range files {
		fs = append(fs, file{Path: p, Content: c, Encoding: "utf-8"})
	}
	body["files"] = fs
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.URL+"/api/repos/create", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create %s: status %d", name, res.StatusCode)
	}
}

// newBrowser starts headless Chromium with a fresh profile and the flags
// that keep it off the network (this machine has none).
func newBrowser(t *testing.T, execPath string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps with a deadline.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitPath waits until the page's address has the given path and query.
func waitPath(t *testing.T, ctx context.Context, hubURL, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.TrimPrefix(loc, hubURL) == want {
			// The new document is there; let it finish loading.
			do(t, ctx, chromedp.WaitReady(chromedp.CSS("footer.foot")))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("page stayed at %q, want %s%s (%v)", loc, hubURL, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshots saves full-page screenshots in one directory.
type screenshots struct {
	dir string
	n   int
}

func newScreenshots(t *testing.T) *screenshots {
	dir := os.Getenv("AGORA_E2E_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &screenshots{dir: dir}
}

func (s *screenshots) take(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// runClient runs js/web-client.mjs with the JS client and returns its
// output.
func runClient(t *testing.T, env ...string) string {
	t.Helper()
	testenv.MustHaveExecPath(t, "node")
	if _, err := os.Stat("node_modules/@huggingface/hub"); err != nil {
		if testenv.Required() {
			t.Fatal("e2e/node_modules missing: run `npm ci` in e2e/")
		}
		t.Skip("e2e/node_modules missing: run `npm ci` in e2e/")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "js/web-client.mjs")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node js/web-client.mjs: %v\n%s", err, out)
	}
	return string(out)
}

func TestWebBrowser(t *testing.T) {
	chromium := testenv.MustHaveExecPath(t, "chromium")
	h := StartHub(t, HubOptions{})
	aliceToken := h.Admin(t, "user", "add", "alice", "--password", alicePassword)
	apiCreate(t, h, aliceToken, "web-demo", false, map[string]string{"README.md": demoCard, "config.json": demoConfig})
	apiCreate(t, h, aliceToken, "web-private", true, map[string]string{"README.md": "# Private plans\n"})
	shots := newScreenshots(t)
	ctx := newBrowser(t, chromium)

	t.Run("search, read the card, download a file", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(h.URL+"/"))
		shots.take(t, ctx, "home")
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`header form.search input[name=search]`), "web-demo"),
			chromedp.Submit(chromedp.CSS(`header form.search`)),
		)
		waitPath(t, ctx, h.URL, "/models?search=web-demo")
		shots.take(t, ctx, "search")
		do(t, ctx, chromedp.Click(chromedp.CSS(`a.repo-id[href="/alice/web-demo"]`)))
		waitPath(t, ctx, h.URL, "/alice/web-demo")
		card := text(t, ctx, ".markdown")
		if !strings.Contains(card, "Browser demo") || !strings.Contains(card, "rendered by the hub") || !strings.Contains(card, "1000") {
			t.Errorf("card text = %q", card)
		}
		if title, _ := chromedp.Run(ctx, chromedp.Title()); title == "pwned" {
			t.Error("a script in the card ran")
		}
		details := text(t, ctx, ".side")
		for _, want := range []string{"apache-2.0", "text-generation", "transformers", "git clone " + h.URL + "/alice/web-demo"} {
			if !strings.Contains(details, want) {
				t.Errorf("side panel lacks %q:\n%s", want, details)
			}
		}
		shots.take(t, ctx, "repo")

		do(t, ctx, chromedp.Click(chromedp.CSS(`nav.tabs a[href="/alice/web-demo/tree/main"]`)))
		waitPath(t, ctx, h.URL, "/alice/web-demo/tree/main")
		shots.take(t, ctx, "tree")
		dir := t.TempDir()
		progress := chromedp.Events(ctx, browser.DownloadProgress)
		do(t, ctx,
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				eventsOn := true
				_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
					Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &eventsOn,
				})
				return err
			}),
			chromedp.Click(chromedp.CSS(`a[download][href="/alice/web-demo/resolve/main/config.json?download=true"]`)),
		)
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var got []byte
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatal("download canceled")
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				if got, err = os.ReadFile(filepath.Join(dir, ev.GUID)); err != nil {
					t.Fatal(err)
				}
				break
			}
			if dctx.Err() != nil {
				t.Fatal("download did not complete")
			}
		}
		if string(got) != demoConfig {
			t.Errorf("downloaded config.json = %q, want %q", got, demoConfig)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/web-demo/blob/main/config.json"))
		if code := text(t, ctx, "pre.code"); !strings.Contains(code, "LlamaForCausalLM") {
			t.Errorf("blob view = %q", code)
		}
		shots.take(t, ctx, "blob")
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/web-demo/commits/main"))
		shots.take(t, ctx, "commits")
	})

	t.Run("private repository invisible when signed out", func(t *testing.T) {
		for _, p := range []string{"/", "/models?search=web", "/alice"} {
			do(t, ctx, chromedp.Navigate(h.URL+p))
			if body := text(t, ctx, "main"); strings.Contains(body, "web-private") || strings.Contains(body, "Private plans") {
				t.Errorf("signed-out %s shows the private repository", p)
			}
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/web-private"))
		if h1 := text(t, ctx, "main h1"); h1 != "404 · Not found" {
			t.Errorf("private repository page heading = %q, want the 404 page", h1)
		}
		shots.take(t, ctx, "not-found")
	})

	var token string
	t.Run("sign in, create a token, use it with the JS client", func(t *testing.T) {
		do(t, ctx, chromedp.Navigate(h.URL+"/login"))
		shots.take(t, ctx, "login")
		do(t, ctx,
			chromedp.SetValue(chromedp.CSS(`input[name=username]`), "alice"),
			chromedp.SetValue(chromedp.CSS(`input[name=password]`), alicePassword),
			chromedp.Click(chromedp.CSS(`form.stack button.primary`)),
		)
		waitPath(t, ctx, h.URL, "/")
		if me := text(t, ctx, "a.me"); me != "alice" {
			t.Fatalf("signed in as %q", me)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/settings/tokens"),
			chromedp.SetValue(chromedp.CSS(`input[name=name]`), "from-the-browser"),
			chromedp.Click(chromedp.CSS(`input[name=role][value=write]`)),
			chromedp.Click(chromedp.CSS(`form.stack button.primary`)),
			chromedp.WaitVisible(chromedp.CSS(`#token-secret`)),
		)
		token = strings.TrimSpace(text(t, ctx, "#token-secret"))
		if !strings.HasPrefix(token, "hf_") {
			t.Fatalf("token = %q", token)
		}
		shots.take(t, ctx, "token-created")
		out := runClient(t, "HUB_URL="+h.URL, "TOKEN="+token)
		if !strings.Contains(out, `{"name":"alice","role":"write"}`) {
			t.Errorf("whoAmI with the new token:\n%s", out)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/settings/tokens"))
		if list := text(t, ctx, "table.tokens"); !strings.Contains(list, "from-the-browser") || strings.Contains(list, token) {
			t.Errorf("token list = %q", list)
		}
		shots.take(t, ctx, "tokens")
	})

	t.Run("create a repository, upload, see it listed", func(t *testing.T) {
		if token == "" {
			t.Skip("no token")
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/new"),
			chromedp.SetValue(chromedp.CSS(`input[name=name]`), "made-in-browser"))
		shots.take(t, ctx, "new")
		do(t, ctx, chromedp.Click(chromedp.CSS(`form.stack button.primary`)))
		waitPath(t, ctx, h.URL, "/alice/made-in-browser")
		runClient(t, "HUB_URL="+h.URL, "TOKEN="+token, "REPO=alice/made-in-browser",
			"CARD=---\nlicense: mit\npipeline_tag: text-classification\n---\n# Made in the browser\n\nUploaded with the JS client.\n")
		do(t, ctx, chromedp.Navigate(h.URL+"/models?sort=updated"))
		if list := text(t, ctx, "ul.repos"); !strings.Contains(list, "alice/made-in-browser") {
			t.Errorf("new repository not listed:\n%s", list)
		}
		shots.take(t, ctx, "listing")
		do(t, ctx, chromedp.Navigate(h.URL+"/models?pipeline_tag=text-classification"))
		if list := text(t, ctx, "ul.repos"); !strings.Contains(list, "alice/made-in-browser") {
			t.Errorf("new repository not found by its task:\n%s", list)
		}
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/made-in-browser"))
		if card := text(t, ctx, ".markdown"); !strings.Contains(card, "Made in the browser") {
			t.Errorf("card after upload = %q", card)
		}
		shots.take(t, ctx, "uploaded-repo")
		do(t, ctx, chromedp.Navigate(h.URL+"/alice/made-in-browser/settings"))
		shots.take(t, ctx, "settings")
		do(t, ctx, chromedp.Navigate(h.URL+"/alice"))
		if page := text(t, ctx, "main"); !strings.Contains(page, "alice/made-in-browser") || !strings.Contains(page, "alice/web-private") {
			t.Errorf("alice's page lacks her repositories:\n%s", page)
		}
		shots.take(t, ctx, "user")
	})
}
