package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/limits"
	"github.com/agorahub/agora/internal/meta"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// routes is a Router serving fixed paths.
type routes map[string]http.Handler

func (rt routes) Route(r *http.Request, _ []string) http.Handler { return rt[r.URL.Path] }

// tokens authenticates secrets named after users; "admin" is one.
type tokens struct{}

func (tokens) Authenticate(_ context.Context, secret auth.Secret) (*auth.Identity, error) {
	ids := map[auth.Secret]int64{"alice": 1, "bob": 2, "admin": 3}
	id, ok := ids[secret]
	if !ok {
		return nil, &hub.Error{Kind: hub.ErrUnauthenticated, Msg: "Invalid credentials in Authorization header"}
	}
	return &auth.Identity{User: &meta.User{ID: id, Name: string(secret), IsAdmin: secret == "admin"}, Role: meta.RoleWrite}, nil
}

// testHandlers are the routes the timeout tests drive.
func testHandlers(s *Server) routes {
	return routes{
		// /api/echo reads the body and says how long it was.
		"/api/echo": s.Adapt(WriteJSONError, func(w http.ResponseWriter, r *http.Request) error {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				return err
			}
			WriteJSON(w, r, http.StatusOK, map[string]int64{"read": n})
			return nil
		}),
		// /api/think reads the body, works for a while, then answers: the
		// wait must not count against the client.
		"/api/think": s.Adapt(WriteJSONError, func(w http.ResponseWriter, r *http.Request) error {
			buf := make([]byte, 1024)
			n, err := io.ReadFull(r.Body, buf)
			if err != nil {
				return err
			}
			time.Sleep(5 * time.Second)
			m, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				return err
			}
			time.Sleep(15 * time.Second)
			if err := r.Context().Err(); err != nil {
				return fmt.Errorf("context ended after the body was read: %w", err)
			}
			WriteJSON(w, r, http.StatusOK, map[string]int64{"read": int64(n) + m})
			return nil
		}),
		// /api/ignore answers without reading the body.
		"/api/ignore": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ignored"})
		}),
		// /api/late writes its answer, then works past the write idle
		// timeout before returning: the buffered answer must still go.
		"/api/late": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, r, http.StatusOK, map[string]string{"status": "done"})
			time.Sleep(time.Minute)
		}),
		// /big writes 1 MiB.
		"/big": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(1<<20))
			w.Write(bytes.Repeat([]byte("x"), 1<<20))
		}),
	}
}

// pipeNet serves a Server over in-memory connections, so that deadlines
// run on synctest's clock. Connections claim to come from TCP addresses,
// which the per-address cap counts.
type pipeNet struct {
	conns   chan net.Conn
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	clients []net.Conn
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})} }

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error   { p.once.Do(func() { close(p.done) }); return nil }
func (p *pipeNet) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

// tcpPipe is the server's end of a pipe, posing as a TCP connection: it
// has a TCP remote address, and an expired deadline fails a read or write
// before anything else (a pipe would pick at random between an expired
// deadline and a ready peer).
type tcpPipe struct {
	net.Conn
	remote net.Addr
	mu     sync.Mutex
	rd, wd time.Time
}

func (c *tcpPipe) RemoteAddr() net.Addr { return c.remote }

func (c *tcpPipe) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rd = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *tcpPipe) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wd = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *tcpPipe) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func expired(mu *sync.Mutex, d *time.Time) bool {
	mu.Lock()
	defer mu.Unlock()
	return !d.IsZero() && !time.Now().Before(*d)
}

func (c *tcpPipe) Read(p []byte) (int, error) {
	if expired(&c.mu, &c.rd) {
		return 0, os.ErrDeadlineExceeded
	}
	return c.Conn.Read(p)
}

func (c *tcpPipe) Write(p []byte) (int, error) {
	if expired(&c.mu, &c.wd) {
		return 0, os.ErrDeadlineExceeded
	}
	return c.Conn.Write(p)
}

func (p *pipeNet) dial(ip string) *client {
	c, s := net.Pipe()
	p.mu.Lock()
	p.clients = append(p.clients, c)
	p.mu.Unlock()
	p.conns <- &tcpPipe{Conn: s, remote: &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}}
	return &client{Conn: c, br: bufio.NewReader(c)}
}

func (p *pipeNet) closeClients() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.Close()
	}
}

type client struct {
	net.Conn
	br *bufio.Reader
}

