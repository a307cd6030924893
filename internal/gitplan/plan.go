// Package gitplan plans what a git fetch sends: from the wants, the
// haves and the shallow requests of a client, the objects to pack (ids
// and kinds only, so that the pack is streamed from the store) and the
// client's new shallow boundary. It is pure graph logic over a small
// Store of commits and trees, which package hub implements on its object
// cache and metadata store, and which tests implement in memory.
package gitplan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
)

// Store is what a plan reads of one repository. Objects a tree or commit
// names must be readable (an error otherwise ends the plan).
type Store interface {
	// Kinds returns the kinds of the stored objects among ids; missing
	// ones are absent.
	Kinds(ctx context.Context, ids []gitobj.ID) (map[gitobj.ID]gitobj.Kind, error)
	Commit(ctx context.Context, id gitobj.ID) (*gitobj.Commit, error)
	// Tree returns a tree's entries (read-only).
	Tree(ctx context.Context, id gitobj.ID) ([]gitobj.TreeEntry, error)
	// Peel follows a chain of annotated tags from id: the object at its
	// end and the tag objects passed.
	Peel(ctx context.Context, id gitobj.ID) (gitobj.ID, []gitobj.ID, error)
	// Resolve returns the commit a ref name (for deepen-not) names.
	Resolve(ctx context.Context, name string) (gitobj.ID, error)
	// Tags returns the annotated tags among the refs (for include-tag).
	Tags(ctx context.Context) ([]Tag, error)
	// Prefetch is a hint that the trees ids are about to be read, so
	// that a store can read them together; it may do nothing.
	Prefetch(ctx context.Context, trees []gitobj.ID)
}

// Tag is an annotated tag ref: the tag object and what its chain peels
// to.
type Tag struct {
	ID, Peeled gitobj.ID
}

// RequestError is a fetch request the plan cannot serve: a want the
// repository does not hold, an unknown deepen-not ref, a shallow request
// that selects no commit, too many wants. Msg is written for the client.
type RequestError struct {
	Msg     string
	TooMany bool // more than MaxWants wants
}

