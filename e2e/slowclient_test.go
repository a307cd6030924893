package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSlowClients is the slow-client proof of the limits against idle and
// slow connections: thousands of connections that send nothing, stop in
// the middle of their headers, promise a body and never send it, trickle
// a body a byte at a time, or never read a download, from a dozen
// loopback addresses at once. A normal client must still get its answers
// within its timeout, the server must close every bad connection by
// itself, the per-address cap must refuse the connections over it, and
// the server's goroutines and file descriptors must come back down.
func TestSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	const (
		addrs    = 12  // 127.0.0.2 … 127.0.0.13
		perAddr  = 250 // within the cap: 3000 connections in all
		capAddr  = "127.0.0.20"
		capConns = 320 // over the cap of 300
		readers  = 30  // downloads nobody reads
	)
	raiseFileLimit(t, addrs*perAddr+capConns+readers+1000)
	if c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial("tcp", "127.0.0.1:1"); err != nil && strings.Contains(err.Error(), "assign requested address") {
		t.Skipf("cannot use 127.0.0.2 as a source address here: %v", err)
	} else if c != nil {
		c.Close()
	}

	h := StartHub(t, HubOptions{ServeArgs: []string{
		"--read-header-timeout", "2s", "--body-idle-timeout", "2s", "--write-idle-timeout", "2s",
		"--idle-timeout", "10s", "--max-conns-per-ip", "300", "--log-level", "warn",
	}})
	hostport := strings.TrimPrefix(h.URL, "http://")
	token := h.Admin(t, "user", "add", "slow")
	a := hubClient{t: t, base: h.URL, token: token}
	if code := a.json("POST", "/api/repos/create", map[string]any{"name": "m", "organization": "slow"}, nil); code != 200 {
		t.Fatalf("create repo: %d", code)
	}
	// Large enough that a client that reads nothing stalls the server's
	// writes (sendfile of an LFS file) once the socket buffers are full.
	a.uploadLFS("slow/m", "big.bin", bytes.Repeat([]byte("0123456789abcdef"), 1<<20))
	if code, b := a.commitFile("slow/m", "small.txt", "hello"); code != 200 {
		t.Fatalf("commit: %d %s", code, b)
	}
	before := serverStats(t, h.URL)

	// Open the bad connections, eight dials at a time.
	type kind int
	const (
		silent kind = iota
		partialHeaders
		bodyNeverSent
		trickle
		nonReader
	)
	var (
		mu      sync.Mutex
		conns   []net.Conn
		kinds   []kind
		closed  sync.WaitGroup
		stuck   atomic.Int64
		trickly []net.Conn
	)
	open := func(src string, k kind) error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", hostport)
		if err != nil {
			return err
		}
		switch k {
		case partialHeaders:
			fmt.Fprintf(c, "GET /api/models HTTP/1.1\r\nHost: %s\r\n", hostport)
		case bodyNeverSent:
			fmt.Fprintf(c, "POST /api/repos/create HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", hostport)
		case trickle:
			fmt.Fprintf(c, "POST /api/repos/create HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", hostport)
		case nonReader:
			c.(*net.TCPConn).SetReadBuffer(4096)
			fmt.Fprintf(c, "GET /slow/m/resolve/main/big.bin HTTP/1.1\r\nHost: %s\r\n\r\n", hostport)
		}
		mu.Lock()
		conns, kinds = append(conns, c), append(kinds, k)
		if k == trickle {
			trickly = append(trickly, c)
		}
		mu.Unlock()
		if k == nonReader {
			return nil // read by nobody; the server must give up on it
		}
		closed.Add(1)
		go func() {
			defer closed.Done()
			// Whatever the server answers, it must then close.
			c.SetReadDeadline(time.Now().Add(25 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					stuck.Add(1)
				}
			}
		}()
		return nil
	}
	type job struct {
		src string
		k   kind
	}
	jobs := make(chan job)
	var dialers sync.WaitGroup
	var dialErrs atomic.Int64
	for range 8 {
		dialers.Go(func() {
			for j := range jobs {
				if err := open(j.src, j.k); err != nil {
					dialErrs.Add(1)
				}
			}
		})
	}
	start := time.Now()
	for i := range addrs * perAddr {
		jobs <- job{fmt.Sprintf("127.0.0.%d", 2+i%addrs), kind(i % 4)}
	}
	for range readers {
		jobs <- job{"127.0.0.14", nonReader}
	}
	close(jobs)
	dialers.Wait()
	if n := dialErrs.Load(); n > 0 {
		t.Fatalf("%d connections could not be opened", n)
	}
	t.Logf("%d bad connections open after %v", len(conns), time.Since(start).Round(time.Millisecond))

	// Keep the trickling bodies trickling.
	stopTrickle := make(chan struct{})
	var trickler sync.WaitGroup
	trickler.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopTrickle:
				return
			case <-tick.C:
			}
			mu.Lock()
			for _, c := range trickly {
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				c.Write([]byte(" "))
			}
			mu.Unlock()
		}
	})
	defer func() { close(stopTrickle); trickler.Wait() }()

	// A normal client is served all along.
	normal := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		for _, path := range []string{"/api/models?author=slow", "/slow/m/resolve/main/small.txt", "/healthz"} {
			resp, err := normal.Get(h.URL + path)
			if err != nil {
				t.Fatalf("normal request %d %s during the storm: %v", i, path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("normal request %d %s: %d", i, path, resp.StatusCode)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Connections over the per-address cap are closed at accept.
	var refused atomic.Int64
	var capWG sync.WaitGroup
	var capConnsOpen []net.Conn
	for range capConns {
		c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(capAddr)}}).Dial("tcp", hostport)
		if err != nil {
			t.Fatal(err)
		}
		capConnsOpen = append(capConnsOpen, c)
		capWG.Go(func() {
			c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond)) // before the 2s header timeout
			if _, err := c.Read(make([]byte, 1)); err == io.EOF || err != nil && !isTimeout(err) {
				refused.Add(1)
			}
		})
	}
	capWG.Wait()
	for _, c := range capConnsOpen {
		c.Close()
	}
	if got := refused.Load(); got != capConns-300 {
		t.Errorf("%d of %d connections from one address closed at once, want the %d over the cap", got, capConns, capConns-300)
	}

	// Every bad connection is closed by the server.
	closed.Wait()
	if n := stuck.Load(); n > 0 {
		t.Errorf("%d connections still open after 25 s", n)
	}
	// The downloads nobody reads: the server gave up on them too.
	for i, c := range conns {
		if kinds[i] != nonReader {
			continue
		}
		c.(*net.TCPConn).SetReadBuffer(1 << 20)
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if isTimeout(err) || n >= 16<<20 {
			t.Errorf("a download nobody read was not cut: %d bytes, %v", n, err)
			break
		}
	}
	for _, c := range conns {
		c.Close()
	}

	// The server's connections, goroutines and descriptors come back
	// down. Open connections are the direct signal; descriptors get a
	// wider margin, since one run (2026-12-03) still had 38 more than
	// before after 15 s, with connections and goroutines back at their
	// baseline, for a cause not found (a sampled run showed only sockets
	// and the downloads' blob files, closing within the wait). A leak of
	// the 3,000 bad connections would be far above it.
	var after stats
	deadline := time.Now().Add(15 * time.Second)
	for {
		after = serverStats(t, h.URL)
		if after.conns <= before.conns+5 && after.goroutines <= before.goroutines+30 && after.fds <= before.fds+100 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("server did not recover: connections %d → %d, goroutines %d → %d, fds %d → %d",
				before.conns, after.conns, before.goroutines, after.goroutines, before.fds, after.fds)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if after.refused < capConns-300 {
		t.Errorf("agora_connections_refused_total = %d, want at least %d", after.refused, capConns-300)
	}
	t.Logf("connections %d → %d, goroutines %d → %d, fds %d → %d, whole run %v", before.conns, after.conns,
		before.goroutines, after.goroutines, before.fds, after.fds, time.Since(start).Round(time.Millisecond))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

type stats struct{ goroutines, fds, conns, refused int64 }

// serverStats reads the server's goroutines, open descriptors, open and
// refused connections from /metrics.
func serverStats(t *testing.T, base string) stats {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			s.goroutines = int64(f)
		case "process_open_fds":
			s.fds = int64(f)
		case "agora_connections_refused_total":
			s.refused = int64(f)
		case "agora_connections_open":
			s.conns = int64(f)
		}
	}
	if s.goroutines == 0 || s.fds == 0 {
		t.Fatal("/metrics lacks go_goroutines or process_open_fds")
	}
	return s
}

// raiseFileLimit makes sure this process (and the server it starts) may
// open n descriptors.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d descriptors this test needs", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
}
