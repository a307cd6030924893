package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/agorahub/agora/internal/gitproto"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/limits"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/web"
	"github.com/agorahub/agora/internal/xet/casapi"
)

func newLogger(w io.Writer, format, level string) (*slog.Logger, *slog.LevelVar, error) {
	lv := new(slog.LevelVar)
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), lv, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), lv, nil
	}
	return nil, nil, fmt.Errorf("--log-format %q: use text or json", format)
}

type serveConfig struct {
	addr            *string
	publicURL       *string
	trustProxy      *bool
	logFormat       *string
	logLevel        *string
	shutdownTimeout *time.Duration
	blobsProxy      *bool
	lfsThreshold    *int64
	maxRegular      *int64
	maxCommit       *int64
	maxLFS          *int64
	mpThreshold     *int64
	mpChunk         *int64
	urlTTL          *time.Duration
	maxPush         *int64
	scanPolicy      *string
	scanWorkers     *int64
	signingRoots    *string
	debugAddr       *string
	gcInterval      *time.Duration
	gcGrace         *time.Duration
	index           *indexFlags
	xet             *xetFlags
	oidc            oidcFlags
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("serve", stderr)
	st := addStoreFlags(f)
	lim := addLimitFlags(f)
	mf := addMirrorFlags(f) // issue 14: --upstream, --offline…
	minFree := addDiskFlag(f)
	def := hub.DefaultConfig()
	c := serveConfig{
		addr:            f.string("addr", "127.0.0.1:8080", "address to listen on"),
		publicURL:       f.string("public-url", "", "URL clients use to reach the hub, with any path prefix (default: from each request's Host)"),
		trustProxy:      f.bool("trust-proxy", false, "trust X-Forwarded-Proto and X-Forwarded-Host from a reverse proxy"),
		logFormat:       f.string("log-format", "text", "log format: text or json"),
		logLevel:        f.string("log-level", "info", "log level: debug, info, warn or error"),
		shutdownTimeout: f.duration("shutdown-timeout", 30*time.Second, "how long to let requests finish on shutdown"),
		blobsProxy:      f.bool("blobs-proxy", false, "serve LFS content through the hub even when the blob store could redirect clients to it"),
		lfsThreshold:    f.size("lfs-threshold", def.LFSThreshold, "files larger than this must be uploaded with LFS"),
		maxRegular:      f.size("max-regular-file", def.MaxRegularFile, "largest regular (non-LFS) file accepted in a commit"),
		maxCommit:       f.size("max-commit-bytes", def.MaxCommitBytes, "largest total of regular files in one commit"),
		maxLFS:          f.size("max-lfs-file", def.MaxLFSFile, "largest LFS file accepted"),
		mpThreshold:     f.size("multipart-threshold", def.MultipartThreshold, "LFS uploads larger than this use the multipart transfer"),
		mpChunk:         f.size("multipart-chunk", def.MultipartChunk, "part size of multipart LFS uploads"),
		urlTTL:          f.duration("upload-url-ttl", def.UploadURLTTL, "validity of signed LFS upload and download URLs"),
		maxPush:         f.size("max-push-size", gitproto.DefaultMaxPushSize, "largest pack accepted by one git push"),
		scanPolicy:      f.string("scan-policy", hub.PolicyFlag, "security scan policy: flag (show results, allow downloads) or block (also reject commits adding dangerous files)"),
		scanWorkers:     f.size("scan-workers", 2, "files scanned in parallel by this process"),
		signingRoots:    f.string("signing-roots", "", "PEM file of CA certificates that certificate-based model signatures (model.sig) must chain to"),
		debugAddr:       f.string("debug-addr", "", "serve Go profiling endpoints (/debug/pprof/) on this separate address, e.g. 127.0.0.1:6060 (default: off)"),
		gcInterval:      f.duration("gc-interval", 0, "delete unreferenced LFS content this often, like agora gc (default: off)"),
		gcGrace:         f.duration("gc-grace", hub.DefaultGCGrace, "grace period of --gc-interval collections (see agora gc --grace)"),
		index:           addIndexFlags(f, st),
		xet:             addXetFlags(f),
		oidc:            addOIDCFlags(f),
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", f.Args())
	}
	logs := newLogBuffer(stderr, 100*time.Millisecond, 64<<10)
	defer logs.Flush()
	lg, _, err := newLogger(logs, *c.logFormat, *c.logLevel)
	if err != nil {
		return err
	}
	lg = slog.New(flushingHandler{lg.Handler(), logs})
	cfg := hub.Config{
		LFSThreshold: *c.lfsThreshold, MaxRegularFile: *c.maxRegular, MaxCommitBytes: *c.maxCommit,
		MaxLFSFile: *c.maxLFS, MultipartThreshold: *c.mpThreshold, MultipartChunk: *c.mpChunk, UploadURLTTL: *c.urlTTL,
		DirectUploads: !*c.blobsProxy, ScanPolicy: *c.scanPolicy,
	}
	if cfg.ScanPolicy != hub.PolicyFlag && cfg.ScanPolicy != hub.PolicyBlock {
		return fmt.Errorf("--scan-policy %q: use flag or block", cfg.ScanPolicy)
	}
	if *c.scanWorkers < 1 || *c.scanWorkers > 64 {
		return fmt.Errorf("--scan-workers must be between 1 and 64")
	}
	if *c.signingRoots != "" {
		pemData, err := os.ReadFile(*c.signingRoots)
		if err != nil {
			return fmt.Errorf("--signing-roots: %w", err)
		}
		cfg.SigningRoots = x509.NewCertPool()
		if !cfg.SigningRoots.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("--signing-roots %s: no PEM certificate found", *c.signingRoots)
		}
	}
	if cfg.MultipartChunk < 5<<20 {
		return fmt.Errorf("--multipart-chunk must be at least 5MiB (the S3 minimum part size)")
	}
	if cfg.MaxRegularFile < cfg.LFSThreshold {
		return fmt.Errorf("--max-regular-file (%d) must be at least --lfs-threshold (%d)", cfg.MaxRegularFile, cfg.LFSThreshold)
	}
	if cfg.UploadURLTTL < time.Minute {
		return fmt.Errorf("--upload-url-ttl must be at least 1m")
	}
	scfg := server.Config{Addr: *c.addr, PublicURL: *c.publicURL, TrustProxy: *c.trustProxy, ShutdownTimeout: *c.shutdownTimeout}
	rateCfg, err := lim.apply(&scfg)
	if err != nil {
		return err
	}

	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	bs, err := openBlobs(ctx, st.blobsURL())
	if err != nil {
		return err
	}
	xs, hubBlobs, err := openXet(ctx, lg, ms, bs, cfg.MaxLFSFile, *c.blobsProxy)
	if err != nil {
		return err
	}
	svc, err := hub.New(ctx, lg, cfg, ms, hubBlobs)
	if err != nil {
		return err
	}
	srv, err := server.New(lg, scfg, casapi.Authenticator(svc), append([]server.Check{{Name: "metadata", Fn: ms.Ping}, {Name: "blobs", Fn: bs.Ping}},
		diskChecks(st.dbURL(), st.blobsURL(), *minFree)...))
	if err != nil {
		return err
	}
	var rl *limits.Limiter
	if lim.on() {
		rl = limits.New(lg, rateCfg, ms)
		srv.SetRateLimiter(rl)
	}
	apiCfg := hubapi.Config{ProxyDownloads: *c.blobsProxy}
	c.xet.mount(lg, srv, xs, &apiCfg)
	srv.Mount(hubapi.New(lg, srv, svc, apiCfg))
	srv.Mount(gitproto.New(lg, srv, svc, gitproto.Config{MaxPushSize: *c.maxPush}))
	ssoClient, err := c.oidc.client()
	if err != nil {
		return err
	}
	srv.Mount(web.New(lg, srv, svc, web.Config{SSO: ssoClient}))
	mr, err := mf.start(ctx, lg, srv, ms, bs, svc)
	if err != nil {
		return err
	}
	if mr != nil {
		svc.Mirror = mr
		defer mr.Close()
	}

	ixOpts, exportIndex := indexMetrics(srv)
	ix, err := openIndex(ctx, lg, ms, c.index, ixOpts)
	if err != nil {
		return err
	}
	exportIndex(ix)
	svc.UseIndex(ix)

	bg, stopBG := context.WithCancel(ctx)
	bgDone := make(chan struct{})
	scanDone, indexDone := make(chan struct{}), make(chan struct{})
	go func() { svc.RunBackground(bg); close(bgDone) }()
	go func() { svc.RunScanners(bg, int(*c.scanWorkers)); close(scanDone) }()
	go func() { ix.Run(bg); close(indexDone) }()
	limitsDone := make(chan struct{})
	go func() {
		if rl != nil {
			rl.Run(bg) // flushes its last counts when bg ends
		}
		close(limitsDone)
	}()
	defer func() { stopBG(); <-bgDone; <-scanDone; <-indexDone; <-limitsDone }()
	if *c.gcInterval > 0 {
		gcCtx, stopGC := context.WithCancel(bg)
		gcDone := make(chan struct{})
		go func() { runGC(gcCtx, lg, svc, xs, *c.gcGrace, *c.xet.grace, *c.gcInterval); close(gcDone) }()
		defer func() { stopGC(); <-gcDone }()
	}

	if sw, ok := bs.(interface {
		Sweep(context.Context, time.Time) error
	}); ok {
		go sweep(ctx, lg, sw.Sweep)
	}
	if *c.debugAddr != "" {
		if err := serveDebug(ctx, lg, *c.debugAddr); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *c.addr)
	if err != nil {
		return err
	}
	lg.Info("agora starting", "db", redact(st.dbURL()), "blobs", st.blobsURL(), "pid", os.Getpid())
	return srv.Run(ctx, ln)
}

// sweep removes abandoned uploads (older than a day) every hour.
func sweep(ctx context.Context, lg *slog.Logger, fn func(context.Context, time.Time) error) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := fn(ctx, time.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			lg.Warn("sweep of abandoned uploads failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveDebug exposes net/http/pprof on its own listener so profiling is never
// reachable through the public address.
func serveDebug(ctx context.Context, lg *slog.Logger, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--debug-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		hs.Close()
	}()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			lg.Warn("debug listener stopped", "err", err)
		}
	}()
	lg.Info("profiling endpoints enabled", "addr", ln.Addr().String())
	return nil
}
