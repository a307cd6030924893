package hub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/search"
)

// startIndex runs a listing index over f's store until the test ends and
// waits until it is ready.
func startIndex(t *testing.T, f *fixture) *search.Index {
	t.Helper()
	ix := search.New(testLogger(t), f.m, search.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ix.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for !ix.Stats().Ready {
		time.Sleep(time.Millisecond)
	}
	return ix
}

// TestSearchIndexMatchesStore is a differential test: random listings
// answered by the listing index (package search) must equal the store's
// own SQL answers, page by page, for every viewer. The index is built
// before the loop, so its sort orders are in place and later changes go
// through its log of changed documents.
func TestSearchIndexMatchesStore(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 11))
	fams := []string{"llama", "mistral", "bert", "gemma", "qwen"}
	tags := []string{"transformers", "peft", "gguf", "license:mit", "license:apache-2.0", "en", "fr"}
	pipes := []string{"", "text-generation", "fill-mask"}
	owners := []string{"alice", "bob", "carol"}
	var ids []int64
	for i := range 240 {
		typ := TypeModel
		if i%7 == 0 {
			typ = TypeDataset
		}
		r := &meta.Repo{PublicID: fmt.Sprintf("%024x", i), Type: typ, Namespace: owners[rng.IntN(3)],
			Name: fmt.Sprintf("%s-%db-%d", fams[rng.IntN(5)], rng.IntN(9)+1, i), Private: rng.IntN(6) == 0,
			CreatedAt: time.UnixMilli(int64(1e12 + rng.IntN(1e6))), UpdatedAt: time.UnixMilli(int64(1e12 + rng.IntN(1e6)))}
		if rng.IntN(5) == 0 {
			r.Gated = "auto"
		}
		if err := f.m.CreateRepo(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
		var ts []string
		for _, tg := range tags {
			if rng.IntN(3) == 0 {
				ts = append(ts, tg)
			}
		}
		if err := f.m.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{Tags: ts, PipelineTag: pipes[rng.IntN(3)], NumParameters: int64(rng.IntN(100)) * 1e8}); err != nil {
			t.Fatal(err)
		}
		if n := rng.IntN(4); n > 0 {
			f.m.RecordDownloads(ctx, 20000, map[int64]int64{r.ID: int64(rng.IntN(5))})
		}
	}
	x := startIndex(t, f)
	// Every stamp counts as settled, so that listings keep rows and must
	// notice when a stamp moves (downloads recorded below).
	f.s.settle = -time.Hour

	sorts := []string{"", SortID, SortDownloads, SortLikes, SortCreatedAt, SortLastModified, SortTrending}
	viewers := []*auth.Identity{nil, f.alice, f.admin}
	names := func(ls []Listing) string {
		var out []string
		for _, l := range ls {
			// The counts too: rows may come from the row cache.
			out = append(out, fmt.Sprintf("%s:%d:%d", l.Repo.FullName(), l.Repo.Downloads, l.Repo.Likes))
		}
		return strings.Join(out, " ")
	}
	for i := range 160 {
		if i > 40 && i%3 == 0 {
			f.m.RecordDownloads(ctx, 20000, map[int64]int64{ids[rng.IntN(len(ids))]: int64(rng.IntN(9))})
		}
		if i > 40 && i%10 == 0 {
			// New documents grow the bitsets.
			r := &meta.Repo{PublicID: fmt.Sprintf("new%021x", i), Type: TypeModel, Namespace: owners[rng.IntN(3)],
				Name: fmt.Sprintf("%s-%db-new%d", fams[rng.IntN(5)], rng.IntN(9)+1, i), CreatedAt: time.UnixMilli(1e12), UpdatedAt: time.UnixMilli(1e12)}
			if err := f.m.CreateRepo(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := f.m.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{Tags: []string{tags[rng.IntN(len(tags))]}, PipelineTag: pipes[rng.IntN(3)]}); err != nil {
				t.Fatal(err)
			}
		}
		q := ListQuery{Type: TypeModel, Sort: sorts[rng.IntN(len(sorts))], Desc: rng.IntN(2) == 0, Limit: 1 + rng.IntN(15)}
		if i%9 == 0 {
			q.Type = TypeDataset
		}
		switch rng.IntN(4) {
		case 0:
			q.Search = fams[rng.IntN(5)][1:4]
		case 1:
			q.Search = fmt.Sprintf("%db-", rng.IntN(9)+1)
		case 2:
			q.Search = "O" // shorter than a trigram, and upper case
		}
		if rng.IntN(3) == 0 {
			q.Tags = []string{tags[rng.IntN(len(tags))]}
		}
		if rng.IntN(4) == 0 {
			q.PipelineTag = pipes[1+rng.IntN(2)]
		}
		if rng.IntN(4) == 0 {
			q.Author = strings.ToUpper(owners[rng.IntN(3)])
		}
		if rng.IntN(5) == 0 {
			q.MinParams, q.MaxParams = 1e9, 6e9
		}
		if rng.IntN(6) == 0 {
			g := rng.IntN(2) == 0
			q.Gated = &g
		}
		who := viewers[rng.IntN(3)]
		// Page through both ways.
		var viaIndex, viaStore []Listing
		qi, qs := q, q
		for page := 0; page < 1000; page++ {
			f.s.UseIndex(x)
			ri, moreI, err := f.s.ListRepos(ctx, who, qi)
			if err != nil {
				t.Fatal(err)
			}
			f.s.UseIndex(nil)
			rs, moreS, err := f.s.ListRepos(ctx, who, qs)
			if err != nil {
				t.Fatal(err)
			}
			viaIndex, viaStore = append(viaIndex, ri...), append(viaStore, rs...)
			if moreI != moreS || names(ri) != names(rs) {
				t.Fatalf("query %+v viewer %v page %d:\nindex %v (more %v)\nstore %v (more %v)", q, who != nil, page, names(ri), moreI, names(rs), moreS)
			}
			if !moreI {
				break
			}
			c := CursorOf(q.Sort, &ri[len(ri)-1])
			qi.After, qs.After = &c, &c
		}
		f.s.UseIndex(x)
		n, err := f.s.CountRepos(ctx, who, q)
		if err != nil || n != int64(len(viaIndex)) {
			t.Fatalf("count %d (%v), listed %d", n, err, len(viaIndex))
		}
	}
}

