package main

import (
	"context"
	"fmt"
	"io"
)

// cmdReindex recomputes derived metadata from the stored objects; safe
// while the server runs (each repository is rewritten in one transaction).
func cmdReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("reindex", stderr)
	st := addStoreFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	svc, done, err := openService(ctx, st, stderr)
	if err != nil {
		return err
	}
	defer done()
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
