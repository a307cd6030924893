package hubapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

// sourceLog records, per kind of source, the bytes the server moved with
// its connections' ReadFrom: "*io.LimitedReader(*os.File)" is what net's
// sendfile takes.
type sourceLog struct {
	mu    sync.Mutex
	bytes map[string]int64
}

func (l *sourceLog) take() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bytes
	l.bytes = map[string]int64{}
	return b
}

type loggingConn struct {
	*net.TCPConn
	log *sourceLog
}

func (c *loggingConn) ReadFrom(r io.Reader) (int64, error) {
	kind := fmt.Sprintf("%T", r)
	if lr, ok := r.(*io.LimitedReader); ok {
		kind += fmt.Sprintf("(%T)", lr.R)
	}
	n, err := c.TCPConn.ReadFrom(r)
	c.log.mu.Lock()
	c.log.bytes[kind] += n
	c.log.mu.Unlock()
	return n, err
}

type loggingListener struct {
	net.Listener
	log *sourceLog
}

func (l *loggingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &loggingConn{TCPConn: c.(*net.TCPConn), log: l.log}, nil
}

// TestDownloadUsesSendfile: an LFS download from the filesystem store,
// through the handler and every middleware of a server configured as
// `agora serve` configures it (write and body deadlines, the per-address
// connection cap), reaches the TCP connection's ReadFrom with the
// *os.File itself, for a whole GET, a resumed (ranged) GET, and the HEAD
// then GET huggingface_hub sends. A middleware that hid io.ReaderFrom
// would silently turn every download into copies through user space.
func TestDownloadUsesSendfile(t *testing.T) {
	m, b := storetest.Local(t)
	lg := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := hub.DefaultConfig()
	cfg.LFSThreshold = 1 << 10
	svc, err := hub.New(t.Context(), lg, cfg, m, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{
		BodyIdleTimeout:  server.DefaultBodyIdleTimeout,
		WriteIdleTimeout: server.DefaultWriteIdleTimeout,
		MaxConnsPerIP:    server.DefaultMaxConnsPerIP,
	}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(hubapi.New(lg, srv, svc, hubapi.Config{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sources := &sourceLog{bytes: map[string]int64{}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { srv.Run(ctx, &loggingListener{Listener: ln, log: sources}); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	e := &env{t: t, url: "http://" + ln.Addr().String(), store: m}
	u := &meta.User{Name: "alice"}
	if err := m.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s := auth.NewTokenSecret()
	if err := m.CreateToken(t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(s), Role: meta.RoleWrite}); err != nil {
		t.Fatal(err)
	}
	e.alice = string(s)
	e.createModel("m")
	// 20 MiB: the write deadline's growing pieces (16 MiB), then the rest
	// in one run.
	data := bytes.Repeat([]byte("0123456789abcdef"), 20<<16)
	sum := sha256.Sum256(data)
	oid := hex.EncodeToString(sum[:])
	batch := map[string]any{"operation": "upload", "objects": []map[string]any{{"oid": oid, "size": len(data)}}}
	var out struct {
		Objects []struct {
			Actions map[string]struct{ Href string }
		}
	}
	json.Unmarshal(e.mustOK(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice, batch)).body, &out)
	e.mustOK(e.do("PUT", strings.TrimPrefix(out.Objects[0].Actions["upload"].Href, e.url), "", data))
	lfs := map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)}}
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("w", ""), lfs)))
	sources.take()

	const sendfile = "*io.LimitedReader(*os.File)"
	for _, tc := range []struct {
		name  string
		head  bool
		hdr   []string
		want  []byte
		bytes int64 // at least, with sendfile: ServeContent copies the first 512 bytes itself
	}{
		{"whole", false, nil, data, int64(len(data)) - 512},
		{"resume", false, []string{"Range", "bytes=1000001-"}, data[1000001:], int64(len(data)) - 1000001 - 512},
		{"resume near the end", false, []string{"Range", "bytes=-5000000"}, data[len(data)-5000000:], 5000000 - 512},
		{"head+get", true, []string{"Accept-Encoding", "identity"}, data, int64(len(data)) - 512},
	} {
		if tc.head {
			h := e.do("HEAD", "/alice/m/resolve/main/w.bin", "", nil, tc.hdr...)
			if h.status != 200 || h.h.Get("X-Linked-Size") != fmt.Sprint(len(data)) {
				t.Fatalf("%s: HEAD %d %v", tc.name, h.status, h.h)
			}
		}
		r := e.do("GET", "/alice/m/resolve/main/w.bin", "", nil, tc.hdr...)
		if r.status/100 != 2 || !bytes.Equal(r.body, tc.want) {
			t.Fatalf("%s: %d, %d bytes", tc.name, r.status, len(r.body))
		}
		got := sources.take()
		if got[sendfile] < tc.bytes {
			t.Errorf("%s: %d bytes went to the connection's ReadFrom as %s, want at least %d (all: %v)", tc.name, got[sendfile], sendfile, tc.bytes, got)
		}
		for kind, n := range got {
			if kind != sendfile {
				t.Errorf("%s: %d bytes went to the connection's ReadFrom as %s", tc.name, n, kind)
			}
		}
	}
}
