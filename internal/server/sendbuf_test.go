package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveFileOverTCP runs s on loopback with a route serving a file of size
// bytes through http.ServeContent; it returns the address and the
// recording listener.
func serveFileOverTCP(t *testing.T, cfg Config, size int) (string, *recordingListener) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blob")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(size)); err != nil { // sparse: zeros
		t.Fatal(err)
	}
	f.Close()
	s, err := New(testLogger(t), cfg, tokens{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Mount(routes{"/file": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &recordingListener{Listener: ln}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx, rl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), rl
}

// TestLongFileInOneSendfile: once a client has taken the growing pieces
// quickly, the rest of a file goes to the connection's ReadFrom in one
// call (one sendfile run), and its connection gets the larger send
// buffer where the system allows it.
func TestLongFileInOneSendfile(t *testing.T) {
	if !watchFilePosition {
		t.Skip("pieces only on this system")
	}
	const size = 48 << 20
	addr, rl := serveFileOverTCP(t, timeoutCfg, size)
	resp, err := http.Get("http://" + addr + "/file")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	rl.mu.Lock()
	calls := len(rl.seen)
	rl.mu.Unlock()
	// 64 KiB doubling to 8 MiB is 8 pieces (16 MiB), then the rest.
	if calls > 10 {
		t.Errorf("the connection's ReadFrom was called %d times, want the pieces of the ramp and one more", calls)
	}
	if want := fileSendBufferSize(); want > 0 {
		got := lastSendBuffer(t, rl)
		if got < 2*want {
			t.Errorf("send buffer %d, want at least %d", got, 2*want)
		}
	}
}

// TestFileGoesOutCorked: every piece of a file download is sent with the
// socket corked (full segments, as nginx's tcp_nopush), and the socket is
// uncorked once the body is out, so nothing of it is held back.
func TestFileGoesOutCorked(t *testing.T) {
	if !corkSupported {
		t.Skip("no TCP_CORK on this system")
	}
	const size = 24 << 20
	addr, rl := serveFileOverTCP(t, timeoutCfg, size)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 2 { // the second response on the same connection too
		fmt.Fprintf(c, "GET /file HTTP/1.1\r\nHost: hub\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("response %d: %v %v", i, resp, err)
		}
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
			t.Fatalf("download %d: %d bytes, %v", i, n, err)
		}
		resp.Body.Close()
		rl.mu.Lock()
		last := rl.last
		corked := append([]bool(nil), rl.corked...)
		rl.mu.Unlock()
		if len(corked) == 0 {
			t.Fatal("the connection's ReadFrom was never called")
		}
		for j, on := range corked {
			if !on {
				t.Errorf("download %d: ReadFrom %d ran uncorked", i, j)
			}
		}
		if corkOf(last) {
			t.Errorf("download %d: the socket is still corked after the body", i)
		}
	}
}

// corkOf reads TCP_CORK of c.
func corkOf(c *net.TCPConn) bool {
	sc, err := c.SyscallConn()
	if err != nil || !corkSupported {
		return false
	}
	var v int
	sc.Control(func(fd uintptr) { v, _ = getCork(fd) })
	return v != 0
}

// lastSendBuffer reads SO_SNDBUF of the server side of the last accepted
// connection.
func lastSendBuffer(t *testing.T, rl *recordingListener) int {
	t.Helper()
	rl.mu.Lock()
	c := rl.last
	rl.mu.Unlock()
	sc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	sc.Control(func(fd uintptr) { v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) })
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

// TestLongFileStalledClient: the write deadline still holds in the one
// sendfile run: a client that stops reading loses the connection after
// the write idle timeout, however much of the file is left.
func TestLongFileStalledClient(t *testing.T) {
	if !watchFilePosition {
		t.Skip("pieces only on this system")
	}
	const size = 256 << 20
	cfg := timeoutCfg
	cfg.WriteIdleTimeout = 500 * time.Millisecond
	addr, _ := serveFileOverTCP(t, cfg, size)
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		// A small receive window, so that the stall reaches the server
		// soon.
		c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /file HTTP/1.1\r\nHost: hub\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("response: %v %v", resp, err)
	}
	// Past the growing pieces, into the one sendfile run.
	if _, err := io.CopyN(io.Discard, resp.Body, 32<<20); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && 32<<20+n == size {
		t.Fatal("a client that stopped reading for 6 write idle timeouts got the whole file")
	}
}

// TestCorkBody: a handler writing a large body in pieces has its
// connection corked until it uncorks; a small body is left alone.
func TestCorkBody(t *testing.T) {
	if !corkSupported {
		t.Skip("no TCP_CORK on this system")
	}
	s, err := New(testLogger(t), timeoutCfg, tokens{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &recordingListener{Listener: ln}
	corked := map[string][2]bool{} // during, after
	var mu sync.Mutex
	s.Mount(routes{"/body": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		uncork := CorkBody(r.Context(), n)
		rl.mu.Lock()
		c := rl.last
		rl.mu.Unlock()
		during := corkOf(c)
		w.Write(make([]byte, n))
		uncork()
		mu.Lock()
		corked[r.URL.Query().Get("n")] = [2]bool{during, corkOf(c)}
		mu.Unlock()
	})})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx, rl); close(done) }()
	defer func() { cancel(); <-done }()
	for _, n := range []int{4 << 20, 1 << 10} {
		resp, err := http.Get(fmt.Sprintf("http://%s/body?n=%d", ln.Addr(), n))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if got := corked[strconv.Itoa(4<<20)]; got != [2]bool{true, false} {
		t.Errorf("large body: corked during, after = %v, want true, false", got)
	}
	if got := corked[strconv.Itoa(1<<10)]; got != [2]bool{false, false} {
		t.Errorf("small body: corked during, after = %v, want false, false", got)
	}
}
