package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agorahub/agora/internal/scan"
)

// errFindings makes `agora scan` exit 1 without an error message of its own.
var errFindings = errors.New("findings")

// cmdScan runs the hub's scanner on local files, for CI pipelines: one
// line per file (or JSON with --json), exit status 1 if any file is not
// safe.
func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("scan", stderr)
	asJSON := f.bool("json", false, "print one JSON result per line")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: agora scan [--json] PATH...")
		return errUsage
	}
	bad := 0
	enc := json.NewEncoder(stdout)
	for _, root := range f.Args() {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			file, err := os.Open(p)
			if err != nil {
				return err
			}
			defer file.Close()
			fi, err := file.Stat()
			if err != nil {
				return err
			}
			res := scan.ScanFile(ctx, file, fi.Size(), p, scan.Limits{})
			if !res.Safe() {
				bad++
			}
			if *asJSON {
				return enc.Encode(res)
			}
			line := fmt.Sprintf("%-10s %s", res.SecurityLevel(), p)
			for _, im := range res.Imports {
				if im.Safety != scan.Innocuous {
					line += fmt.Sprintf("  [%s %s.%s]", im.Safety, im.Module, im.Name)
				}
			}
			for _, fd := range res.Findings {
				line += fmt.Sprintf("  [%s %s]", fd.Safety, fd.Issue)
			}
			fmt.Fprintln(stdout, line)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "agora scan: %d file(s) not safe\n", bad)
		return errFindings
	}
	return nil
}

// cmdRescan queues files for scanning again; running servers pick them up.
func cmdRescan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("rescan", stderr)
	st := addStoreFlags(f)
	all := f.bool("all", false, "rescan every file, not only those scanned by an older scanner")
	wait := f.bool("wait", false, "scan in this process instead of leaving the queue to the servers")
	if err := f.parse(args); err != nil {
		return err
	}
	svc, done, err := openService(ctx, st, stderr)
	if err != nil {
		return err
	}
	defer done()
	n, err := svc.Rescan(ctx, *all)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d file(s) queued for scanning\n", n)
	if *wait {
		if err := svc.ScanNow(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "scans complete")
	}
	return nil
}
