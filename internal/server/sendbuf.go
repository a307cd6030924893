package server

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A file goes out with sendfile on a non-blocking socket: each call
// queues what fits in the socket's send buffer, then the goroutine parks
// until the poller finds room again. With the kernel's autotuned buffer
// (at most net.ipv4.tcp_wmem's last field, 4 MiB by default) a 1 GiB
// download made about 500 such round trips through the Go scheduler,
// each a futex wake-up and thread switch nginx does not pay; on 2 cores
// the server used 1.5× nginx's CPU per byte. A fixed buffer of twice
// that halves the round trips (CPU per byte within 10 % of nginx's,
// bench/transfer.sh). It costs no memory of its own: sendfile queues
// references to page-cache pages, not copies, which is also why only
// responses from files get it.
//
// fileSendBuffer is the size asked for; Linux doubles it (for its own
// bookkeeping) and caps the request at net.core.wmem_max. It is applied
// only when the result beats autotuning's ceiling: with the common
// wmem_max of 208 KiB a fixed buffer would be far smaller than what
// autotuning reaches, so nothing is set (operations.md says how to raise
// it).
const fileSendBuffer = 4 << 20

// fileSendBufferMin is the smallest file response worth the system call.
const fileSendBufferMin = 1 << 20

var fileSendBufferSize = sync.OnceValue(func() int {
	wmemMax, ok1 := readSysctl("/proc/sys/net/core/wmem_max", 0)
	tcpMax, ok2 := readSysctl("/proc/sys/net/ipv4/tcp_wmem", 2)
	if !ok1 || !ok2 {
		return 0 // not Linux, or no /proc: leave the system's behaviour
	}
	if n := min(fileSendBuffer, wmemMax); 2*n > tcpMax {
		return n
	}
	return 0
})

// readSysctl reads field i of a /proc/sys file of numbers.
func readSysctl(path string, i int) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if i >= len(f) {
		return 0, false
	}
	n, err := strconv.Atoi(f[i])
	return n, err == nil
}

// fromFile reports whether a response body is read from a file: src is
// one, or a LimitedReader over one (as http.ServeContent passes it) of at
// least fileSendBufferMin bytes.
func fromFile(src io.Reader) bool {
	if lr, ok := src.(*io.LimitedReader); ok {
		if lr.N < fileSendBufferMin {
			return false
		}
		src = lr.R
	}
	_, ok := src.(*os.File)
	return ok
}

// unwrap returns the connection under the per-address cap's wrapper.
func unwrap(c net.Conn) net.Conn {
	if cc, ok := c.(*cappedConn); ok {
		return cc.Conn
	}
	return c
}

// sendingFile gives c the larger send buffer when the body comes from a
// file.
func sendingFile(c net.Conn, src io.Reader) {
	if fromFile(src) {
		widen(c)
	}
}

// widen gives c the larger send buffer, where the system allows it.
func widen(c net.Conn) {
	if size := fileSendBufferSize(); size > 0 {
		if tc, ok := unwrap(c).(interface{ SetWriteBuffer(int) error }); ok {
			tc.SetWriteBuffer(size)
		}
	}
}

// corkFile corks c (TCP_CORK, nginx's tcp_nopush) while a large body
// goes out through ReadFrom: from a file (fromFile), or from another stream
// of at least fileSendBufferMin bytes (as http.ServeContent copies). The headers
// and the tail of every sendfile or splice call then leave in full
// segments: with Go's default TCP_NODELAY each call's short tail was
// pushed at once, and each EAGAIN round trip made one. On loopback that
// took downloads from 0.75x to 0.99x nginx's throughput
// (bench/transfer.sh). The returned func uncorks, which sends what is
// held; call it when the body's ReadFrom returns.
func corkFile(c net.Conn, src io.Reader) (uncork func()) {
	if lr, ok := src.(*io.LimitedReader); ok && lr.N >= fileSendBufferMin || fromFile(src) {
		return cork(c)
	}
	return func() {}
}

// CorkBody prepares the connection of a request whose handler writes a
// body of n bytes in many pieces (a file rebuilt from Xet chunks, one
// sendfile per ~64 KiB chunk): corked as corkFile does for one ReadFrom,
// and with the larger send buffer, so that the many calls meet a full
// buffer less often (plain resolve of a Xet file: 0.64x to 0.71x of an
// LFS blob's throughput, bench/xet.sh). Call the returned func when the
// body is written.
func CorkBody(ctx context.Context, n int64) (uncork func()) {
	if n < fileSendBufferMin {
		return func() {}
	}
	c := connOf(ctx)
	widen(c)
	return cork(c)
}

func cork(c net.Conn) (uncork func()) {
	uncork = func() {}
	sc, ok := unwrap(c).(syscall.Conn)
	if !ok || !corkSupported {
		return uncork
	}
	if rc, err := sc.SyscallConn(); err == nil && setCork(rc, true) == nil {
		return func() { setCork(rc, false) }
	}
	return uncork
}

// withConn keeps the connection in its requests' contexts (Server.Run's
// ConnContext), for sendingFile.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, keyConn, c)
}

func connOf(ctx context.Context) net.Conn {
	c, _ := ctx.Value(keyConn).(net.Conn)
	return c
}
