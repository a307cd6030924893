package search

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// memFeed is a change feed in memory, stamped with the wall clock like
// the store's: the latest version of each document, tombstones included.
type memFeed struct {
	mu    sync.Mutex
	docs  map[int64]meta.SearchDoc
	last  int64
	reads int
	fail  error
}

func newMemFeed() *memFeed { return &memFeed{docs: map[int64]meta.SearchDoc{}} }

func (f *memFeed) put(d meta.SearchDoc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = max(f.last, time.Now().UnixMilli())
	d.ChangedAt = f.last
	f.docs[d.Repo.ID] = d
}

// putAt stores d stamped at ms, as a writer whose clock read ms would.
func (f *memFeed) putAt(d meta.SearchDoc, ms int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = max(f.last, ms)
	d.ChangedAt = ms
	f.docs[d.Repo.ID] = d
}

func (f *memFeed) SearchDocs(ctx context.Context, since int64, after meta.DocCursor, limit int) ([]meta.SearchDoc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail != nil {
		return nil, f.fail
	}
	from := max(since, after.ChangedAt)
	var out []meta.SearchDoc
	for _, d := range f.docs {
		if d.ChangedAt >= from && (d.ChangedAt > after.ChangedAt || d.Repo.ID > after.ID) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b meta.SearchDoc) int {
		return cmp.Or(cmp.Compare(a.ChangedAt, b.ChangedAt), cmp.Compare(a.Repo.ID, b.Repo.ID))
	})
	return out[:min(len(out), limit)], nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// run starts ix.Run until the test ends and waits for it to be ready.
