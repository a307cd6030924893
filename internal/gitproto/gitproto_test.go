package gitproto

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

func pkt(lines ...string) []byte {
	var b []byte
	for _, l := range lines {
		switch l {
		case "0000", "0001", "0002":
			b = append(b, l...)
		default:
			b = appendPkt(b, []byte(l))
		}
	}
	return b
}

func TestPktLine(t *testing.T) {
	in := pkt("hello\n", "0001", "world", "0000", "0002")
	pr := newPktReader(bytes.NewReader(in))
	want := []struct {
		kind int
		text string
	}{{pktData, "hello"}, {pktDelim, ""}, {pktData, "world"}, {pktFlush, ""}, {pktEnd, ""}}
	for i, w := range want {
		k, s, err := pr.line()
		if err != nil || k != w.kind || s != w.text {
			t.Fatalf("packet %d = %d %q %v, want %d %q", i, k, s, err, w.kind, w.text)
		}
	}
	if _, _, err := pr.next(); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
	for _, bad := range []string{"00", "zzzz", "0003", "0004x", "fff0" + strings.Repeat("a", 10)} {
		_, _, err := newPktReader(strings.NewReader(bad)).next()
		if bad == "0004x" {
			continue // "0004" is a valid empty packet
		}
		if !errors.Is(err, errPktInvalid) {
			t.Errorf("%q: err = %v, want errPktInvalid", bad, err)
		}
	}
	var buf bytes.Buffer
	pw := &pktWriter{w: &buf}
	pw.linef("a %d", 1)
	pw.flush()
	if buf.String() != "0008a 1\n0000" {
		t.Errorf("writer = %q", buf.String())
	}
	pw.write(make([]byte, maxPktPayload+1))
	if pw.err == nil {
		t.Error("oversized payload written")
	}
}

func TestSideband(t *testing.T) {
	var buf bytes.Buffer
	pw := &pktWriter{w: &buf}
	data := bytes.Repeat([]byte("x"), 3000)
	(&sideband{pw: pw, band: 1, max: 1000}).Write(data)
	pr := newPktReader(&buf)
	var got []byte
	for {
		k, p, err := pr.next()
		if err == io.EOF {
			break
		}
		if err != nil || k != pktData || p[0] != 1 || len(p)+4 > 1000 {
			t.Fatalf("packet %d bytes, band %d, %v", len(p), p[0], err)
		}
		got = append(got, p[1:]...)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("sideband data differs")
	}
}

func FuzzPktLine(f *testing.F) {
	f.Add(pkt("want 0123456789012345678901234567890123456789 side-band-64k\n", "0000", "done"))
	f.Add([]byte("0000000100020004"))
	f.Add([]byte("ffff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pr := newPktReader(bytes.NewReader(data))
		var out []byte
		for range 10000 {
			k, p, err := pr.next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, errPktInvalid) {
					t.Fatalf("error of no known kind: %v", err)
				}
				if err == io.EOF && !bytes.Equal(out, lowerLengths(data)) {
					t.Fatalf("re-encoding differs from a fully read input")
				}
				return
			}
			if len(p) > maxPktPayload {
				t.Fatalf("payload of %d bytes", len(p))
			}
			switch k {
			case pktFlush:
				out = append(out, "0000"...)
			case pktDelim:
				out = append(out, "0001"...)
			case pktEnd:
				out = append(out, "0002"...)
			default:
				out = appendPkt(out, p)
			}
		}
	})
}

type testHub struct {
	url          string
	svc          *hub.Service
	token, other string
	readToken    string
}

