package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/cas"
	"github.com/agorahub/agora/internal/xet/casapi"
)

// xetFlags are the settings of Xet storage.
type xetFlags struct {
	on    *bool
	grace *time.Duration
}

func addXetFlags(f *flags) *xetFlags {
	return &xetFlags{
		on: f.bool("xet", true, "serve the Xet protocol (CAS under PUBLIC-URL/cas): hf_xet and the JS client upload and download through it, deduplicated by chunk; false: plain LFS only (files stored through Xet stay downloadable)"),
		grace: f.duration("xorb-grace", cas.DefaultXorbGrace,
			"garbage collection keeps an unreferenced Xet xorb this long after its last use (clients deduplicate against xorbs they uploaded up to 3 weeks ago)"),
	}
}

// openXet builds the CAS on the stores and returns it with the blob store
// the hub must run on: bs plus every Xet file as the LFS object of its
// SHA-256 (cas.Service.Overlay). It is built even with --xet=false, so
// that files stored through Xet stay downloadable by plain resolve.
func openXet(ctx context.Context, lg *slog.Logger, ms meta.Store, bs blob.Store, maxFile int64, proxy bool) (*cas.Service, blob.Store, error) {
	ks, err := blob.OpenKeyspace(bs, cas.XorbSpace)
	if err != nil {
		return nil, nil, fmt.Errorf("xet: %w", err)
	}
	cfg := cas.DefaultConfig()
	cfg.MaxFileSize, cfg.ProxyData = maxFile, proxy
	xs, err := cas.New(ctx, lg, cfg, ms, ks)
	if err != nil {
		return nil, nil, err
	}
	return xs, xs.Overlay(bs), nil
}

// mountXet mounts the CAS routes, before every other router (the CAS
// also answers /v1/telemetry at the root), and turns Xet on in the API's
// configuration; with --xet=false it does neither, and the token routes
// answer 501.
func (xf *xetFlags) mount(lg *slog.Logger, srv *server.Server, xs *cas.Service, api *hubapi.Config) {
	if !*xf.on {
		return
	}
	h := casapi.New(lg, srv, xs, casapi.Config{})
	srv.Mount(h)
	api.Xet, api.CASURL = xs, h.URL
}

// openServiceXet is openService that also returns the CAS: admin commands
// run the hub on the Xet overlay, so that fsck, gc and scans see files
// stored through Xet as the LFS objects they are.
func openServiceXet(ctx context.Context, st *storeFlags, stderr io.Writer) (*hub.Service, *cas.Service, func(), error) {
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return nil, nil, nil, err
	}
	bs, err := openBlobs(ctx, st.blobsURL())
	if err != nil {
		ms.Close()
		return nil, nil, nil, err
	}
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	def := hub.DefaultConfig()
	xs, hubBlobs, err := openXet(ctx, lg, ms, bs, def.MaxLFSFile, false)
	if err != nil {
		ms.Close()
		return nil, nil, nil, err
	}
	svc, err := hub.New(ctx, lg, def, ms, hubBlobs)
	if err != nil {
		ms.Close()
		return nil, nil, nil, err
	}
	return svc, xs, func() { ms.Close() }, nil
}

// collectXorbs runs after the hub's collection, which forgets the Xet
// files nothing references (they are LFS objects to it): their xorbs go
// once unused for grace.
func collectXorbs(ctx context.Context, xs *cas.Service, grace time.Duration, dryRun bool) (string, error) {
	st, err := xs.CollectXorbs(ctx, grace, dryRun)
	if err != nil {
		return "", err
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete up to"
	}
	return fmt.Sprintf("xet: %d xorbs (%d bytes), %d used within %v; %s %d xorbs and %d orphan objects, freeing %d bytes",
		st.Xorbs, st.Bytes, st.Recent, grace, verb, st.Deleted, st.Orphans, st.BytesFreed), nil
}

// copyXorbs copies the xorb key space for migrate-store, checking every
// xorb's hash on the way (the metadata copy brings their records).
func copyXorbs(ctx context.Context, from, to blob.Store, stdout io.Writer) error {
	src, err := blob.OpenKeyspace(from, cas.XorbSpace)
	if err != nil {
		return err
	}
	dst, err := blob.OpenKeyspace(to, cas.XorbSpace)
	if err != nil {
		return err
	}
	n, skipped, total := 0, 0, int64(0)
	for info, err := range src.List(ctx) {
		if err != nil {
			return err
		}
		if _, err := dst.Stat(ctx, info.OID); err == nil {
			skipped++
			continue
		}
		if err := copyXorb(ctx, src, dst, info); err != nil {
			return err
		}
		n++
		total += info.Size
	}
	fmt.Fprintf(stdout, "xorbs: %d copied and verified (%d bytes), %d already present\n", n, total, skipped)
	return nil
}

func copyXorb(ctx context.Context, src, dst blob.Keyspace, info blob.Info) error {
	h, err := xet.ParseHash(info.OID)
	if err != nil {
		return fmt.Errorf("xorb %s: %w", info.OID, err)
	}
	r, _, err := src.Open(ctx, info.OID)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := dst.Create(ctx, info.OID, info.Size)
	if err != nil {
		return err
	}
	if _, err := xet.VerifyXorb(io.TeeReader(r, w), h, info.Size); err != nil {
		w.Abort()
		return fmt.Errorf("copy xorb %s: %w", info.OID, err)
	}
	if _, err := io.Copy(w, r); err != nil { // an old client's footer
		w.Abort()
		return fmt.Errorf("copy xorb %s: %w", info.OID, err)
	}
	if _, err := w.Commit(ctx); err != nil {
		return fmt.Errorf("copy xorb %s: %w", info.OID, err)
	}
	return nil
}

// xetStored reports whether content oid is stored as a Xet file of the
// metadata store m (for backups, whose xorbs are copied with the blobs).
func xetStored(ctx context.Context, m meta.Xet, oid string) (bool, error) {
	files, err := m.XetFilesBySHA256(ctx, []string{oid})
	if err != nil {
		return false, err
	}
	return files[oid] != nil, nil
}
