package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/mirror"
	"github.com/agorahub/agora/internal/server"
)

// listValue is a repeatable flag; a value (or its environment variable)
// may hold several items separated by spaces.
type listValue struct{ items []string }

func (v *listValue) String() string { return strings.Join(v.items, " ") }
func (v *listValue) Set(s string) error {
	v.items = append(v.items, strings.Fields(s)...)
	return nil
}

// mirrorFlags are serve's pull-through mirror flags (issue 14).
type mirrorFlags struct {
	upstreams, tokens, policies listValue
	key                         *string
	ttl                         *time.Duration
	cacheSize                   *int64
	offline                     *bool
	spool                       *string
}

func addMirrorFlags(f *flags) *mirrorFlags {
	mf := &mirrorFlags{
		key:       f.string("upstream-key", "", "64 hex digits: the key that seals upstream tokens in the metadata store (default: a key kept in the store)"),
		ttl:       f.duration("mirror-ttl", time.Minute, "how long a mirrored branch or tag stays bound to the commit the upstream last named"),
		cacheSize: f.size("mirror-cache-size", 0, "cap of the LFS content cached per upstream; least recently used content of unpinned mirrors is evicted beyond it (0 = no cap)"),
		offline:   f.bool("offline", false, "serve only what mirrors have cached; never call an upstream"),
		spool:     f.string("mirror-spool", "", "directory of the spool files of fills in progress (default: the system's temporary directory)"),
	}
	f.value(&mf.upstreams, "upstream", "mirror another hub: NAME=URL (repeatable, e.g. hf=https://huggingface.co); repositories no local one answers for are fetched from the first upstream whose policy claims them")
	f.value(&mf.tokens, "upstream-token", "service token of an upstream: NAME=TOKEN (repeatable; or AGORA_UPSTREAM_TOKEN_<NAME>); never a caller's token")
	f.value(&mf.policies, "upstream-policy", "repository ids an upstream serves: NAME=all, NAME=allow:PATTERN,… or NAME=deny:PATTERN,… (globs on ns/name, '*' within a segment, optional models/ or datasets/ prefix)")
	return mf
}

// config parses the flags into the mirror's configuration; ok is false
// when no upstream is configured.
func (mf *mirrorFlags) config() (cfg mirror.Config, key []byte, ok bool, err error) {
	byName := map[string]*mirror.Upstream{}
	for _, s := range mf.upstreams.items {
		u, err := mirror.ParseUpstream(s)
		if err != nil {
			return cfg, nil, false, fmt.Errorf("--upstream: %w", err)
		}
		if byName[u.Name] != nil {
			return cfg, nil, false, fmt.Errorf("--upstream %s given twice", u.Name)
		}
		cfg.Upstreams = append(cfg.Upstreams, u)
		byName[u.Name] = &cfg.Upstreams[len(cfg.Upstreams)-1]
	}
	for i := range cfg.Upstreams {
		u := &cfg.Upstreams[i]
		byName[u.Name] = u
		// Read once here at startup, like every other setting.
		env := "AGORA_UPSTREAM_TOKEN_" + strings.ToUpper(strings.ReplaceAll(u.Name, "-", "_"))
		u.Token = mirror.Secret(os.Getenv(env))
	}
	pair := func(flag, s string) (*mirror.Upstream, string, error) {
		name, val, found := strings.Cut(s, "=")
		if !found {
			return nil, "", fmt.Errorf("--%s %q: use NAME=VALUE", flag, redactValue(flag, s))
		}
		u := byName[name]
		if u == nil {
			return nil, "", fmt.Errorf("--%s: no --upstream named %q", flag, name)
		}
		return u, val, nil
	}
	for _, s := range mf.tokens.items {
		u, tok, err := pair("upstream-token", s)
		if err != nil {
			return cfg, nil, false, err
		}
		u.Token = mirror.Secret(tok)
	}
	for _, s := range mf.policies.items {
		u, pol, err := pair("upstream-policy", s)
		if err != nil {
			return cfg, nil, false, err
		}
		if u.Policy, err = mirror.ParsePolicy(pol); err != nil {
			return cfg, nil, false, fmt.Errorf("--upstream-policy %s: %w", u.Name, err)
		}
	}
	if *mf.key != "" {
		if key, err = hex.DecodeString(*mf.key); err != nil || len(key) != 32 {
			return cfg, nil, false, errors.New("--upstream-key: need 64 hex digits")
		}
	}
	cfg.TTL, cfg.CacheSize, cfg.Offline, cfg.SpoolDir = *mf.ttl, *mf.cacheSize, *mf.offline, *mf.spool
	return cfg, key, len(cfg.Upstreams) > 0, nil
}

