package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/agorahub/agora/internal/hub"
)

// cmdReindex recomputes derived metadata from the stored objects; safe
// while the server runs (each repository is rewritten in one transaction).
func cmdReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("reindex", stderr)
	st := addStoreFlags(f)
	if err := f.parse(args); err != nil {
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
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := hub.New(ctx, lg, hub.DefaultConfig(), ms, bs)
	if err != nil {
		return err
	}
	failed := 0
	err = svc.Reindex(ctx, func(done int, repo string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "reindex %s: %v\n", repo, err)
		}
		if done%1000 == 0 {
			fmt.Fprintf(stdout, "%d repositories reindexed\n", done)
		}
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d repositories could not be reindexed", failed)
	}
	fmt.Fprintln(stdout, "reindex complete")
	return nil
}
