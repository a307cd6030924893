package main

import (
	"context"
	"fmt"
	"io"

	"github.com/agorahub/agora/internal/hub"
)

// cmdFsck checks the hub's consistency (hub.Service.Fsck): one line per
// problem on stdout, exit status 1 if a problem is left unrepaired. Safe
// while the server runs.
func cmdFsck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("fsck", stderr)
	st := addStoreFlags(f)
	rehash := f.bool("rehash", false, "read LFS content back and check its SHA-256 (with no REPO, every blob of the store), not only its size")
	repair := f.bool("repair", false, "fix what is safe to fix: link referenced LFS objects, drop links to missing content, derive metadata again, queue missing scans")
	if err := f.parse(args); err != nil {
		return err
	}
	var opts hub.FsckOptions
	opts.Rehash, opts.Repair = *rehash, *repair
	for _, a := range f.Args() {
		ref, err := hub.ParseRepoArg(a)
		if err != nil {
			fmt.Fprintf(stderr, "agora fsck: %v\nusage: agora fsck [--rehash] [--repair] [REPO...]\n", err)
			return errUsage
		}
		opts.Repos = append(opts.Repos, ref)
	}
	svc, done, err := openService(ctx, st, stderr)
	if err != nil {
		return err
	}
	defer done()
	stats, err := svc.Fsck(ctx, opts, func(p hub.FsckProblem) { fmt.Fprintln(stdout, p) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "fsck: %d repositories, %d refs, %d objects, %d LFS objects checked", stats.Repos, stats.Refs, stats.Objects, stats.LFSObjects)
	if *rehash {
		fmt.Fprintf(stdout, ", %d blobs read back", stats.Blobs)
	}
	fmt.Fprintf(stdout, ": %d problems", stats.Problems)
	if *repair {
		fmt.Fprintf(stdout, ", %d repaired", stats.Repaired)
	}
	fmt.Fprintln(stdout)
	if stats.Problems > stats.Repaired {
		return errFindings
	}
	return nil
}