// response reads one response; body is what could be read of it.
func (c *client) response(t *testing.T) (status int, body string) {
	t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// closed reports whether the server closed the connection.
func (c *client) closed() bool {
	_, err := c.br.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe)
}

// runPipeServer runs a server with cfg over a pipeNet until the test ends.
func runPipeServer(t *testing.T, cfg Config, limiter RateLimiter) (*Server, *pipeNet) {
	s, err := New(testLogger(t), cfg, tokens{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if limiter != nil {
		s.SetRateLimiter(limiter)
	}
	s.Mount(testHandlers(s))
	pn := newPipeNet()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, pn); close(done) }()
	t.Cleanup(func() {
		pn.closeClients()
		cancel()
		<-done
	})
	return s, pn
}

var timeoutCfg = Config{BodyIdleTimeout: 10 * time.Second, WriteIdleTimeout: 10 * time.Second, MaxConnsPerIP: 100}

// TestSlowBody: a body that never comes, or comes too slowly, ends with a
// 408 and a closed connection once the client has kept the server waiting
// for the body idle timeout; a slow but steady client and a slow handler
// are fine.
func TestSlowBody(t *testing.T) {
	tests := []struct {
		name string
		path string
		// send writes the body after the headers (declared length 64 KiB).
		send       func(c *client)
		wantStatus int
		wantClosed bool
		// wantWait bounds when the answer comes, on the bubble's clock.
		wantWait [2]time.Duration
	}{
		{
			name:       "promised, never sent",
			path:       "/api/echo",
			send:       func(*client) {},
			wantStatus: http.StatusRequestTimeout, wantClosed: true,
			wantWait: [2]time.Duration{10 * time.Second, 11 * time.Second},
		},
		{
			// The server reads what is left of a body the handler did
			// not read before the next request: that read is bounded too.
			name:       "promised, never sent, never read",
			path:       "/api/ignore",
			send:       func(*client) {},
			wantStatus: http.StatusOK, wantClosed: true,
			wantWait: [2]time.Duration{10 * time.Second, 11 * time.Second},
		},
		{
			name: "trickled a byte a second",
			path: "/api/echo",
			send: func(c *client) {
				for range 60 {
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
					time.Sleep(time.Second)
				}
			},
			wantStatus: http.StatusRequestTimeout, wantClosed: true,
			wantWait: [2]time.Duration{10 * time.Second, 12 * time.Second},
		},
		{
			name: "stalls half-way",
			path: "/api/echo",
			send: func(c *client) {
				c.Write(make([]byte, 32<<10))
			},
			wantStatus: http.StatusRequestTimeout, wantClosed: true,
			wantWait: [2]time.Duration{10 * time.Second, 11 * time.Second},
		},
		{
			name: "slow but steady: 16 KiB every 9 s",
			path: "/api/echo",
			send: func(c *client) {
				for range 4 {
					c.Write(make([]byte, 16<<10))
					time.Sleep(9 * time.Second)
				}
			},
			wantStatus: http.StatusOK,
			wantWait:   [2]time.Duration{27 * time.Second, 37 * time.Second},
		},
		{
			name: "the handler's own pauses are not the client's",
			path: "/api/think",
			send: func(c *client) {
				c.Write(make([]byte, 64<<10))
			},
			wantStatus: http.StatusOK,
			wantWait:   [2]time.Duration{20 * time.Second, 20 * time.Second},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, pn := runPipeServer(t, timeoutCfg, nil)
				c := pn.dial("192.0.2.1")
				start := time.Now()
				sent := make(chan struct{})
				go func() {
					defer close(sent)
					fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: hub\r\nContent-Length: %d\r\n\r\n", tc.path, 64<<10)
					tc.send(c)
				}()
				defer func() { <-sent }()
				status, body := c.response(t)
				waited := time.Since(start)
				if status != tc.wantStatus {
					t.Fatalf("status %d (%s), want %d", status, body, tc.wantStatus)
				}
				if waited < tc.wantWait[0] || waited > tc.wantWait[1] {
					t.Errorf("answered after %v, want between %v and %v", waited, tc.wantWait[0], tc.wantWait[1])
				}
				if tc.wantStatus == http.StatusOK && tc.path != "/api/ignore" && !strings.Contains(body, `"read":65536`) {
					t.Errorf("body %s, want the whole 64 KiB read", body)
				}
				if tc.wantClosed {
					if !c.closed() {
						t.Error("connection still open")
					}
					return
				}
				// Still usable.
				go fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
				if status, _ := c.response(t); status != http.StatusOK {
					t.Errorf("next request on the connection: %d", status)
				}
			})
		})
	}
}

