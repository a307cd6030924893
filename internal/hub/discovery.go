package hub

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// downloadQueryFiles are the files whose requests count as a download of
// a model, as on the Hub: config.json and the equivalents of libraries
// without one. Every GGUF file counts too (each is a standalone model).
var downloadQueryFiles = map[string]bool{
	"config.json": true, "model_index.json": true, "adapter_config.json": true, "params.json": true,
}

// counter batches download counts in memory and writes them every few
// seconds, so that a download costs no database write of its own. A
// client that asks for the same file twice within dedupeWindow (the
// Python client sends HEAD then GET) counts once.
type counter struct {
	mu      sync.Mutex
	pending map[int64]int64
	recent  map[string]time.Time
}

const (
	flushEvery   = 2 * time.Second
	dedupeWindow = 5 * time.Minute
	maxRecent    = 200_000
)

// today is the current UTC day number.
func today() int64 { return time.Now().UTC().Unix() / 86400 }

// CountDownload records a request for file p of repository r by client
// (an address), if it counts as a download by the Hub's rules.
func (s *Service) CountDownload(r *Repo, p, client string) {
	name := path.Base(p)
	switch r.Type {
	case TypeModel:
		if !(downloadQueryFiles[p] || strings.EqualFold(path.Ext(name), ".gguf")) {
			return
		}
	case TypeDataset:
		// Datasets have no query file: any data file counts, once per
		// client per window, so a multi-file download counts once.
		if name == ".gitattributes" || p == "README.md" {
			return
		}
		p = ""
	}
	key := client + "\x00" + strconv.FormatInt(r.ID, 10) + "\x00" + p
	now := time.Now()
	c := s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.recent[key]; ok && now.Sub(t) < dedupeWindow {
		return
	}
	if len(c.recent) >= maxRecent {
		for k, t := range c.recent {
			if now.Sub(t) >= dedupeWindow {
				delete(c.recent, k)
			}
		}
		if len(c.recent) >= maxRecent {
			c.recent = map[string]time.Time{}
		}
	}
	c.recent[key] = now
	c.pending[r.ID]++
}

// FlushDownloads writes the counts gathered so far.
func (s *Service) FlushDownloads(ctx context.Context) error {
	c := s.counts
	c.mu.Lock()
	batch := c.pending
	c.pending = map[int64]int64{}
	c.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := s.meta.RecordDownloads(ctx, today(), batch); err != nil {
		// Put them back: counts are not lost on a transient failure.
		c.mu.Lock()
		for id, n := range batch {
			c.pending[id] += n
		}
		c.mu.Unlock()
		return fmt.Errorf("flush downloads: %w", err)
	}
	return nil
}

// RunBackground flushes download counts every few seconds and refreshes
// the 30-day and trending windows hourly, until ctx ends (then it
// flushes once more).
func (s *Service) RunBackground(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	lastRefresh := time.Time{}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.FlushDownloads(fctx); err != nil {
				s.lg.Warn("final download flush failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
		if err := s.FlushDownloads(ctx); err != nil && ctx.Err() == nil {
			s.lg.Warn("download flush failed", "err", err)
		}
		if time.Since(lastRefresh) > time.Hour {
			lastRefresh = time.Now()
			if err := s.meta.RefreshDownloads(ctx, today()); err != nil && ctx.Err() == nil {
				s.lg.Warn("download refresh failed", "err", err)
			}
		}
	}
}

// SetLike likes or unlikes a repository for the caller.
func (s *Service) SetLike(ctx context.Context, who *auth.Identity, ref RepoRef, on bool) error {
	if err := requireAccountChange(who); err != nil {
		return err
	}
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		if errors.Is(err, ErrMoved) {
			return repoNotFound()
		}
		return err
	}
	defer s.wrote() // the row counts likes
	_, err = s.meta.SetLike(ctx, who.User.ID, r.ID, on)
	return err
}

// Like is a repository a user likes.
type Like = meta.Like

// LikedBy lists the repositories user likes that the caller may see.
func (s *Service) LikedBy(ctx context.Context, who *auth.Identity, user string) ([]Like, error) {
	u, err := s.meta.UserByName(ctx, user)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errorf(ErrNotFound, "User not found")
	}
	if err != nil {
		return nil, err
	}
	all, err := s.meta.LikedBy(ctx, u.ID, 10_000)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, l := range all {
		if s.Can(ctx, who, &l.Repo, ReadMeta) {
			out = append(out, l)
		}
	}
	return out, nil
}

// Likers lists the users who like a repository.
func (s *Service) Likers(ctx context.Context, who *auth.Identity, ref RepoRef) ([]User, error) {
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	return s.meta.Likers(ctx, r.ID, 10_000)
}

// HasLiked reports whether the caller likes a repository.
func (s *Service) HasLiked(ctx context.Context, who *auth.Identity, r *Repo) (bool, error) {
	if who == nil {
		return false, nil
	}
	return s.meta.HasLiked(ctx, who.User.ID, r.ID)
}

// Parent is a base model of a repository.
type Parent struct {
	Name     string
	Relation string
	// Repo is the base model on this hub, if it exists and the caller
	// may see it.
	Repo *Repo
}

