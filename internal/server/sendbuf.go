package server

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
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

// sendingFile gives c the larger send buffer when src is a file (or a
// LimitedReader over one, as http.ServeContent passes it) of at least
// fileSendBufferMin bytes.
func sendingFile(c net.Conn, src io.Reader) {
	if c == nil {
		return
	}
	if lr, ok := src.(*io.LimitedReader); ok {
		if lr.N < fileSendBufferMin {
			return
		}
		src = lr.R
	}
	if _, ok := src.(*os.File); !ok {
		return
	}
	size := fileSendBufferSize()
	if size == 0 {
		return
	}
	if cc, ok := c.(*cappedConn); ok {
		c = cc.Conn
	}
	if tc, ok := c.(interface{ SetWriteBuffer(int) error }); ok {
		tc.SetWriteBuffer(size)
	}
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
