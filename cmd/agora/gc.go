package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/xet/cas"
)

// cmdGC deletes LFS content no repository references
// (hub.Service.GC). Safe while servers run, on every deployment.
func cmdGC(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("gc", stderr)
	st := addStoreFlags(f)
	grace := f.duration("grace", hub.DefaultGCGrace, "spare objects uploaded and upload links used less than this long ago; must exceed the longest upload-to-commit time of your clients")
	dryRun := f.bool("dry-run", false, "report what would be deleted, delete nothing")
	xorbGrace := f.duration("xorb-grace", cas.DefaultXorbGrace, "keep unreferenced Xet xorbs this long after their last use")
	verbose := f.bool("v", false, "print every object deleted")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", f.Args())
	}
	if *grace < time.Hour && !*dryRun {
		fmt.Fprintf(stderr, "agora gc: warning: a grace period of %v may delete content of uploads whose commit is still to come\n", *grace)
	}
	svc, xs, done, err := openServiceXet(ctx, st, stderr)
	if err != nil {
		return err
	}
	defer done()
	verb := "deleted"
	if *dryRun {
		verb = "would delete"
	}
	opts := hub.GCOptions{Grace: *grace, DryRun: *dryRun, Roots: gcRoots()}
	if *verbose {
		opts.Deleted = func(oid string, size int64) { fmt.Fprintf(stdout, "%s %s (%d bytes)\n", verb, oid, size) }
	}
	stats, err := svc.GC(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, gcSummary(stats, *grace, *dryRun))
	sum, err := collectXorbs(ctx, xs, *xorbGrace, *dryRun)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, sum)
	return nil
}

func gcSummary(s hub.GCStats, grace time.Duration, dryRun bool) string {
	verb, links := "deleted", "removed"
	if dryRun {
		verb, links = "would delete", "would remove"
	}
	return fmt.Sprintf("gc: %d objects (%d bytes) in the blob store, %d referenced or linked, %d younger than %v; %s %d objects, freeing %d bytes; %s %d unused upload links of %d repositories",
		s.Blobs, s.Bytes, s.Live, s.Recent, grace, verb, s.Deleted, s.BytesFreed, links, s.LinksRemoved, s.Repos)
}

// gcRoots returns the live keys other subsystems add to the collector's
// mark (hub.GCRoots). Xet storage appends its own here once its xorbs
// share the blob store: every xorb a registered file needs must be kept.
func gcRoots() []hub.GCRoots {
	return nil
}

// runGC collects every interval until ctx ends (serve --gc-interval).
// Several replicas may do so at once: collections are idempotent.
func runGC(ctx context.Context, lg *slog.Logger, svc *hub.Service, xs *cas.Service, grace, xorbGrace, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		stats, err := svc.GC(ctx, hub.GCOptions{Grace: grace, Roots: gcRoots()})
		if err != nil {
			if ctx.Err() == nil {
				lg.Warn("garbage collection failed", "err", err)
			}
			continue
		}
		lg.Info("garbage collection", "deleted", stats.Deleted, "freed", stats.BytesFreed, "links_removed", stats.LinksRemoved,
			"live", stats.Live, "recent", stats.Recent, "dur", time.Since(start))
		if sum, err := collectXorbs(ctx, xs, xorbGrace, false); err != nil {
			if ctx.Err() == nil {
				lg.Warn("xorb garbage collection failed", "err", err)
			}
		} else {
			lg.Info(sum)
		}
	}
}