func newTestHub(t testing.TB, cfg Config) *testHub {
	m, b := storetest.Local(t)
	lg := slog.New(slog.DiscardHandler)
	svc, err := hub.New(t.Context(), lg, hub.DefaultConfig(), m, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(New(lg, srv, svc, cfg))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	th := &testHub{url: ts.URL, svc: svc}
	mk := func(name, role string) string {
		u, err := m.UserByName(t.Context(), name)
		if err != nil {
			u = &meta.User{Name: name}
			if err := m.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		secret := auth.NewTokenSecret()
		if err := m.CreateToken(t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(secret), Role: role}); err != nil {
			t.Fatal(err)
		}
		return string(secret)
	}
	th.token, th.readToken, th.other = mk("alice", meta.RoleWrite), mk("alice", meta.RoleRead), mk("bob", meta.RoleWrite)
	who, err := svc.Authenticate(t.Context(), auth.Secret(th.token))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		name    string
		private bool
	}{{"pub", false}, {"priv", true}} {
		if _, err := svc.CreateRepo(t.Context(), who, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: r.name}, hub.CreateRepoOptions{Private: r.private}); err != nil {
			t.Fatal(err)
		}
	}
	manual := "manual"
	if _, err := svc.CreateRepo(t.Context(), who, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "gated"}, hub.CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateSettings(t.Context(), who, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "gated"}, hub.RepoSettings{Gated: &manual}); err != nil {
		t.Fatal(err)
	}
	return th
}

