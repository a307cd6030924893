package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// capListener closes, at accept, the connections of an address that
// already holds max open ones, so that one client cannot spend the
// process's file descriptors and goroutines on idle or slow connections.
// Loopback addresses are counted like any other; behind a reverse proxy
// every connection comes from the proxy, whose own limits then apply
// (raise or disable the cap there).
type capListener struct {
	net.Listener
	lg       *slog.Logger
	max      int
	rejected prometheus.Counter

	mu     sync.Mutex
	open   map[netip.Addr]int
	warned map[netip.Addr]time.Time
}

func newCapListener(ln net.Listener, lg *slog.Logger, max int, rejected prometheus.Counter) *capListener {
	return &capListener{Listener: ln, lg: lg, max: max, rejected: rejected,
		open: map[netip.Addr]int{}, warned: map[netip.Addr]time.Time{}}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ta, ok := c.RemoteAddr().(*net.TCPAddr)
		if !ok {
			return c, nil // not TCP (a test pipe): nothing to count
		}
		ip := ta.AddrPort().Addr().Unmap()
		l.mu.Lock()
		if l.open[ip] >= l.max {
			warn := time.Since(l.warned[ip]) > time.Minute
			if warn {
				l.warned[ip] = time.Now()
			}
			l.mu.Unlock()
			c.Close()
			l.rejected.Inc()
			if warn {
				l.lg.Warn("connection refused: too many open connections from one address", "remote", ip.String(), "max", l.max)
			}
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &cappedConn{Conn: c, l: l, ip: ip}, nil
	}
}

func (l *capListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
		delete(l.warned, ip)
	}
}

// cappedConn gives its slot back when closed. It forwards ReadFrom and
// CloseWrite, which net/http finds by type assertion on the connection:
// without ReadFrom, responses would lose sendfile.
//
// A connection whose write timed out is reset when closed rather than
// shut down gracefully: the response is cut anyway, and a graceful close
// would leave the kernel holding (and retrying to send) up to a socket
// buffer of unsent data per slow reader long after the process let go.
type cappedConn struct {
	net.Conn
	l        *capListener
	ip       netip.Addr
	once     sync.Once
	timedOut atomic.Bool
}

func (c *cappedConn) Close() error {
	if c.timedOut.Load() {
		if lc, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
			lc.SetLinger(0)
		}
	}
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

func (c *cappedConn) noteWrite(err error) {
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
}

func (c *cappedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.noteWrite(err)
	return n, err
}

func (c *cappedConn) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{c.Conn}, r)
	}
	c.noteWrite(err)
	return n, err
}

func (c *cappedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