// TestSlowReader: a client that stops reading a response loses the
// connection after the write idle timeout; one that reads slowly but
// steadily gets all of it.
func TestSlowReader(t *testing.T) {
	tests := []struct {
		name     string
		read     func(c *client) (int, error) // reads the body
		wantFull bool
	}{
		{"stops reading", func(c *client) (int, error) {
			buf := make([]byte, 8<<10)
			n, err := io.ReadFull(c.br, buf)
			time.Sleep(time.Minute)
			m, err2 := io.Copy(io.Discard, c.br)
			return n + int(m), errors.Join(err, err2)
		}, false},
		{"reads 32 KiB every 2 s", func(c *client) (int, error) {
			buf := make([]byte, 32<<10)
			total := 0
			for {
				n, err := io.ReadFull(c.br, buf)
				total += n
				if err != nil {
					return total, err
				}
				time.Sleep(2 * time.Second)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, pn := runPipeServer(t, timeoutCfg, nil)
				c := pn.dial("192.0.2.1")
				go fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: hub\r\n\r\n")
				resp, err := http.ReadResponse(c.br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
				n, _ := tc.read(c)
				if full := n == 1<<20; full != tc.wantFull {
					t.Fatalf("read %d bytes of %d (full = %v, want %v)", n, 1<<20, full, tc.wantFull)
				}
			})
		})
	}
}

// TestLateReturn: a handler that answers and then works past the write
// idle timeout still gets its buffered answer out (the deadline is renewed
// when it returns).
func TestLateReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, pn := runPipeServer(t, timeoutCfg, nil)
		c := pn.dial("192.0.2.1")
		go fmt.Fprintf(c, "GET /api/late HTTP/1.1\r\nHost: hub\r\n\r\n")
		if status, body := c.response(t); status != http.StatusOK || !strings.Contains(body, "done") {
			t.Fatalf("got %d %q", status, body)
		}
	})
}

// TestKeepAliveAfterIdle: deadlines set for one request do not break the
// next on the same connection, even long after (a 100-continue answer is
// written before the handler writes anything).
func TestKeepAliveAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, pn := runPipeServer(t, timeoutCfg, nil)
		c := pn.dial("192.0.2.1")
		go fmt.Fprintf(c, "POST /api/echo HTTP/1.1\r\nHost: hub\r\nContent-Length: 3\r\n\r\nabc")
		if status, body := c.response(t); status != http.StatusOK || !strings.Contains(body, `"read":3`) {
			t.Fatalf("first request: %d %s", status, body)
		}
		time.Sleep(time.Minute) // past both idle timeouts, within the keep-alive one
		go fmt.Fprintf(c, "POST /api/echo HTTP/1.1\r\nHost: hub\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil || resp.StatusCode != http.StatusContinue {
			t.Fatalf("want 100 Continue, got %v, %v", resp, err)
		}
		go fmt.Fprintf(c, "hello")
		if status, body := c.response(t); status != http.StatusOK || !strings.Contains(body, `"read":5`) {
			t.Fatalf("second request: %d %s", status, body)
		}
	})
}

// TestConnCap: connections over the per-address cap are closed at accept;
// other addresses are unaffected, and a closed connection frees its slot.
func TestConnCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := timeoutCfg
		cfg.MaxConnsPerIP = 3
		s, pn := runPipeServer(t, cfg, nil)
		var held []*client
		for range 3 {
			held = append(held, pn.dial("192.0.2.1"))
		}
		over := pn.dial("192.0.2.1")
		synctest.Wait()
		if !over.closed() {
			t.Fatal("a fourth connection from one address was accepted")
		}
		other := pn.dial("::ffff:192.0.2.2")
		go fmt.Fprintf(other, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
		if status, _ := other.response(t); status != http.StatusOK {
			t.Fatalf("another address got %d", status)
		}
		for _, c := range held[:2] {
			go fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
			if status, _ := c.response(t); status != http.StatusOK {
				t.Fatalf("a connection within the cap got %d", status)
			}
		}
		held[0].Close()
		synctest.Wait()
		again := pn.dial("192.0.2.1")
		go fmt.Fprintf(again, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
		if status, _ := again.response(t); status != http.StatusOK {
			t.Fatalf("after one closed, a new connection got %d", status)
		}
		if got := counterValue(t, s, "agora_connections_refused_total", ""); got != 1 {
			t.Errorf("agora_connections_refused_total = %v, want 1", got)
		}
		// Open: held[1], held[2], other and again (the refused one never
		// reached the HTTP server, held[0] was closed).
		if got := counterValue(t, s, "agora_connections_open", ""); got != 4 {
			t.Errorf("agora_connections_open = %v, want 4", got)
		}
		for _, c := range []*client{held[1], held[2], other, again} {
			c.Close()
		}
		synctest.Wait()
		if got := counterValue(t, s, "agora_connections_open", ""); got != 0 {
			t.Errorf("agora_connections_open = %v after every connection closed, want 0", got)
		}
	})
}