func (th *testHub) do(t *testing.T, method, path, token string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, th.url+path, bytes.NewReader(body))
	if token != "" {
		req.SetBasicAuth("git", token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestAdvertisementAndAccess(t *testing.T) {
	th := newTestHub(t, Config{})
	cases := []struct {
		name, path, token string
		hdr               map[string]string
		status            int
		contains          string
	}{
		{name: "v0 upload", path: "/alice/pub.git/info/refs?service=git-upload-pack", status: 200, contains: "symref=HEAD:refs/heads/main"},
		{name: "v0 upload without .git", path: "/alice/pub/info/refs?service=git-upload-pack", status: 200, contains: "# service=git-upload-pack"},
		{name: "v2", path: "/alice/pub.git/info/refs?service=git-upload-pack", hdr: map[string]string{"Git-Protocol": "version=2"}, status: 200, contains: "fetch=shallow"},
		{name: "dumb http", path: "/alice/pub.git/info/refs", status: 403, contains: "smart HTTP"},
		{name: "receive needs a token", path: "/alice/pub.git/info/refs?service=git-receive-pack", status: 401},
		{name: "receive", path: "/alice/pub.git/info/refs?service=git-receive-pack", token: "T", status: 200, contains: "report-status delete-refs ofs-delta no-thin atomic quiet"},
		{name: "receive read-only", path: "/alice/pub.git/info/refs?service=git-receive-pack", token: "R", status: 403, contains: "read-only"},
		{name: "receive other user", path: "/alice/pub.git/info/refs?service=git-receive-pack", token: "O", status: 403},
		{name: "private anonymous", path: "/alice/priv.git/info/refs?service=git-upload-pack", status: 401},
		{name: "missing anonymous", path: "/alice/nope.git/info/refs?service=git-upload-pack", status: 401},
		{name: "private other user", path: "/alice/priv.git/info/refs?service=git-upload-pack", token: "O", status: 404, contains: "Repository not found"},
		{name: "private owner", path: "/alice/priv.git/info/refs?service=git-upload-pack", token: "T", status: 200},
		{name: "private read token", path: "/alice/priv.git/info/refs?service=git-upload-pack", token: "R", status: 200},
		{name: "gated anonymous", path: "/alice/gated.git/info/refs?service=git-upload-pack", status: 401, contains: "restricted"},
		{name: "gated other user", path: "/alice/gated.git/info/refs?service=git-upload-pack", token: "O", status: 403, contains: "restricted"},
		{name: "gated owner", path: "/alice/gated.git/info/refs?service=git-upload-pack", token: "T", status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := map[string]string{"": "", "T": th.token, "R": th.readToken, "O": th.other}[tc.token]
			resp, body := th.do(t, "GET", tc.path, tok, tc.hdr, nil)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.contains)
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="Agora"` {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestLsRefsGzip sends a v2 ls-refs compressed, as git does for large
// requests.
func TestLsRefsGzip(t *testing.T) {
	th := newTestHub(t, Config{})
	var body bytes.Buffer
	z := gzip.NewWriter(&body)
	z.Write(pkt("command=ls-refs\n", "agent=git/2.39\n", "0001", "symrefs\n", "ref-prefix HEAD\n", "0000"))
	z.Close()
	resp, out := th.do(t, "POST", "/alice/pub.git/git-upload-pack", "", map[string]string{
		"Git-Protocol": "version=2", "Content-Encoding": "gzip", "Content-Type": "application/x-git-upload-pack-request"}, body.Bytes())
	if resp.StatusCode != 200 || !strings.Contains(string(out), " HEAD symref-target:refs/heads/main\n") || strings.Contains(string(out), " refs/heads/main\n") {
		t.Fatalf("%d %q", resp.StatusCode, out)
	}
}

// TestFetchV2 fetches the whole repository and reads the pack back.
func TestFetchV2(t *testing.T) {
	th := newTestHub(t, Config{})
	_, adv := th.do(t, "POST", "/alice/pub/git-upload-pack", "", map[string]string{"Git-Protocol": "version=2"},
		pkt("command=ls-refs\n", "0001", "0000"))
	head := string(adv[4:44])
	resp, out := th.do(t, "POST", "/alice/pub/git-upload-pack", "", map[string]string{"Git-Protocol": "version=2"},
		pkt("command=fetch\n", "0001", "want "+head+"\n", "no-progress\n", "done\n", "0000"))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %q", resp.StatusCode, out)
	}
	pr := newPktReader(bytes.NewReader(out))
	if _, l, _ := pr.line(); l != "packfile" {
		t.Fatalf("first section %q", l)
	}
	var pack []byte
	for {
		k, p, err := pr.next()
		if err != nil || k == pktFlush {
			break
		}
		if p[0] != 1 {
			t.Fatalf("band %d: %q", p[0], p[1:])
		}
		pack = append(pack, p[1:]...)
	}
	pf, err := packfile.Read(bytes.NewReader(pack), packfile.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := gitobj.ParseID(head)
	if o, ok := pf.Objects[id]; !ok || o.Kind != gitobj.KindCommit {
		t.Errorf("pack lacks the head commit: %d objects", len(pf.Objects))
	}
	// An unknown want is an ERR packet.
	_, out = th.do(t, "POST", "/alice/pub/git-upload-pack", "", map[string]string{"Git-Protocol": "version=2"},
		pkt("command=fetch\n", "0001", "want "+strings.Repeat("1", 40)+"\n", "done\n", "0000"))
	if !strings.Contains(string(out), "ERR not our ref") {
		t.Errorf("unknown want: %q", out)
	}
}

// TestPushLimit refuses a pack larger than the limit with a clear unpack
// error, and changes nothing.
func TestPushLimit(t *testing.T) {
	th := newTestHub(t, Config{MaxPushSize: 4096})
	_, adv := th.do(t, "GET", "/alice/pub.git/info/refs?service=git-receive-pack", th.token, nil, nil)
	i := strings.Index(string(adv), "refs/heads/main")
	old := string(adv[i-41 : i-1])
	blob := gitobj.Object{Kind: gitobj.KindBlob, Data: bytes.Repeat([]byte("random-ish "), 1)}
	var pack bytes.Buffer
	w, _ := packfile.NewWriter(&pack, 2)
	w.Write(blob)
	big := make([]byte, 64<<10)
	rand.Read(big)
	w.Write(gitobj.Object{Kind: gitobj.KindBlob, Data: big})
	w.Close()
	body := append(pkt(old+" "+strings.Repeat("2", 40)+" refs/heads/main\x00report-status\n", "0000"), pack.Bytes()...)
	resp, out := th.do(t, "POST", "/alice/pub.git/git-receive-pack", th.token, nil, body)
	if resp.StatusCode != 200 || !strings.Contains(string(out), "unpack pack exceeds a limit") || !strings.Contains(string(out), "ng refs/heads/main unpacker error") {
		t.Fatalf("%d %q", resp.StatusCode, out)
	}
	_, adv2 := th.do(t, "GET", "/alice/pub.git/info/refs?service=git-receive-pack", th.token, nil, nil)
	if !bytes.Equal(adv, adv2) {
		t.Error("refs changed after a refused push")
	}
}

// lowerLengths returns data with the hex length of every packet in lower
// case: git (and our reader) accept upper-case digits, writers emit lower.
func lowerLengths(data []byte) []byte {
	out := bytes.Clone(data)
	for i := 0; i+4 <= len(out); {
		hdr := bytes.ToLower(out[i : i+4])
		copy(out[i:], hdr)
		n, ok := parseHex4([4]byte(hdr))
		if !ok {
			break
		}
		if n < 4 {
			i += 4
			continue
		}
		i += n
	}
	return out
}