func redactValue(flag, s string) string {
	if flag == "upstream-token" {
		return "…"
	}
	return s
}

// startMirror builds the mirror of serve from its flags, stores the
// upstreams for the admin commands and other replicas, and connects its
// metrics; nil when no upstream is configured.
func (mf *mirrorFlags) start(ctx context.Context, lg *slog.Logger, srv *server.Server, ms meta.Store, bs blob.Store, svc *hub.Service) (*mirror.Mirror, error) {
	cfg, key, ok, err := mf.config()
	if err != nil {
		return nil, err
	}
	if key, err = mirror.TokenKey(ctx, ms, key); err != nil {
		return nil, err
	}
	if ok {
		if err := mirror.SaveUpstreams(ctx, ms, key, cfg.Upstreams); err != nil {
			return nil, err
		}
	} else {
		// Without --upstream, mirrors made earlier still answer from their
		// cache, and what is not cached is a 503 rather than a lost file.
		if cfg.Upstreams, err = mirror.LoadUpstreams(ctx, ms, key); err != nil {
			lg.Warn("stored upstreams unreadable: mirrored repositories serve only what the blob store holds", "err", err)
			return nil, nil
		}
		if len(cfg.Upstreams) == 0 {
			return nil, nil
		}
		cfg.Offline = true
	}
	cfg.Metrics = mirror.Metrics{
		Hits:          srv.Counter("agora_mirror_hits_total", "LFS downloads of mirrored repositories served from the cache."),
		Misses:        srv.Counter("agora_mirror_misses_total", "LFS downloads of mirrored repositories that needed the upstream."),
		UpstreamBytes: srv.Counter("agora_mirror_upstream_bytes_total", "Bytes received from upstream hubs (git packs, LFS fills and ranged reads)."),
		FillSeconds:   srv.Histogram("agora_mirror_fill_seconds", "Duration of completed LFS fills from upstreams.", []float64{0.1, 0.5, 1, 5, 15, 60, 300, 1800}),
		FillFailures:  srv.Counter("agora_mirror_fill_failures_total", "LFS fills that failed (nothing was cached)."),
		Evictions:     srv.Counter("agora_mirror_evictions_total", "Cached LFS objects evicted to keep upstream caches under their cap."),
		EvictedBytes:  srv.Counter("agora_mirror_evicted_bytes_total", "Bytes of cached LFS content evicted."),
		StaleAnswers:  srv.Counter("agora_mirror_stale_answers_total", "Revisions answered from an old binding because the upstream could not be asked."),
	}
	srv.GaugeFunc("agora_mirror_cache_bytes", "LFS content cached from upstreams, every upstream together.", func() float64 {
		var total int64
		for _, u := range cfg.Upstreams {
			n, _, err := ms.MirrorCacheUsage(context.Background(), u.Name)
			if err == nil {
				total += n
			}
		}
		return float64(total)
	})
	mr, err := mirror.New(lg, cfg, ms, bs, svc)
	if err != nil {
		return nil, err
	}
	for _, u := range cfg.Upstreams {
		lg.Info("mirroring", "upstream", u.Name, "url", u.URL, "policy", u.Policy.String(), "token", u.Token, "offline", cfg.Offline)
	}
	return mr, nil
}