// Lineage is a model's place in the model tree.
type Lineage struct {
	Parents []Parent
	// Children by relation (the most downloaded first, up to a page), and
	// their counts.
	Children map[string][]Repo
	Counts   map[string]int64
}

// ChildrenCount sums Counts.
func (l *Lineage) ChildrenCount() int64 {
	var n int64
	for _, c := range l.Counts {
		n += c
	}
	return n
}

func (s *Service) childQuery(who *auth.Identity, r *Repo) meta.ChildQuery {
	q := meta.ChildQuery{Type: r.Type, Bases: []string{meta.LowerName(r.Namespace, r.Name)}, FormerNamesOf: r.ID}
	if who != nil {
		q.ViewerAll = who.User.IsAdmin
		q.ViewerNamespaces = []string{who.User.Name}
	}
	return q
}

// ChildrenCount counts the models derived from r.
func (s *Service) ChildrenCount(ctx context.Context, who *auth.Identity, r *Repo) (int64, error) {
	k := childKey{repo: r.ID}
	if who != nil {
		k.viewer, k.all = who.User.ID, who.User.IsAdmin
	}
	now := s.mark(ctx)
	if n, ok := s.children.get(k, now); ok {
		return n, nil
	}
	counts, err := s.meta.ChildCounts(ctx, s.childQuery(who, r))
	if err != nil {
		return 0, err
	}
	l := Lineage{Counts: counts}
	s.children.put(k, l.ChildrenCount(), now)
	return l.ChildrenCount(), nil
}

// GetLineage returns a repository's parents and children. perRelation
// bounds the children listed per relation.
func (s *Service) GetLineage(ctx context.Context, who *auth.Identity, ref RepoRef, perRelation int) (*Repo, *Lineage, error) {
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		return nil, nil, err
	}
	edges, err := s.meta.Parents(ctx, r.ID)
	if err != nil {
		return nil, nil, err
	}
	l := &Lineage{Children: map[string][]Repo{}}
	for _, e := range edges {
		p := Parent{Name: e.Base, Relation: e.Relation}
		if ns, name, ok := strings.Cut(e.Base, "/"); ok {
			if br, err := s.repo(ctx, who, RepoRef{Type: r.Type, Namespace: ns, Name: name}); err == nil {
				p.Repo = br
			} else if m, ok := errors.AsType[*MovedError](err); ok {
				if br, err := s.repo(ctx, who, RepoRef{Type: r.Type, Namespace: m.Namespace, Name: m.Name}); err == nil {
					p.Repo = br
				}
			}
		}
		l.Parents = append(l.Parents, p)
	}
	q := s.childQuery(who, r)
	if l.Counts, err = s.meta.ChildCounts(ctx, q); err != nil {
		return nil, nil, err
	}
	for rel := range l.Counts {
		q.Relation, q.Limit = rel, perRelation
		kids, err := s.meta.Children(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		for _, k := range kids {
			l.Children[rel] = append(l.Children[rel], k.Repo)
		}
	}
	return r, l, nil
}

// ParseParamRange parses the num_parameters filter ("min:1B,max:70B"):
// numbers with an optional K, M, B or T suffix.
func ParseParamRange(s string) (min, max int64, err error) {
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			return 0, 0, errorf(ErrInvalid, "Invalid num_parameters %q: use min:1B,max:70B", s)
		}
		n, err := parseCount(v)
		if err != nil {
			return 0, 0, errorf(ErrInvalid, "Invalid num_parameters %q: %v", s, err)
		}
		switch strings.ToLower(k) {
		case "min":
			min = n
		case "max":
			max = n
		default:
			return 0, 0, errorf(ErrInvalid, "Invalid num_parameters %q: use min:… and max:…", s)
		}
	}
	return min, max, nil
}

func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1e3, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "B"):
		mult, s = 1e9, strings.TrimSuffix(s, "B")
	case strings.HasSuffix(s, "T"):
		mult, s = 1e12, strings.TrimSuffix(s, "T")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*mult > 9e18 {
		return 0, fmt.Errorf("%q is not a count like 7B", s)
	}
	return int64(f * mult), nil
}

// Reindex recomputes the derived metadata of every repository from its
// stored objects (`agora reindex`). progress is called after each one.
func (s *Service) Reindex(ctx context.Context, progress func(done int, repo string, err error)) error {
	var after int64
	done := 0
	for {
		ids, err := s.meta.ListAllRepoIDs(ctx, after, 500)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for _, id := range ids {
			after = id
			r, err := s.meta.RepoByID(ctx, id)
			if errors.Is(err, meta.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			err = s.reindexOne(ctx, r)
			done++
			if progress != nil {
				progress(done, r.FullName(), err)
			}
		}
	}
}

func (s *Service) reindexOne(ctx context.Context, r *meta.Repo) error {
	head, err := s.meta.GetRef(ctx, r.ID, branchPrefix+r.DefaultBranch)
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m, err := s.derive(ctx, s.objectsOf(r.ID), r, head)
	if err != nil {
		return err
	}
	defer s.wrote()
	return s.meta.PutRepoMeta(ctx, r.ID, m)
}
