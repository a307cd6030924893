// Command agora is a self-hosted hub for open-weight models and datasets
// that speaks the Hugging Face Hub API.
//
//	agora serve [flags]            run the hub
//	agora user add NAME [flags]    create a user, print a write token
//	agora token add NAME [flags]   print another token for a user
//
// Every flag has an AGORA_* environment variable (e.g. --data and
// AGORA_DATA); run a command with -h for its flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: agora <command> [flags]

commands:
  serve                 run the hub (default: SQLite + files under ./agora-data, 127.0.0.1:8080)
  user add NAME         create a user and print a write token (last line)
  token add NAME        print a new token for user NAME (--read, --name, --expires 90d, --scope ENTITY=PERM,…)
  token revoke USER N   revoke USER's token named N
  org add ORG --owner U create an organisation with U as its admin
  org member ORG USER   set a member's role (--role no_access|read|contributor|write|admin) or --remove it
  audit                 print the audit log, newest first (--namespace NS, --limit N)
  reindex               recompute every repository's derived metadata (cards, weights, lineage)
  scan PATH...          scan local files or folders for dangerous pickles; exit 1 on findings
  rescan [--all]        queue every file for a new security scan (after a scanner upgrade)
  migrate-store         copy a hub to other stores (e.g. SQLite + files to PostgreSQL + S3), verifying every blob
  fsck [REPO...]        check refs, objects, LFS content, metadata and scans; exit 1 on problems (--repair, --rehash)
  gc                    delete LFS content no repository references (--grace 24h, --dry-run)
  backup DIR            back the embedded default up into DIR while it runs (incremental for blobs)
  restore DIR           restore a backup into an empty data directory and check it
  quota set NS SIZE     limit what namespace NS stores (quota show NS, quota list)
  mirror ls|pull|evict|pin|unpin|import   manage repositories mirrored from upstream hubs (serve --upstream)
  bundle export|import|verify             move repositories into networks without internet (air-gap bundles)

Run "agora <command> -h" for the flags of a command. Every flag can also be
set with an environment variable: --data is AGORA_DATA, --lfs-threshold is
AGORA_LFS_THRESHOLD, and so on.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr)
	case "user":
		err = cmdUser(ctx, args[1:], stdout, stderr)
	case "token":
		err = cmdToken(ctx, args[1:], stdout, stderr)
	case "org":
		err = cmdOrg(ctx, args[1:], stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout, stderr)
	case "reindex":
		err = cmdReindex(ctx, args[1:], stdout, stderr)
	case "scan":
		err = cmdScan(ctx, args[1:], stdout, stderr)
	case "rescan":
		err = cmdRescan(ctx, args[1:], stdout, stderr)
	case "migrate-store":
		err = cmdMigrateStore(ctx, args[1:], stdout, stderr)
	case "fsck":
		err = cmdFsck(ctx, args[1:], stdout, stderr)
	case "gc":
		err = cmdGC(ctx, args[1:], stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		err = cmdRestore(ctx, args[1:], stdout, stderr)
	case "quota":
		err = cmdQuota(ctx, args[1:], stdout, stderr)
	case "mirror":
		err = cmdMirror(ctx, args[1:], stdout, stderr)
	case "bundle":
		err = cmdBundle(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "agora: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err == errUsage {
		return 2
	}
	if err == errFindings {
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "agora %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