func run(t *testing.T, ix *Index) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ix.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !ix.Stats().Ready {
		if time.Now().After(deadline) {
			t.Fatal("index not ready after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// feedCorpus applies n random changes to both c and f.
func feedCorpus(c *corpus, f *memFeed, n int) {
	for range n {
		d := c.change()
		f.put(d)
	}
}

// checkIndex compares listings and counts of ix with the brute force.
func checkIndex(t *testing.T, c *corpus, ix *Index, queries int) {
	t.Helper()
	for range queries {
		q := c.query()
		want := c.reference(q)
		hits, ok, err := ix.Query(t.Context(), q)
		if err != nil || !ok {
			t.Fatalf("query: ok %v, %v", ok, err)
		}
		if got := idsOf(hits); !sameIDs(c, &q, got, want) {
			t.Fatalf("query %s:\n got %v\nwant %v", describe(&q), got, want)
		}
		checkStamps(t, ix, hits)
		n, _, err := ix.Count(t.Context(), q)
		if err != nil || n != c.count(q) {
			t.Fatalf("count %s = %d (%v), want %d", describe(&q), n, err, c.count(q))
		}
	}
}

func idsOf(hits []meta.DocCursor) []int64 {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

// checkStamps checks that each hit comes with the stamp of the feed's
// document, which the listing's rows are checked against.
func checkStamps(t *testing.T, ix *Index, hits []meta.DocCursor) {
	t.Helper()
	var f *memFeed
	switch feed := ix.feed.(type) {
	case *memFeed:
		f = feed
	case *versionedFeed:
		f = feed.memFeed
	default:
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range hits {
		if d := f.docs[h.ID]; d.ChangedAt != h.ChangedAt {
			t.Fatalf("repository %d listed at stamp %d, the feed's is %d", h.ID, h.ChangedAt, d.ChangedAt)
		}
	}
}

// TestIndexFollowsFeed: every listing sees the writes that completed
// before it, through the feed, deletions included; until ready, Query and
// Count say so.
func TestIndexFollowsFeed(t *testing.T) {
	c, f := newCorpus(5), newMemFeed()
	feedCorpus(c, f, 500)
	ix := New(testLogger(t), f, Options{})
	if _, ok, err := ix.Query(t.Context(), meta.RepoQuery{Limit: 1}); ok || err != nil {
		t.Fatalf("before Run: ok %v, %v", ok, err)
	}
	run(t, ix)
	for range 20 {
		feedCorpus(c, f, 1+c.rng.IntN(30))
		checkIndex(t, c, ix, 5)
	}
	if st := ix.Stats(); st.Docs != len(c.docs) || st.Source != "feed" || st.Bytes <= 0 {
		t.Fatalf("stats %+v, want %d documents from the feed", st, len(c.docs))
	}
	// A proposed repository the store no longer has can be forgotten
	// before its tombstone arrives.
	var id int64
	for id = range c.docs {
		break
	}
	// The store has lost it without a tombstone (a failed create rolled
	// back), so a catch-up that re-reads recent stamps must not bring it
	// back.
	f.mu.Lock()
	delete(f.docs, id)
	f.mu.Unlock()
	delete(c.docs, id)
	ix.Forget(id)
	q := meta.RepoQuery{ViewerAll: true, Limit: 10_000}
	hits, _, _ := ix.Query(t.Context(), q)
	if slices.Contains(idsOf(hits), id) {
		t.Fatalf("forgotten repository %d still listed", id)
	}
	// A failing feed fails the listing rather than answering from stale
	// data silently.
	f.mu.Lock()
	f.fail = errors.New("store down")
	f.mu.Unlock()
	feedCorpus(c, f, 0)
	time.Sleep(2 * time.Millisecond) // a listing arriving after the last catch-up
	if _, _, err := ix.Query(t.Context(), q); err == nil {
		t.Fatal("query with a failing feed succeeded")
	}
}

// TestChangedTwiceInAMillisecond: a repository read at stamp T and then
// changed again within T, after later rows moved the cursor past it (the
// second change committed between two batches of a read), is read again
// by the next listing.
func TestChangedTwiceInAMillisecond(t *testing.T) {
	f := newMemFeed()
	doc := func(id, downloads int64) meta.SearchDoc {
		return meta.SearchDoc{Repo: meta.Repo{ID: id, Type: meta.TypeModel, Namespace: "o", Name: fmt.Sprint("m", id), Downloads: downloads}}
	}
	f.put(doc(1, 0))
	ix := New(testLogger(t), f, Options{})
	run(t, ix)
	// Stamps a little ahead: the writes happen while the next read runs.
	at := time.Now().UnixMilli() + 50
	f.putAt(doc(2, 1), at)
	f.putAt(doc(3, 1), at+1)
	q := meta.RepoQuery{Sort: meta.SortDownloads, Desc: true, Limit: 10}
	if hits, _, _ := ix.Query(t.Context(), q); len(hits) != 3 {
		t.Fatalf("first listing %v", hits)
	}
	f.putAt(doc(2, 9), at) // again within its millisecond, behind the cursor
	time.Sleep(2 * time.Millisecond)
	hits, _, err := ix.Query(t.Context(), q)
	if err != nil || !slices.Equal(idsOf(hits), []int64{2, 3, 1}) || hits[0].ChangedAt != at {
		t.Fatalf("listing after the second change = %v (%v), want ids [2 3 1], the first at %d", hits, err, at)
	}
}

// TestSnapshotRestart: a restart loads the snapshot, reads only the
// changes since from the feed, and answers as a full build would; an
// unusable snapshot (damaged, another store, too old, another version)
// is ignored for a full read of the feed.
func TestSnapshotRestart(t *testing.T) {
	c, f := newCorpus(6), newMemFeed()
	feedCorpus(c, f, 800)
	path := filepath.Join(t.TempDir(), "search-index")
	opts := Options{Snapshot: path, StoreID: "store-a"}
	first := New(testLogger(t), f, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { first.Run(ctx); close(done) }()
	for !first.Stats().Ready {
		time.Sleep(time.Millisecond)
	}
	feedCorpus(c, f, 50)
	checkIndex(t, c, first, 5)
	cancel()
	<-done // saves at the end
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	feedCorpus(c, f, 100) // while it was down

	f.mu.Lock()
	f.reads = 0
	f.mu.Unlock()
	again := New(testLogger(t), f, opts)
	run(t, again)
	if st := again.Stats(); st.Source != "snapshot" {
		t.Fatalf("restart started from %q", st.Source)
	}
	checkIndex(t, c, again, 20)

	damaged := slices.Clone(good)
	damaged[len(damaged)/2] ^= 0x40
	tests := []struct {
		name string
		file []byte
		opts Options
	}{
		{"damaged", damaged, opts},
		{"truncated", good[:len(good)-9], opts},
		{"another store", good, Options{Snapshot: path, StoreID: "store-b"}},
		{"not a snapshot", []byte("hello"), opts},
		{"empty", nil, opts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			ix := New(testLogger(t), f, tt.opts)
			run(t, ix)
			if st := ix.Stats(); st.Source != "feed" {
				t.Fatalf("started from %q", st.Source)
			}
			checkIndex(t, c, ix, 5)
		})
	}
	if _, err := readSnapshot(bytes.NewReader(good), "store-a", time.Now().Add(time.Hour)); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("too old a snapshot: %v", err)
	}
	v2 := slices.Clone(good)
	v2[len(snapshotMagic)]++
	if _, err := readSnapshot(bytes.NewReader(v2), "store-a", time.Time{}); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("another version: %v", err)
	}
}

// TestSnapshotEveryPrefix: no truncation of a snapshot loads.
func TestSnapshotEveryPrefix(t *testing.T) {
	c := newCorpus(8)
	x := newIndex()
	for range 60 {
		d := c.change()
		x.put(&d)
	}
	var buf bytes.Buffer
	if _, err := writeSnapshot(&buf, x, "s"); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for n := range len(b) {
		if _, err := readSnapshot(bytes.NewReader(b[:n]), "s", time.Time{}); err == nil {
			t.Fatalf("a snapshot cut at %d of %d bytes loaded", n, len(b))
		}
	}
	if _, err := readSnapshot(bytes.NewReader(b), "s", time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUse runs listings, counts, forgets, order rebuilds,
// compactions and snapshots while the feed changes, under the race
// detector; then the index must still equal the brute force, and so must
// an index started from a snapshot written while changes were applied.
func TestConcurrentUse(t *testing.T) {
	c, f := newCorpus(7), newMemFeed()
	feedCorpus(c, f, 400)
	ix := New(testLogger(t), f, Options{})
	run(t, ix)
	x := ix.x.Load()
	var cmu sync.Mutex // c is not safe for concurrent use
	ctx := t.Context()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cmu.Lock()
				q := c.query()
				cmu.Unlock()
				var err error
				switch (w + i) % 3 {
				case 0:
					_, _, err = ix.Query(ctx, q)
				case 1:
					_, _, err = ix.Count(ctx, q)
				case 2:
					ix.Forget(int64(i % 50)) // the feed puts them back at their next change
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			x.refreshOrders()
			x.mu.Lock()
			x.compact()
			x.mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	})
	var snap bytes.Buffer
	wg.Go(func() {
		time.Sleep(20 * time.Millisecond)
		if _, err := writeSnapshot(&snap, x, "s"); err != nil {
			t.Error(err)
		}
	})
	for range 40 {
		cmu.Lock()
		feedCorpus(c, f, 10)
		cmu.Unlock()
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	// Forgotten repositories come back with their next change.
	for id, d := range c.docs {
		if id <= 50 {
			f.put(d)
		}
	}
	checkIndex(t, c, ix, 30)

	// The snapshot was written while changes were applied: loaded, and
	// caught up from before its cursor, it answers like the live index.
	y, err := readSnapshot(&snap, "s", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	from := y.cursor.ChangedAt - refreshLookback.Milliseconds()
	loaded := New(testLogger(t), f, Options{})
	if _, err := loaded.load(ctx, y, from, meta.DocCursor{ChangedAt: from}); err != nil {
		t.Fatal(err)
	}
	loaded.x.Store(y)
	checkIndex(t, c, loaded, 30)
}

// versionedFeed is a memFeed whose store has a data version, moved by
// every write (as sqlitemeta's is).
type versionedFeed struct {
	*memFeed
	version atomic.Uint64
}

func (f *versionedFeed) put(d meta.SearchDoc) {
	f.memFeed.put(d)
	f.version.Add(1)
}

func (f *versionedFeed) DataVersion(context.Context, time.Time) (uint64, bool) {
	return f.version.Load(), true
}

// TestVersionedFeedReadsOnlyAfterWrites: with a store that has a data
// version, a listing reads the feed only when something was written since
// the last read, and still sees every write completed before it.
func TestVersionedFeedReadsOnlyAfterWrites(t *testing.T) {
	c, f := newCorpus(7), &versionedFeed{memFeed: newMemFeed()}
	for range 300 {
		f.put(c.change())
	}
	ix := New(testLogger(t), f, Options{})
	run(t, ix)
	reads := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.reads
	}
	for round := range 10 {
		checkIndex(t, c, ix, 1) // reads what the round before wrote
		before := reads()
		for range 5 {
			time.Sleep(time.Millisecond) // listings after the last read
			checkIndex(t, c, ix, 1)
		}
		if n := reads() - before; n != 0 {
			t.Fatalf("round %d: %d reads of the feed with nothing written", round, n)
		}
		for range 1 + c.rng.IntN(20) {
			f.put(c.change())
		}
	}
}
