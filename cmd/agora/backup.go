package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
)

// A backup directory has the layout of a data directory, so that a
// restore is a copy and `agora serve --data DIR` could even run on it:
//
//	DIR/
//	  agora.db    consistent snapshot of the metadata (SQLite VACUUM INTO)
//	  blobs/      LFS content, fsblob layout, copied by content address;
//	              blobs/xorbs/ the Xet xorbs, copied by name and rehashed
const (
	backupDB    = "agora.db"
	backupBlobs = "blobs"
)

// snapshotter is the metadata store's optional online backup (SQLite).
type snapshotter interface {
	Snapshot(ctx context.Context, path string) error
}

// cmdBackup backs the embedded default up into DIR while the server runs:
// the database first, as one consistent snapshot, then every blob the
// directory lacks. Blobs are immutable and content-addressed, so a blob
// already in DIR is never copied again, and since a blob is published
// before any row names it, every blob the snapshot references is in the
// store when the copy starts.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("backup", stderr)
	st := addStoreFlags(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: agora backup [--data DIR | --db sqlite:PATH --blobs URL] BACKUP_DIR")
		return errUsage
	}
	dir := f.Arg(0)
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	snap, ok := ms.(snapshotter)
	if !ok {
		return errors.New("only the embedded SQLite database can be backed up online by agora; back PostgreSQL up with pg_dump and the bucket with your S3 tools (docs/operations.md)")
	}
	src, err := openBlobs(ctx, st.blobsURL())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, backupBlobs), 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()

	dbPath := filepath.Join(dir, backupDB)
	if err := snap.Snapshot(ctx, dbPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup: database snapshot written to %s\n", dbPath)
	dst, err := fsblob.Open(filepath.Join(dir, backupBlobs))
	if err != nil {
		return err
	}
	defer dst.Close()
	n, err := copyBlobs(ctx, src, dst, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup: %d blobs copied and verified (%d bytes), %d already in the backup\n", n.copied, n.bytes, n.present)
	if err := copyXorbs(ctx, src, dst, stdout); err != nil {
		return err
	}

	// Objects can only vanish from the store between the snapshot and the
	// copy if garbage collection deleted them (their repository was
	// deleted after the snapshot, say): check that the backup is whole.
	missing, err := missingBlobs(ctx, dbPath, dst)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		for _, oid := range missing {
			fmt.Fprintf(stderr, "backup: LFS object %s referenced by the snapshot is not in the store any more\n", oid)
		}
		return fmt.Errorf("%d objects of the snapshot were deleted during the backup: run it again", len(missing))
	}
	fmt.Fprintf(stdout, "backup complete: %s holds every object its database references\n", dir)
	return nil
}

// lockDir keeps two backups from writing into one directory at once.
func lockDir(dir string) (func(), error) {
	p := filepath.Join(dir, ".backup.lock")
	lf, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s exists: another backup into %s is running (remove it if a backup crashed)", p, dir)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "%d\n", os.Getpid())
	lf.Close()
	return func() { os.Remove(p) }, nil
}

type copyCounts struct {
	copied, present int
	bytes           int64
}

// copyBlobs copies every blob of src that dst lacks; dst's writer checks
// each one's SHA-256 and size before publishing it.
func copyBlobs(ctx context.Context, src, dst blob.Store, progress io.Writer) (copyCounts, error) {
	var n copyCounts
	for info, err := range src.List(ctx) {
		if err != nil {
			return n, err
		}
		if have, err := dst.Stat(ctx, info.OID); err == nil && have.Size == info.Size {
			n.present++
			continue
		}
		if err := copyBlob(ctx, src, dst, info); err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				continue // deleted since the listing; checked afterwards
			}
			return n, err
		}
		n.copied++
		n.bytes += info.Size
		if n.copied%1000 == 0 {
			fmt.Fprintf(progress, "%d blobs copied (%d bytes)\n", n.copied, n.bytes)
		}
	}
	return n, nil
}

// missingBlobs lists the LFS objects the database at dbPath references
// (through a pointer or a link) that blobs lacks.
func missingBlobs(ctx context.Context, dbPath string, blobs blob.Statter) ([]string, error) {
	db, err := sqlitemeta.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	seen := map[string]bool{}
	var missing []string
	check := func(ls []meta.LFSLink) error {
		for _, l := range ls {
			if seen[l.OID] {
				continue
			}
			seen[l.OID] = true
			if _, err := blobs.Stat(ctx, l.OID); errors.Is(err, blob.ErrNotFound) {
				if ok, err := xetStored(ctx, db, l.OID); err != nil {
					return err
				} else if !ok {
					missing = append(missing, l.OID)
				}
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	var after int64
	for {
		ids, err := db.ListAllRepoIDs(ctx, after, 500)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return missing, nil
		}
		for _, id := range ids {
			after = id
			ptrs, err := db.LFSPointers(ctx, id)
			if err != nil {
				return nil, err
			}
			links, err := db.LFSLinks(ctx, id)
			if err != nil {
				return nil, err
			}
			if err := check(ptrs); err != nil {
				return nil, err
			}
			if err := check(links); err != nil {
				return nil, err
			}
		}
	}
}

// cmdRestore restores a backup directory into an empty data directory,
// re-verifying every blob, then checks the result with fsck.
func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("restore", stderr)
	data := f.string("data", "./agora-data", "data directory to restore into; must be empty or absent")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: agora restore [--data DIR] BACKUP_DIR")
		return errUsage
	}
	dir := f.Arg(0)
	srcDB := filepath.Join(dir, backupDB)
	if _, err := os.Stat(srcDB); err != nil {
		return fmt.Errorf("%s is not a backup: %w", dir, err)
	}
	if ents, err := os.ReadDir(*data); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty: restore only into an empty or new data directory", *data)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(*data, 0o755); err != nil {
		return err
	}
	src, err := fsblob.Open(filepath.Join(dir, backupBlobs))
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := fsblob.Open(filepath.Join(*data, "blobs"))
	if err != nil {
		return err
	}
	defer dst.Close()
	// Blobs first: the database never names an object the directory lacks.
	n, err := copyBlobs(ctx, src, dst, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restore: %d blobs copied and verified (%d bytes)\n", n.copied, n.bytes)
	if err := copyXorbs(ctx, src, dst, stdout); err != nil {
		return err
	}
	if err := copyFile(srcDB, filepath.Join(*data, "agora.db")); err != nil {
		return err
	}
	st := &storeFlags{data: data, db: new(string), blobs: new(string)}
	svc, done, err := openService(ctx, st, stderr)
	if err != nil {
		return err
	}
	defer done()
	stats, err := svc.Fsck(ctx, hub.FsckOptions{}, func(p hub.FsckProblem) { fmt.Fprintln(stdout, p) })
	if err != nil {
		return err
	}
	if stats.Problems > 0 {
		return fmt.Errorf("the restored hub in %s has %d problems (see above)", *data, stats.Problems)
	}
	fmt.Fprintf(stdout, "restore complete: %d repositories checked; start agora serve --data %s\n", stats.Repos, *data)
	return nil
}

// copyFile copies a file durably: into a temporary name, synced, renamed.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return nil
}