func (e *RequestError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// Request is what a fetching client asks for.
type Request struct {
	Wants []gitobj.ID
	// Haves are the commits the client has that the hub also stores (see
	// the repository's common commits).
	Haves []gitobj.ID
	// Shallow are the client's current shallow commits.
	Shallow []gitobj.ID
	// Depth limits the history to this many commits from the wants (or
	// from the client's shallow commits with DeepenRelative); 0 = no
	// limit.
	Depth          int
	DeepenRelative bool
	// DeepenSince cuts the history at commits older than this.
	DeepenSince time.Time
	// DeepenNot cuts the history at commits reachable from these refs.
	DeepenNot []string
	// IncludeTag adds annotated tags that point at sent objects.
	IncludeTag bool
}

// Deepens reports whether the request changes the shallow boundary.
func (q *Request) Deepens() bool {
	return q.Depth > 0 || !q.DeepenSince.IsZero() || len(q.DeepenNot) > 0
}

// Object is an object to send.
type Object struct {
	ID   gitobj.ID
	Kind gitobj.Kind
}

// Plan is the answer to a fetch: the objects to send (only ids, so
// that the pack can be streamed from the store) and the client's new
// shallow boundary.
type Plan struct {
	Objects   []Object
	Shallow   []gitobj.ID // commits that become shallow on the client
	Unshallow []gitobj.ID // client's shallow commits that no longer are
}

// MaxWants bounds the wants of one fetch.
const MaxWants = 100_000

// Fetch lists the objects reachable from the wants that the client
// lacks: it walks commits from the wants, stopping at the haves and at
// the shallow boundary, then the trees of those commits, skipping
// everything reachable from the trees of the haves it stopped at. Only
// ids are kept in memory; contents stay in the store.
func Fetch(ctx context.Context, st Store, q Request) (*Plan, error) {
	if len(q.Wants) == 0 {
		return &Plan{}, nil
	}
	if len(q.Wants) > MaxWants {
		return nil, &RequestError{Msg: fmt.Sprintf("At most %d wants per fetch", MaxWants), TooMany: true}
	}
	p := &planner{st: st, sent: map[gitobj.ID]bool{}, skip: map[gitobj.ID]bool{}, plan: &Plan{}}
	wantCommits, err := p.resolveWants(ctx, q.Wants)
	if err != nil {
		return nil, err
	}
	cut, extra, extraEdges, err := p.shallow(ctx, q, wantCommits)
	if err != nil {
		return nil, err
	}

	have := map[gitobj.ID]bool{}
	for _, h := range q.Haves {
		have[h] = true
	}
	// Walk the new commits, newest first in discovery order.
	edges := map[gitobj.ID]bool{}
	for _, id := range extraEdges {
		have[id], edges[id] = true, true
	}
	var commits []gitobj.ID
	seen := map[gitobj.ID]bool{}
	stack := append(append([]gitobj.ID(nil), wantCommits...), extra...)
	slices.Reverse(stack)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		if have[id] {
			edges[id] = true
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := st.Commit(ctx, id)
		if err != nil {
			return nil, err
		}
		commits = append(commits, id)
		p.add(id, gitobj.KindCommit)
		if cut[id] {
			continue
		}
		for i := len(c.Parents) - 1; i >= 0; i-- {
			stack = append(stack, c.Parents[i])
		}
	}
	// Everything under the trees of the shared commits next to the new
	// ones is on the client already.
	for id := range edges {
		c, err := st.Commit(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := p.markSkip(ctx, c.Tree); err != nil {
			return nil, err
		}
	}
	roots := make([]gitobj.ID, 0, len(commits))
	for _, id := range commits {
		c, err := st.Commit(ctx, id)
		if err != nil {
			return nil, err
		}
		roots = append(roots, c.Tree)
	}
	for i := 0; i < len(roots); i += prefetchBatch {
		st.Prefetch(ctx, roots[i:min(i+prefetchBatch, len(roots))])
	}
	for _, root := range roots {
		if err := p.addTree(ctx, root); err != nil {
			return nil, err
		}
	}
	for _, id := range p.rootTrees {
		if err := p.addTree(ctx, id); err != nil {
			return nil, err
		}
	}
	if q.IncludeTag {
		if err := p.includeTags(ctx); err != nil {
			return nil, err
		}
	}
	return p.plan, nil
}

// Shallow computes only the shallow boundary of a fetch (protocol v0
// sends it before negotiating).
func Shallow(ctx context.Context, st Store, q Request) (*Plan, error) {
	p := &planner{st: st, sent: map[gitobj.ID]bool{}, skip: map[gitobj.ID]bool{}, plan: &Plan{}}
	wantCommits, err := p.resolveWants(ctx, q.Wants)
	if err != nil {
		return nil, err
	}
	if _, _, _, err := p.shallow(ctx, q, wantCommits); err != nil {
		return nil, err
	}
	return &Plan{Shallow: p.plan.Shallow, Unshallow: p.plan.Unshallow}, nil
}

// resolveWants checks the wants and sorts them: commits to walk are
// returned, tags, trees and blobs are added to the plan.
func (p *planner) resolveWants(ctx context.Context, wants []gitobj.ID) ([]gitobj.ID, error) {
	kinds, err := p.st.Kinds(ctx, wants)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	var wantCommits []gitobj.ID
	for _, w := range wants {
		kind, ok := kinds[w]
		if !ok {
			return nil, invalid("not our ref %s", w)
		}
		switch kind {
		case gitobj.KindTag:
			peeled, chain, err := p.st.Peel(ctx, w)
			if err != nil {
				return nil, err
			}
			for _, t := range chain {
				p.add(t, gitobj.KindTag)
			}
			pk, err := p.st.Kinds(ctx, []gitobj.ID{peeled})
			if err != nil {
				return nil, fmt.Errorf("fetch: %w", err)
			}
			switch pk[peeled] {
			case gitobj.KindCommit:
				wantCommits = append(wantCommits, peeled)
			case gitobj.KindTree:
				p.rootTrees = append(p.rootTrees, peeled)
			case gitobj.KindBlob:
				p.add(peeled, gitobj.KindBlob)
			}
		case gitobj.KindCommit:
			wantCommits = append(wantCommits, w)
		case gitobj.KindTree:
			p.rootTrees = append(p.rootTrees, w)
		case gitobj.KindBlob:
			p.add(w, gitobj.KindBlob)
		}
	}

	return wantCommits, nil
}

// shallow computes the shallow boundary and returns the commits whose
// parents are not walked, the extra commits to walk (parents of
// unshallowed commits) and the unshallowed commits (edges of the walk).
func (p *planner) shallow(ctx context.Context, q Request, wantCommits []gitobj.ID) (cut map[gitobj.ID]bool, extra, extraEdges []gitobj.ID, err error) {
	// The client's shallow commits that we know.
	clientShallow := map[gitobj.ID]bool{}
	if len(q.Shallow) > 0 {
		sk, err := p.st.Kinds(ctx, q.Shallow)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("fetch: %w", err)
		}
		for _, id := range q.Shallow {
			if sk[id] == gitobj.KindCommit {
				clientShallow[id] = true
			}
		}
	}
	// cut: commits whose parents are not walked.
	cut = map[gitobj.ID]bool{}
	if q.Deepens() {
		shallow, reached, err := p.shallowBoundary(ctx, q, wantCommits, clientShallow)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, id := range shallow {
			cut[id] = true
			if !clientShallow[id] {
				p.plan.Shallow = append(p.plan.Shallow, id)
			}
		}
		for _, id := range q.Shallow {
			if !clientShallow[id] || cut[id] || !reached[id] {
				if clientShallow[id] {
					cut[id] = true
				}
				continue
			}
			p.plan.Unshallow = append(p.plan.Unshallow, id)
			// As git does: the client has this commit, so it is an edge
			// of the walk; its parents become wanted.
			extraEdges = append(extraEdges, id)
			c, err := p.st.Commit(ctx, id)
			if err != nil {
				return nil, nil, nil, err
			}
			extra = append(extra, c.Parents...)
		}
	} else {
		for id := range clientShallow {
			cut[id] = true
		}
	}

	return cut, extra, extraEdges, nil
}

type planner struct {
	st        Store
	plan      *Plan
	sent      map[gitobj.ID]bool // in the plan
	skip      map[gitobj.ID]bool // on the client
	rootTrees []gitobj.ID
}

func (p *planner) add(id gitobj.ID, k gitobj.Kind) {
	if p.sent[id] || p.skip[id] {
		return
	}
	p.sent[id] = true
	p.plan.Objects = append(p.plan.Objects, Object{ID: id, Kind: k})
}

// markSkip records a tree and everything under it as present on the
// client.
func (p *planner) markSkip(ctx context.Context, tree gitobj.ID) error {
	if p.skip[tree] {
		return nil
	}
	p.skip[tree] = true
	ents, err := p.st.Tree(ctx, tree)
	if err != nil {
		return err
	}
	for _, e := range ents {
		switch {
		case e.Mode.IsTree():
			if err := p.markSkip(ctx, e.ID); err != nil {
				return err
			}
		case e.Mode.IsBlob():
			p.skip[e.ID] = true
		}
	}
	return nil
}

// prefetchBatch bounds the trees a plan reads ahead in one query, and so
// the memory they take before the walk reaches them.
const prefetchBatch = 500

// addTree adds a tree and what it holds, except what the client has. The
// subtrees it is about to visit are read together first.
func (p *planner) addTree(ctx context.Context, tree gitobj.ID) error {
	if p.sent[tree] || p.skip[tree] {
		return nil
	}
	p.add(tree, gitobj.KindTree)
	ents, err := p.st.Tree(ctx, tree)
	if err != nil {
		return err
	}
	var sub []gitobj.ID
	for _, e := range ents {
		if e.Mode.IsTree() && !p.sent[e.ID] && !p.skip[e.ID] && len(sub) < prefetchBatch {
			sub = append(sub, e.ID)
		}
	}
	p.st.Prefetch(ctx, sub)
	for _, e := range ents {
		switch {
		case e.Mode.IsTree():
			if err := p.addTree(ctx, e.ID); err != nil {
				return err
			}
		case e.Mode.IsBlob():
			p.add(e.ID, gitobj.KindBlob)
		}
	}
	return nil
}

// includeTags adds the annotated tags whose target is sent (git's
// include-tag).
func (p *planner) includeTags(ctx context.Context) error {
	tags, err := p.st.Tags(ctx)
	if err != nil {
		return err
	}
	for _, tg := range tags {
		if tg.Peeled.IsZero() || p.sent[tg.ID] || !p.sent[tg.Peeled] {
			continue
		}
		_, chain, err := p.st.Peel(ctx, tg.ID)
		if err != nil {
			return err
		}
		for _, t := range chain {
			p.add(t, gitobj.KindTag)
		}
	}
	return nil
}

// shallowBoundary computes the commits that become the client's shallow
// boundary, and the commits reached within the requested depth.
func (p *planner) shallowBoundary(ctx context.Context, q Request, wants []gitobj.ID, clientShallow map[gitobj.ID]bool) ([]gitobj.ID, map[gitobj.ID]bool, error) {
	st := p.st
	reached := map[gitobj.ID]bool{}
	var boundary []gitobj.ID
	if q.Depth > 0 {
		// Breadth first, so that each commit is reached at its least depth.
		start, depth := wants, q.Depth
		if q.DeepenRelative {
			start = nil
			for id := range clientShallow {
				start = append(start, id)
			}
			slices.SortFunc(start, func(a, b gitobj.ID) int { return strings.Compare(a.String(), b.String()) })
			depth++
			// The commits above the old boundary stay as they are.
			if err := p.walkAbove(ctx, wants, clientShallow, reached); err != nil {
				return nil, nil, err
			}
		}
		level := start
		for d := 1; len(level) > 0 && d <= depth; d++ {
			var next []gitobj.ID
			for _, id := range level {
				if reached[id] {
					continue
				}
				reached[id] = true
				c, err := st.Commit(ctx, id)
				if err != nil {
					return nil, nil, err
				}
				if d == depth {
					if len(c.Parents) > 0 {
						boundary = append(boundary, id)
					}
					continue
				}
				next = append(next, c.Parents...)
			}
			level = next
		}
		return dedupeIDs(boundary), reached, nil
	}
	// deepen-since / deepen-not: keep the commits newer than the date and
	// not reachable from the excluded refs.
	excluded := map[gitobj.ID]bool{}
	if len(q.DeepenNot) > 0 {
		var starts []gitobj.ID
		for _, name := range q.DeepenNot {
			id, err := st.Resolve(ctx, name)
			if err != nil {
				return nil, nil, invalid("deepen-not: unknown ref %s", name)
			}
			starts = append(starts, id)
		}
		for len(starts) > 0 {
			id := starts[len(starts)-1]
			starts = starts[:len(starts)-1]
			if excluded[id] {
				continue
			}
			excluded[id] = true
			c, err := st.Commit(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			starts = append(starts, c.Parents...)
		}
	}
	keep := func(c *gitobj.Commit, id gitobj.ID) bool {
		if excluded[id] {
			return false
		}
		return q.DeepenSince.IsZero() || !c.Committer.When.Before(q.DeepenSince)
	}
	stack := append([]gitobj.ID(nil), wants...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reached[id] {
			continue
		}
		c, err := st.Commit(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if !keep(c, id) {
			continue
		}
		reached[id] = true
		cutHere := false
		for _, par := range c.Parents {
			pc, err := st.Commit(ctx, par)
			if err != nil {
				return nil, nil, err
			}
			if keep(pc, par) {
				stack = append(stack, par)
			} else {
				cutHere = true
			}
		}
		if cutHere {
			boundary = append(boundary, id)
		}
	}
	for _, w := range wants {
		if !reached[w] {
			return nil, nil, invalid("no commits selected for shallow requests")
		}
	}
	return dedupeIDs(boundary), reached, nil
}

// walkAbove marks the commits between the wants and the client's shallow
// commits as reached.
func (p *planner) walkAbove(ctx context.Context, wants []gitobj.ID, stop, reached map[gitobj.ID]bool) error {
	stack := append([]gitobj.ID(nil), wants...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if reached[id] || stop[id] {
			continue
		}
		reached[id] = true
		c, err := p.st.Commit(ctx, id)
		if err != nil {
			return err
		}
		stack = append(stack, c.Parents...)
	}
	return nil
}

func dedupeIDs(ids []gitobj.ID) []gitobj.ID {
	seen := map[gitobj.ID]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
