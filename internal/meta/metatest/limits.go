package metatest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// RunRateCounters runs the rate-counter cases alone, for implementations
// of [meta.RateCounters] that are not a whole store (the rate limiter's
// in-memory counters). open must return new, empty counters.
func RunRateCounters(t *testing.T, open func(t *testing.T) meta.RateCounters) {
	for _, tc := range rateCounterCases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var rateCounterCases = []struct {
	name string
	fn   func(t *testing.T, s meta.RateCounters)
}{
	{"AddAndRead", testRateAdd},
	{"ManyCounters", testRateMany},
	{"Concurrent", testRateConcurrent},
	{"Prune", testRatePrune},
}

func testRateCounters(t *testing.T, s meta.Store) {
	for _, tc := range rateCounterCases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

func addCounts(t *testing.T, s meta.RateCounters, counts ...meta.RateCount) []int64 {
	t.Helper()
	got, err := s.AddRateCounts(t.Context(), counts)
	must(t, err)
	return got
}

func testRateAdd(t *testing.T, s meta.RateCounters) {
	rc := func(subject, bucket string, window, n int64) meta.RateCount {
		return meta.RateCount{Subject: subject, Bucket: bucket, Window: window, N: n}
	}
	steps := []struct {
		name string
		in   []meta.RateCount
		want []int64
	}{
		{"new counters start at zero", []meta.RateCount{rc("ip:192.0.2.1", "api", 300, 3), rc("user:1", "api", 300, 1)}, []int64{3, 1}},
		{"adds accumulate, results follow the input order",
			[]meta.RateCount{rc("user:1", "api", 300, 2), rc("ip:192.0.2.1", "api", 300, 4)}, []int64{3, 7}},
		{"buckets, windows and subjects are distinct counters",
			[]meta.RateCount{rc("user:1", "pages", 300, 5), rc("user:1", "api", 600, 6), rc("user:2", "api", 300, 7)}, []int64{5, 6, 7}},
		{"adding zero reads", []meta.RateCount{rc("user:1", "api", 300, 0), rc("user:9", "api", 300, 0)}, []int64{3, 0}},
		{"subjects are case-sensitive and may hold any character",
			[]meta.RateCount{rc("ip:2001:DB8::/64", "api", 300, 1), rc("ip:2001:db8::/64", "api", 300, 2)}, []int64{1, 2}},
		{"nothing to add", nil, nil},
	}
	for _, st := range steps {
		got := addCounts(t, s, st.in...)
		if diff := cmp.Diff(st.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%s: AddRateCounts (-want +got):\n%s", st.name, diff)
		}
	}
}

// testRateMany adds more counters than one statement takes, twice.
func testRateMany(t *testing.T, s meta.RateCounters) {
	var in []meta.RateCount
	for i := range 130 {
		// Descending subjects: the store must map its answer back to the
		// order given, whatever order it works in.
		in = append(in, meta.RateCount{Subject: fmt.Sprintf("ip:10.0.%d.%d", (200-i)/256, (200-i)%256), Bucket: "resolvers", Window: 900, N: int64(i + 1)})
	}
	addCounts(t, s, in...)
	got := addCounts(t, s, in...)
	for i, n := range got {
		if n != 2*int64(i+1) {
			t.Fatalf("counter %d (%s) = %d, want %d", i, in[i].Subject, n, 2*(i+1))
		}
	}
}

// testRateConcurrent has replicas add overlapping sets of counters in
// opposite orders at once: no addition may be lost, and none may deadlock.
func testRateConcurrent(t *testing.T, s meta.RateCounters) {
	const workers, rounds = 6, 15
	subjects := []string{"user:c1", "user:c2", "user:c3", "ip:198.51.100.7"}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				var in []meta.RateCount
				for i := range subjects {
					j := i
					if w%2 == 1 {
						j = len(subjects) - 1 - i
					}
					in = append(in, meta.RateCount{Subject: subjects[j], Bucket: "api", Window: 1200, N: 1})
				}
				if _, err := s.AddRateCounts(t.Context(), in); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var read []meta.RateCount
	for _, sub := range subjects {
		read = append(read, meta.RateCount{Subject: sub, Bucket: "api", Window: 1200})
	}
	for i, n := range addCounts(t, s, read...) {
		if n != workers*rounds {
			t.Errorf("%s = %d, want %d", subjects[i], n, workers*rounds)
		}
	}
}

func testRatePrune(t *testing.T, s meta.RateCounters) {
	for _, w := range []int64{0, 300, 600, 900} {
		addCounts(t, s, meta.RateCount{Subject: "user:prune", Bucket: "api", Window: w, N: 10})
	}
	must(t, s.PruneRateCounts(t.Context(), 600))
	must(t, s.PruneRateCounts(t.Context(), 600)) // idempotent
	var read []meta.RateCount
	for _, w := range []int64{0, 300, 600, 900} {
		read = append(read, meta.RateCount{Subject: "user:prune", Bucket: "api", Window: w})
	}
	if diff := cmp.Diff([]int64{0, 0, 10, 10}, addCounts(t, s, read...)); diff != "" {
		t.Fatalf("after pruning windows before 600 (-want +got):\n%s", diff)
	}
}

func testQuotas(t *testing.T, s meta.Store) {
	ctx := t.Context()
	_, err := s.Quota(ctx, "alice")
	wantErr(t, err, meta.ErrNotFound)
	must(t, s.SetQuota(ctx, "Alice", 1000))
	must(t, s.SetQuota(ctx, "bob", 0))
	for _, c := range []struct {
		ns   string
		want int64
	}{{"alice", 1000}, {"ALICE", 1000}, {"bob", 0}} {
		got, err := s.Quota(ctx, c.ns)
		must(t, err)
		if got != c.want {
			t.Errorf("Quota(%s) = %d, want %d", c.ns, got, c.want)
		}
	}
	must(t, s.SetQuota(ctx, "alice", 5<<40)) // replaces
	all, err := s.ListQuotas(ctx)
	must(t, err)
	if diff := cmp.Diff(map[string]int64{"alice": 5 << 40, "bob": 0}, all); diff != "" {
		t.Fatalf("ListQuotas (-want +got):\n%s", diff)
	}
	must(t, s.SetQuota(ctx, "BOB", -1))
	must(t, s.SetQuota(ctx, "nobody", -1)) // removing what is not there
	_, err = s.Quota(ctx, "bob")
	wantErr(t, err, meta.ErrNotFound)
}

func testNamespaceUsage(t *testing.T, s meta.Store) {
	ctx := t.Context()
	a1 := mkRepo(t, s, meta.TypeModel, "Ann", "one", false)
	a2 := mkRepo(t, s, meta.TypeDataset, "ann", "two", true)
	// Namespaces that a prefix or a LIKE pattern would confuse with ann.
	near := []*meta.Repo{mkRepo(t, s, meta.TypeModel, "ann2", "x", false), mkRepo(t, s, meta.TypeModel, "an_", "x", false)}
	oid := func(c string) string { return strings.Repeat(c, 64) }
	must(t, s.AddLFSObject(ctx, a1.ID, oid("a"), 1000))
	must(t, s.AddLFSObject(ctx, a1.ID, oid("b"), 20))
	must(t, s.AddLFSObject(ctx, a2.ID, oid("a"), 1000)) // linked twice: held twice
	objs := []gitobj.Object{{Kind: gitobj.KindBlob, Data: []byte("hello")}, {Kind: gitobj.KindBlob, Data: make([]byte, 300)}}
	must(t, s.PutObjects(ctx, a1.ID, objs))
	must(t, s.PutObjects(ctx, a2.ID, objs[:1]))
	for _, r := range near {
		must(t, s.AddLFSObject(ctx, r.ID, oid("c"), 1<<30))
		must(t, s.PutObjects(ctx, r.ID, objs))
	}
	for _, c := range []struct {
		ns   string
		want meta.Usage
	}{
		{"ann", meta.Usage{LFS: 2020, Git: 310}},
		{"ANN", meta.Usage{LFS: 2020, Git: 310}},
		{"an_", meta.Usage{LFS: 1 << 30, Git: 305}},
		{"nobody", meta.Usage{}},
	} {
		got, err := s.NamespaceUsage(ctx, c.ns)
		must(t, err)
		if got != c.want {
			t.Errorf("NamespaceUsage(%s) = %+v, want %+v", c.ns, got, c.want)
		}
		// The per-repository figures add up to the namespace's.
		repos, err := s.NamespaceRepoUsage(ctx, c.ns)
		must(t, err)
		var sum meta.Usage
		for _, r := range repos {
			sum.LFS, sum.Git = sum.LFS+r.LFS, sum.Git+r.Git
		}
		if sum != c.want {
			t.Errorf("NamespaceRepoUsage(%s) adds up to %+v, want %+v", c.ns, sum, c.want)
		}
	}
	repos, err := s.NamespaceRepoUsage(ctx, "ANN")
	must(t, err)
	type row struct {
		id      int64
		private bool
		u       meta.Usage
	}
	var rows []row
	for _, r := range repos {
		rows = append(rows, row{r.Repo.ID, r.Repo.Private, r.Usage})
	}
	if want := []row{{a2.ID, true, meta.Usage{LFS: 1000, Git: 5}}, {a1.ID, false, meta.Usage{LFS: 1020, Git: 305}}}; !slices.Equal(rows, want) {
		t.Errorf("NamespaceRepoUsage(ANN) = %+v, want %+v (datasets first, then by name)", rows, want)
	}
	// A renamed repository counts in its new namespace.
	must(t, s.RenameRepo(ctx, a2.ID, "other", "two"))
	got, err := s.NamespaceUsage(ctx, "ann")
	must(t, err)
	if want := (meta.Usage{LFS: 1020, Git: 305}); got != want {
		t.Errorf("after moving a repository out: %+v, want %+v", got, want)
	}
}
