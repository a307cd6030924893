package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

const quotaUsage = `usage:
  agora quota set NAMESPACE SIZE [--data DIR]   limit what NAMESPACE's repositories store (SIZE like 100GiB; "none" removes the limit)
  agora quota show NAMESPACE [--data DIR]       print NAMESPACE's usage and limit
  agora quota list [--data DIR]                 print every limit with its usage`

// cmdQuota manages per-namespace storage quotas. They take effect at once
// on running servers: uploads read the quota from the store when they
// start.
func cmdQuota(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, quotaUsage)
		return errUsage
	}
	sub := args[0]
	want := map[string]int{"set": 2, "show": 1, "list": 0}
	n, ok := want[sub]
	if !ok {
		fmt.Fprintln(stderr, quotaUsage)
		return errUsage
	}
	f := newFlags("quota "+sub, stderr)
	st := addStoreFlags(f)
	pos, rest := leadingArgs(args[1:], n)
	if err := f.parse(rest); err != nil {
		return err
	}
	pos = append(pos, f.Args()...)
	if len(pos) != n {
		fmt.Fprintln(stderr, quotaUsage)
		return errUsage
	}
	var limit int64
	if sub == "set" {
		if !hub.ValidNamespace(pos[0]) {
			return fmt.Errorf("invalid namespace %q", pos[0])
		}
		if strings.EqualFold(pos[1], "none") {
			limit = -1
		} else {
			v, err := parseSize(pos[1])
			if err != nil {
				return fmt.Errorf("SIZE %q: %v, or none", pos[1], err)
			}
			limit = v
		}
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	switch sub {
	case "set":
		if err := ms.SetQuota(ctx, pos[0], limit); err != nil {
			return err
		}
		return printQuota(ctx, ms, stdout, strings.ToLower(pos[0]), limit)
	case "show":
		limit, err := ms.Quota(ctx, pos[0])
		if errors.Is(err, meta.ErrNotFound) {
			limit, err = -1, nil
		}
		if err != nil {
			return err
		}
		return printQuota(ctx, ms, stdout, strings.ToLower(pos[0]), limit)
	default:
		all, err := ms.ListQuotas(ctx)
		if err != nil {
			return err
		}
		for _, ns := range slices.Sorted(maps.Keys(all)) {
			if err := printQuota(ctx, ms, stdout, ns, all[ns]); err != nil {
				return err
			}
		}
		return nil
	}
}

func printQuota(ctx context.Context, ms meta.Store, w io.Writer, ns string, limit int64) error {
	u, err := ms.NamespaceUsage(ctx, ns)
	if err != nil {
		return err
	}
	lim := "none"
	if limit >= 0 {
		lim = fmt.Sprint(limit)
	}
	fmt.Fprintf(w, "%s\tused %d (lfs %d, git %d)\tlimit %s\n", ns, u.LFS+u.Git, u.LFS, u.Git, lim)
	return nil
}

// leadingArgs splits off up to n positional arguments that come before
// the flags.
func leadingArgs(args []string, n int) (pos, rest []string) {
	for len(args) > 0 && len(pos) < n && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	return pos, args
}