// cmdMirror runs the agora mirror subcommands, on the same data as the
// server (also while it runs: fills coordinate through their leases).
func cmdMirror(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, mirrorUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	f := newFlags("mirror "+sub, stderr)
	st := addStoreFlags(f)
	key := f.string("upstream-key", "", "the key serve seals upstream tokens with, if it was given one (64 hex digits)")
	var include listValue
	var upstream, to *string
	var typ *string
	switch sub {
	case "pull":
		f.value(&include, "include", "pull only the LFS files whose path (or file name) matches this glob (repeatable)")
	case "ls":
		upstream = f.string("upstream", "", "list only the mirrors of this upstream")
	case "evict":
		upstream = f.string("upstream", "", "evict least recently used content of this upstream")
		to = f.string("to", "0", "with --upstream: evict until the upstream's cache takes at most this size")
	case "pin", "unpin", "import":
	default:
		fmt.Fprint(stderr, mirrorUsage)
		return errUsage
	}
	typ = f.string("type", "model", "repository type of REPO: model or dataset (or write datasets/NS/NAME)")
	pos, err := parseInterleaved(f, args)
	if err != nil {
		return err
	}
	ms, bs, svc, done, err := openHub(ctx, st, stderr)
	if err != nil {
		return err
	}
	defer done()
	if sub == "ls" && len(pos) > 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	var k []byte
	if *key != "" {
		if k, err = hex.DecodeString(*key); err != nil {
			return errors.New("--upstream-key: need 64 hex digits")
		}
	}
	if k, err = mirror.TokenKey(ctx, ms, k); err != nil {
		return err
	}
	ups, err := mirror.LoadUpstreams(ctx, ms, k)
	if err != nil {
		return err
	}
	if len(ups) == 0 && sub != "ls" {
		return errors.New("no upstream is configured: run agora serve --upstream NAME=URL on these stores first")
	}
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	mr, err := mirror.New(lg, mirror.Config{Upstreams: ups}, ms, bs, svc)
	if err != nil {
		return err
	}
	defer mr.Close()
	svc.Mirror = mr

	repoArg := func() (hub.RepoRef, string, error) {
		if len(pos) != 1 {
			return hub.RepoRef{}, "", errors.New("give one repository: NS/NAME[@REV] or datasets/NS/NAME[@REV]")
		}
		return parseRepoArg(pos[0], *typ)
	}
	switch sub {
	case "ls":
		return mirrorList(ctx, ms, *upstream, stdout)
	case "pull":
		ref, rev, err := repoArg()
		if err != nil {
			return err
		}
		bar := newProgressBar(stderr)
		r, commit, err := mr.Pull(ctx, ref, rev, include.items, bar.update)
		bar.finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s pulled at %s\n", r.Type, r.FullName(), commit)
		return nil
	case "evict":
		if *upstream != "" {
			limit, err := parseSize(*to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			es, err := mr.Evict(ctx, *upstream, limit)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "evicted %d objects, %s\n", es.Objects, human(es.Bytes))
			return nil
		}
		ref, _, err := repoArg()
		if err != nil {
			return err
		}
		r, err := mirrorRepo(ctx, ms, ref)
		if err != nil {
			return err
		}
		es, err := mr.EvictRepo(ctx, r.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "evicted %d objects, %s\n", es.Objects, human(es.Bytes))
		return nil
	case "pin", "unpin":
		ref, _, err := repoArg()
		if err != nil {
			return err
		}
		r, err := mirrorRepo(ctx, ms, ref)
		if err != nil {
			return err
		}
		m, err := ms.MirrorRepo(ctx, r.ID)
		if err != nil {
			return err
		}
		m.Pinned = sub == "pin"
		if err := ms.UpdateMirrorRepo(ctx, m); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %sned\n", r.FullName(), sub)
		return nil
	case "import":
		ref, _, err := repoArg()
		if err != nil {
			return err
		}
		r, err := mirrorRepo(ctx, ms, ref)
		if err != nil {
			return err
		}
		// Everything the refs name must be here before the repository
		// stops being a mirror: nothing would fetch it afterwards.
		refs, err := ms.ListRefs(ctx, r.ID)
		if err != nil {
			return err
		}
		bar := newProgressBar(stderr)
		for _, rf := range refs {
			if _, _, err := mr.Pull(ctx, ref, rf.Name, nil, bar.update); err != nil {
				bar.finish()
				return fmt.Errorf("%s: %w", rf.Name, err)
			}
		}
		bar.finish()
		if err := ms.UnmirrorRepo(ctx, r.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now a local repository\n", r.FullName())
		return nil
	}
	return nil
}

const mirrorUsage = `usage: agora mirror <command> [flags]

  ls [--upstream NAME]               list mirrored repositories: upstream, last sync, pinned, cached bytes
  pull REPO[@REV] [--include GLOB]   fetch a repository and the LFS files of a revision (default branch)
  evict REPO                         drop the cached content of a mirror (not pinned)
  evict --upstream NAME [--to SIZE]  drop least recently used content until the cache takes at most SIZE
  pin REPO | unpin REPO              keep (or stop keeping) a mirror's content through evictions
  import REPO                        pull every ref's files, then make the mirror a local repository

REPO is NS/NAME for a model or datasets/NS/NAME; the upstreams are those
the server was last started with (serve --upstream).
`

// parseRepoArg reads [datasets/|models/]NS/NAME[@REV].
func parseRepoArg(s, typ string) (hub.RepoRef, string, error) {
	s, rev, _ := strings.Cut(s, "@")
	switch {
	case strings.HasPrefix(s, "datasets/"):
		typ, s = hub.TypeDataset, strings.TrimPrefix(s, "datasets/")
	case strings.HasPrefix(s, "models/"):
		typ, s = hub.TypeModel, strings.TrimPrefix(s, "models/")
	}
	if typ != hub.TypeModel && typ != hub.TypeDataset {
		return hub.RepoRef{}, "", fmt.Errorf("--type %q: use model or dataset", typ)
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = "", s
	}
	if name == "" || strings.Contains(name, "/") {
		return hub.RepoRef{}, "", fmt.Errorf("%q is not a repository id", s)
	}
	return hub.RepoRef{Type: typ, Namespace: ns, Name: name}, rev, nil
}

func mirrorRepo(ctx context.Context, ms meta.Store, ref hub.RepoRef) (*meta.Repo, error) {
	r, err := ms.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("no repository %s here", ref.FullName())
	}
	if err != nil {
		return nil, err
	}
	if _, err := ms.MirrorRepo(ctx, r.ID); errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("%s is a local repository, not a mirror", ref.FullName())
	} else if err != nil {
		return nil, err
	}
	return r, nil
}