// counterValue reads a counter or gauge from the server's registry (the
// one with the given label value, if label is set).
func counterValue(t *testing.T, s *Server, name, label string) float64 {
	t.Helper()
	mfs, err := s.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label {
				if g := m.GetGauge(); g != nil {
					return g.GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestIdleConnections: connections that send nothing, or headers without
// an end, are closed after the header timeout.
func TestIdleConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := timeoutCfg
		cfg.ReadHeaderTimeout = 5 * time.Second
		_, pn := runPipeServer(t, cfg, nil)
		silent := pn.dial("192.0.2.1")
		partial := pn.dial("192.0.2.1")
		go fmt.Fprintf(partial, "GET / HTTP/1.1\r\nHost: hub\r\n")
		start := time.Now()
		for _, c := range []*client{silent, partial} {
			if !c.closed() {
				t.Fatal("connection not closed")
			}
		}
		if waited := time.Since(start); waited < 5*time.Second || waited > 6*time.Second {
			t.Errorf("closed after %v, want the 5 s header timeout", waited)
		}
	})
}

// TestRateLimit drives requests through Handler: each answer carries the
// RateLimit headers of its bucket, a refusal is a 429 with Retry-After,
// signed-in users count apart from their address, admins are exempt.
func TestRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limits.New(testLogger(t), limits.Config{Window: 5 * time.Minute,
			Anonymous: limits.Rates{API: 2, Resolvers: 0, Pages: 1}, User: limits.Rates{API: 3}}, nil)
		s, err := New(testLogger(t), Config{}, tokens{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.SetRateLimiter(l)
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
		s.Mount(routes{"/api/models": ok, "/alice/m/resolve/main/x": ok, "/": ok})
		h := s.Handler()
		type want struct {
			status                     int
			rateLimit, policy, retryAt string
		}
		steps := []struct {
			path, token, addr string
			want              want
		}{
			{"/api/models", "", "192.0.2.1", want{200, `"api";r=1;t=300`, `"fixed window";"api";q=2;w=300`, ""}},
			{"/api/models", "", "192.0.2.1", want{200, `"api";r=0;t=300`, `"fixed window";"api";q=2;w=300`, ""}},
			{"/api/models", "", "192.0.2.1", want{429, `"api";r=0;t=300`, `"fixed window";"api";q=2;w=300`, "300"}},
			{"/api/models", "", "192.0.2.2", want{200, `"api";r=1;t=300`, `"fixed window";"api";q=2;w=300`, ""}},
			// A user from the same address has an allowance of their own.
			{"/api/models", "alice", "192.0.2.1", want{200, `"api";r=2;t=300`, `"fixed window";"api";q=3;w=300`, ""}},
			{"/api/models", "bob", "192.0.2.1", want{200, `"api";r=2;t=300`, `"fixed window";"api";q=3;w=300`, ""}},
			// Unlimited buckets send no headers; exempt paths are not counted.
			{"/alice/m/resolve/main/x", "", "192.0.2.1", want{200, "", "", ""}},
			{"/healthz", "", "192.0.2.1", want{200, "", "", ""}},
			{"/", "", "192.0.2.1", want{200, `"pages";r=0;t=300`, `"fixed window";"pages";q=1;w=300`, ""}},
			{"/", "", "192.0.2.1", want{429, `"pages";r=0;t=300`, `"fixed window";"pages";q=1;w=300`, "300"}},
			// Admins are exempt, however often they call.
			{"/api/models", "admin", "192.0.2.1", want{200, "", "", ""}},
			{"/api/models", "admin", "192.0.2.1", want{200, "", "", ""}},
			{"/api/models", "admin", "192.0.2.1", want{200, "", "", ""}},
			{"/api/models", "admin", "192.0.2.1", want{200, "", "", ""}},
		}
		for i, st := range steps {
			r := httptest.NewRequest(http.MethodGet, st.path, nil)
			r.RemoteAddr = st.addr + ":1234"
			if st.token != "" {
				r.Header.Set("Authorization", "Bearer "+st.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			hd := rec.Result().Header
			got := want{rec.Code, hd.Get("RateLimit"), hd.Get("RateLimit-Policy"), hd.Get("Retry-After")}
			if diff := cmp.Diff(st.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Fatalf("step %d: %s as %q from %s (-want +got):\n%s", i, st.path, st.token, st.addr, diff)
			}
			if rec.Code == http.StatusTooManyRequests && (hd.Get("X-Error-Message") == "" || !strings.Contains(rec.Body.String(), "Too many requests")) {
				t.Errorf("step %d: a refusal without a message: %v %s", i, hd, rec.Body)
			}
		}
		if got := counterValue(t, s, "agora_rate_limited_total", "api"); got != 1 {
			t.Errorf("agora_rate_limited_total{bucket=api} = %v, want 1", got)
		}
		// The next window starts afresh.
		time.Sleep(5 * time.Minute)
		r := httptest.NewRequest(http.MethodGet, "/api/models", nil)
		r.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("next window: %d", rec.Code)
		}
	})
}

