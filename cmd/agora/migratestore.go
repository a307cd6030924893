package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
)

// cmdMigrateStore copies a hub to other stores — typically from the
// embedded default (SQLite + files) to PostgreSQL + S3 — verifying every
// blob's SHA-256 on the way. Stop writes to the source first (stop the
// server); the target must be empty.
func cmdMigrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("migrate-store", stderr)
	fromDB := f.string("from-db", "", "source metadata store URL (sqlite:PATH or postgres://…)")
	toDB := f.string("to-db", "", "target metadata store URL (empty schema)")
	fromBlobs := f.string("from-blobs", "", "source blob store URL (file:PATH or s3://…)")
	toBlobs := f.string("to-blobs", "", "target blob store URL")
	if err := f.parse(args); err != nil {
		return err
	}
	if *fromDB == "" || *toDB == "" || *fromBlobs == "" || *toBlobs == "" {
		fmt.Fprintln(stderr, "usage: agora migrate-store --from-db URL --to-db URL --from-blobs URL --to-blobs URL")
		return errUsage
	}
	src, err := openMeta(ctx, *fromDB)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := openMeta(ctx, *toDB)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	sb, err := openBlobs(ctx, *fromBlobs)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	db, err := openBlobs(ctx, *toBlobs)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	// Blobs first: once the metadata lands, every object it names exists.
	copied, skipped, bytes := 0, 0, int64(0)
	for info, err := range sb.List(ctx) {
		if err != nil {
			return err
		}
		if _, err := db.Stat(ctx, info.OID); err == nil {
			skipped++
			continue
		}
		if err := copyBlob(ctx, sb, db, info); err != nil {
			return err
		}
		copied++
		bytes += info.Size
		if copied%100 == 0 {
			fmt.Fprintf(stdout, "%d blobs copied (%d bytes)\n", copied, bytes)
		}
	}
	fmt.Fprintf(stdout, "blobs: %d copied and verified (%d bytes), %d already present\n", copied, bytes, skipped)
	if err := copyXorbs(ctx, sb, db, stdout); err != nil {
		return err
	}
	cp, ok := src.(interface {
		CopyTo(ctx context.Context, dst meta.Store, progress func(string, int64)) error
	})
	if !ok {
		return errors.New("the source metadata store cannot be copied")
	}
	err = cp.CopyTo(ctx, dst, func(table string, n int64) { fmt.Fprintf(stdout, "metadata: %s: %d rows\n", table, n) })
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migration complete: start agora serve with the new --db and --blobs")
	return nil
}

// copyBlob streams one object; the target's writer checks the SHA-256 and
// size before publishing it.
func copyBlob(ctx context.Context, from, to blob.Store, info blob.Info) error {
	r, _, err := from.Open(ctx, info.OID)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := to.Create(ctx, info.OID, info.Size)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return fmt.Errorf("copy blob %s: %w", info.OID, err)
	}
	if _, err := w.Commit(ctx); err != nil {
		return fmt.Errorf("copy blob %s: %w", info.OID, err)
	}
	return nil
}