// TestSearchIndexRefresh: changes reach the index through the change
// stamps, and deleted or hidden repositories never come out of it.
func TestSearchIndexRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	f.s.UseIndex(startIndex(t, f))
	list := func(who *auth.Identity, search string) string {
		rows, _, err := f.s.ListRepos(ctx, who, ListQuery{Type: TypeModel, Search: search, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.Repo.FullName())
		}
		return strings.Join(out, " ")
	}
	if got := list(nil, "alice/m"); got != "alice/m" {
		t.Fatalf("before: %q", got)
	}
	// Made private: the store's check hides it at once, before a refresh.
	priv := true
	if _, err := f.s.UpdateSettings(ctx, f.alice, modelRef, RepoSettings{Private: &priv}); err != nil {
		t.Fatal(err)
	}
	if got := list(nil, "alice/m"); got != "" {
		t.Fatalf("private repo listed from a stale index: %q", got)
	}
	// A rename is found under the new name at once (each listing catches
	// up with the changes first).
	if err := f.s.MoveRepo(ctx, f.alice, modelRef, RepoRef{TypeModel, "alice", "renamed-model"}); err != nil {
		t.Fatal(err)
	}
	if got := list(f.alice, "renamed"); got != "alice/renamed-model" {
		t.Fatalf("after rename: %q", got)
	}
	if got := list(f.alice, "alice/m"); got != "" {
		t.Fatalf("old name still found: %q", got)
	}
	if err := f.s.DeleteRepo(ctx, f.alice, RepoRef{TypeModel, "alice", "renamed-model"}); err != nil {
		t.Fatal(err)
	}
	if got := list(f.alice, "renamed"); got != "" {
		t.Fatalf("deleted repo listed: %q", got)
	}
	// Counted out at once too: the deletion reaches the index as a
	// tombstone, not only when a listing proposes the missing id.
	f.create(t, RepoRef{TypeModel, "alice", "gone"}, false)
	if n, err := f.s.CountRepos(ctx, f.alice, ListQuery{Type: TypeModel, Search: "gone"}); err != nil || n != 1 {
		t.Fatalf("count before delete: %d %v", n, err)
	}
	if err := f.s.DeleteRepo(ctx, f.alice, RepoRef{TypeModel, "alice", "gone"}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.CountRepos(ctx, f.alice, ListQuery{Type: TypeModel, Search: "gone"}); err != nil || n != 0 {
		t.Fatalf("deleted repo counted: %d %v", n, err)
	}
}