func mirrorList(ctx context.Context, ms meta.Store, upstream string, stdout io.Writer) error {
	ls, err := ms.ListMirrorRepos(ctx, upstream)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTYPE\tUPSTREAM\tSYNCED\tPINNED\tCACHED")
	for _, l := range ls {
		links, err := ms.LFSLinks(ctx, l.Repo.ID)
		if err != nil {
			return err
		}
		var cached int64
		for _, k := range links {
			cached += k.Size
		}
		synced := "never"
		if l.Mirror.SyncedAt.UnixMilli() > 0 {
			synced = l.Mirror.SyncedAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", l.Repo.FullName(), l.Repo.Type, l.Mirror.Upstream, synced, l.Mirror.Pinned, human(cached))
	}
	tw.Flush()
	ups, err := ms.MirrorUpstreams(ctx)
	if err != nil {
		return err
	}
	for _, u := range ups {
		if upstream != "" && u.Name != upstream {
			continue
		}
		n, objs, err := ms.MirrorCacheUsage(ctx, u.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "upstream %s (%s, policy %s): %s in %d objects\n", u.Name, u.URL, u.Policy, human(n), objs)
	}
	return nil
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progressBar draws a one-line progress bar on a terminal (or a line per
// file elsewhere).
type progressBar struct {
	w    io.Writer
	last time.Time
	file int
	tty  bool
	on   bool
}

func newProgressBar(w io.Writer) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty}
}

func (b *progressBar) update(p mirror.PullProgress) {
	if !b.tty {
		if p.File != b.file && (p.Done == p.Size || p.Cached) {
			b.file = p.File
			state := "fetched"
			if p.Cached {
				state = "cached"
			}
			fmt.Fprintf(b.w, "[%d/%d] %s %s (%s)\n", p.File, p.Files, state, p.Path, human(p.Size))
		}
		return
	}
	if time.Since(b.last) < 100*time.Millisecond && p.BytesDone < p.Bytes {
		return
	}
	b.last, b.on = time.Now(), true
	pct := 100.0
	if p.Bytes > 0 {
		pct = float64(p.BytesDone) * 100 / float64(p.Bytes)
	}
	const width = 30
	fill := int(pct * width / 100)
	fmt.Fprintf(b.w, "\r[%s%s] %5.1f%% %s/%s  %d/%d %-40.40s", strings.Repeat("#", fill), strings.Repeat(" ", width-fill), pct,
		human(p.BytesDone), human(p.Bytes), p.File, p.Files, p.Path)
}

func (b *progressBar) finish() {
	if b.on {
		fmt.Fprintln(b.w)
	}
}

// openHub is openService that also returns the stores.
func openHub(ctx context.Context, st *storeFlags, stderr io.Writer) (meta.Store, blob.Store, *hub.Service, func(), error) {
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return nil, nil, nil, nil, err
	}
	bs, err := openBlobs(ctx, st.blobsURL())
	if err != nil {
		ms.Close()
		return nil, nil, nil, nil, err
	}
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := hub.New(ctx, lg, hub.DefaultConfig(), ms, bs)
	if err != nil {
		ms.Close()
		return nil, nil, nil, nil, err
	}
	return ms, bs, svc, func() { ms.Close() }, nil
}