func TestLimitAddr(t *testing.T) {
	tests := []struct {
		trust bool
		xff   []string
		want  string
	}{
		{false, nil, "192.0.2.1"},
		{false, []string{"198.51.100.9"}, "192.0.2.1"},
		{true, nil, "192.0.2.1"},
		{true, []string{"198.51.100.9"}, "198.51.100.9"},
		// A client's own header comes first; the proxy appends the truth.
		{true, []string{"203.0.113.5, 198.51.100.9"}, "198.51.100.9"},
		{true, []string{"203.0.113.5", "198.51.100.9 "}, "198.51.100.9"},
		{true, []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tc := range tests {
		s := &Server{cfg: Config{TrustProxy: tc.trust}}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "192.0.2.1:5555"
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.limitAddr(r); got != tc.want {
			t.Errorf("trust=%v xff=%q: %q, want %q", tc.trust, tc.xff, got, tc.want)
		}
	}
}

// recordingConn records what the server hands the connection's ReadFrom.
type recordingConn struct {
	*net.TCPConn
	mu     *sync.Mutex
	seen   *[]string
	corked *[]bool // TCP_CORK at each ReadFrom, where the system has it
}

func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
	kind := fmt.Sprintf("%T", r)
	if lr, ok := r.(*io.LimitedReader); ok {
		kind += fmt.Sprintf("(%T)", lr.R)
	}
	cork := corkOf(c.TCPConn)
	c.mu.Lock()
	*c.seen = append(*c.seen, kind)
	*c.corked = append(*c.corked, cork)
	c.mu.Unlock()
	return c.TCPConn.ReadFrom(r)
}

type recordingListener struct {
	net.Listener
	mu     sync.Mutex
	seen   []string
	corked []bool
	last   *net.TCPConn
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.last = c.(*net.TCPConn)
	l.mu.Unlock()
	return &recordingConn{TCPConn: c.(*net.TCPConn), mu: &l.mu, seen: &l.seen, corked: &l.corked}, nil
}

// TestDownloadKeepsSendfile: through every middleware (write deadlines,
// access log) and the per-address cap, a file served with ServeContent
// still reaches the TCP connection's ReadFrom as the file itself under
// one LimitedReader, which is what net's sendfile takes.
func TestDownloadKeepsSendfile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: several pieces
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(testLogger(t), timeoutCfg, tokens{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Mount(routes{"/alice/m/resolve/main/blob": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "blob", time.Time{}, f)
	})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &recordingListener{Listener: ln}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx, rl); close(done) }()
	defer func() { cancel(); <-done }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/alice/m/resolve/main/blob")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.seen) < 2 {
		t.Errorf("ReadFrom called %d times, want the file in several pieces", len(rl.seen))
	}
	for _, kind := range rl.seen {
		if kind != "*io.LimitedReader(*os.File)" {
			t.Errorf("the connection's ReadFrom got %s, want *io.LimitedReader(*os.File)", kind)
		}
	}
}
