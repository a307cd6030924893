package limits

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/metatest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		path string
		want Bucket
	}{
		{"/", Pages},
		{"/healthz", ""},
		{"/metrics", ""},
		{"/healthz/x", Pages},
		{"/static/style.css", ""},
		{"/api/models", API},
		{"/api/models/alice/m/preupload/main", API},
		{"/api/models/alice/m/resolve/main/x", API},
		{"/api/lfs/upload/tok", Resolvers},
		{"/api/lfs/download/tok", Resolvers},
		{"/alice/m/resolve/main/config.json", Resolvers},
		{"/alice/m/raw/main/README.md", Resolvers},
		{"/gpt2/resolve/main/config.json", Resolvers},
		{"/datasets/alice/d/resolve/refs%2Fpr%2F1/data.csv", Resolvers},
		{"/models/alice/m/resolve/main/x", Resolvers},
		{"/alice/m.git/info/refs", Resolvers},
		{"/alice/m.git/git-upload-pack", Resolvers},
		{"/alice/m.git/info/lfs/objects/batch", Resolvers},
		{"/gpt2.git/info/lfs/objects/batch", Resolvers},
		{"/datasets/alice/d.git/info/refs", Resolvers},
		{"/alice/m", Pages},
		{"/alice/m/blob/main/resolve/x", Pages},
		{"/alice/m/tree/main", Pages},
		{"/alice/resolve", Pages}, // a user's page, not a download
		{"/models", Pages},
		{"/settings/tokens", Pages},
		{"//alice//m//resolve//main//x", Resolvers},
	}
	for _, tc := range tests {
		if got := Classify(tc.path); got != tc.want {
			t.Errorf("Classify(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct{ got, want string }{
		{UserSubject(42), "user:42"},
		{AddrSubject("192.0.2.7"), "ip:192.0.2.7"},
		{AddrSubject("::ffff:192.0.2.7"), "ip:192.0.2.7"},
		{AddrSubject("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64"},
		{AddrSubject("2001:db8:1:2:ffff::1"), "ip:2001:db8:1:2::/64"},
		{AddrSubject("fe80::1%eth0"), "ip:fe80::/64"},
		{AddrSubject("not-an-ip"), "ip:not-an-ip"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestParseRates(t *testing.T) {
	def := Rates{API: 1, Resolvers: 2, Pages: 3}
	tests := []struct {
		in      string
		want    Rates
		wantErr bool
	}{
		{"api=10,resolvers=20,pages=30", Rates{10, 20, 30}, false},
		{" api = 10 ", Rates{10, 2, 3}, false},
		{"pages=0", Rates{1, 2, 0}, false},
		{"off", Rates{}, false},
		{"", def, false},
		{"api=-1", def, true},
		{"api", def, true},
		{"spaces=5", def, true},
		{"api=lots", def, true},
	}
	for _, tc := range tests {
		got, err := ParseRates(tc.in, def)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseRates(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if s := (Rates{5, 6, 7}).String(); s != "api=5,resolvers=6,pages=7" {
		t.Errorf("String = %q", s)
	}
}

// memCounters is an in-memory meta.RateCounters for these tests; the
// conformance cases below hold it to the stores' contract.
type memCounters struct {
	mu   sync.Mutex
	n    map[meta.RateCount]int64 // key with N zeroed
	fail bool
}

func newMemCounters() *memCounters { return &memCounters{n: map[meta.RateCount]int64{}} }

var errDown = errors.New("store down")

func (m *memCounters) AddRateCounts(_ context.Context, counts []meta.RateCount) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errDown
	}
	out := make([]int64, len(counts))
	for i, c := range counts {
		n := c.N
		c.N = 0
		m.n[c] += n
		out[i] = m.n[c]
	}
	return out, nil
}

func (m *memCounters) PruneRateCounts(_ context.Context, before int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errDown
	}
	for k := range m.n {
		if k.Window < before {
			delete(m.n, k)
		}
	}
	return nil
}

func (m *memCounters) setFail(f bool) {
	m.mu.Lock()
	m.fail = f
	m.mu.Unlock()
}

func TestMemCountersConformance(t *testing.T) {
	metatest.RunRateCounters(t, func(*testing.T) meta.RateCounters { return newMemCounters() })
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func TestAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts at 2000-01-01 00:00 UTC, the start of
		// a window.
		cfg := Config{Window: 5 * time.Minute, Anonymous: Rates{API: 3, Resolvers: 0, Pages: 1}, User: Rates{API: 5}}
		l := New(testLogger(t), cfg, nil)
		type step struct {
			subject   string
			anonymous bool
			bucket    Bucket
			want      Decision
		}
		api := func(allowed bool, remaining int64, reset time.Duration) Decision {
			return Decision{Bucket: API, Allowed: allowed, Limit: 3, Remaining: remaining, Reset: reset, Window: 5 * time.Minute}
		}
		ip := AddrSubject("192.0.2.1")
		steps := []struct {
			sleep time.Duration
			step
		}{
			{0, step{ip, true, API, api(true, 2, 300*time.Second)}},
			{10 * time.Second, step{ip, true, API, api(true, 1, 290*time.Second)}},
			{0, step{ip, true, API, api(true, 0, 290*time.Second)}},
			{0, step{ip, true, API, api(false, 0, 290*time.Second)}},
			// Refusals are not counted, other callers and buckets are apart.
			{0, step{ip, true, API, api(false, 0, 290*time.Second)}},
			{0, step{AddrSubject("192.0.2.2"), true, API, api(true, 2, 290*time.Second)}},
			{0, step{ip, true, Pages, Decision{Bucket: Pages, Allowed: true, Limit: 1, Reset: 290 * time.Second, Window: 5 * time.Minute}}},
			{0, step{ip, true, Resolvers, Decision{Bucket: Resolvers, Allowed: true}}}, // unlimited
			{0, step{UserSubject(1), false, API, Decision{Bucket: API, Allowed: true, Limit: 5, Remaining: 4, Reset: 290 * time.Second, Window: 5 * time.Minute}}},
			{0, step{UserSubject(1), false, Pages, Decision{Bucket: Pages, Allowed: true}}},
			// A new window starts from zero.
			{290 * time.Second, step{ip, true, API, api(true, 2, 300*time.Second)}},
			{299*time.Second + 500*time.Millisecond, step{ip, true, API, api(true, 1, 500*time.Millisecond)}},
		}
		for i, s := range steps {
			time.Sleep(s.sleep)
			got := l.Allow(s.subject, s.anonymous, s.bucket)
			if diff := cmp.Diff(s.want, got); diff != "" {
				t.Fatalf("step %d: Allow(%s, %s) (-want +got):\n%s", i, s.subject, s.bucket, diff)
			}
		}
	})
}

func TestHeaders(t *testing.T) {
	d := Decision{Bucket: Resolvers, Allowed: false, Limit: 3000, Remaining: 0, Reset: 54*time.Second + time.Millisecond, Window: 5 * time.Minute}
	got := []string{d.RateLimit(), d.Policy(), d.RetryAfter()}
	want := []string{`"resolvers";r=0;t=55`, `"fixed window";"resolvers";q=3000;w=300`, "55"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("headers (-want +got):\n%s", diff)
	}
}

// TestReplicasShare runs two limiters on one store: each learns the
// other's counts at its next sync, so a caller gets at most what one
// replica admits in a sync interval beyond the limit.
func TestReplicasShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemCounters()
		cfg := Config{Window: 5 * time.Minute, Anonymous: Rates{API: 10}, Sync: time.Second}
		a, b := New(testLogger(t), cfg, store), New(testLogger(t), cfg, store)
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { a.Run(ctx) })
		wg.Go(func() { b.Run(ctx) })
		defer wg.Wait()
		defer cancel()

		allow := func(l *Limiter, n int) (admitted int) {
			for range n {
				if l.Allow("ip:192.0.2.1", true, API).Allowed {
					admitted++
				}
			}
			return admitted
		}
		// Two sync intervals: every replica has synced after the other.
		const settle = 2*time.Second + 500*time.Millisecond
		if got := allow(a, 6); got != 6 {
			t.Fatalf("a admitted %d of 6", got)
		}
		time.Sleep(settle)
		if got := allow(b, 1); got != 1 {
			t.Fatalf("b admitted %d of 1", got)
		}
		time.Sleep(settle) // the store holds 7, and both know it
		if got := allow(b, 5); got != 3 {
			t.Fatalf("b admitted %d of 5 after learning of a's 6, want 3", got)
		}
		// a has nothing to send, but its counter is past half the limit:
		// it reads it back at every sync.
		time.Sleep(settle)
		if got := allow(a, 5); got != 0 {
			t.Fatalf("a admitted %d once the store holds 10", got)
		}
		// A new window: old counters are forgotten here and pruned there.
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := allow(a, 1); got != 1 {
			t.Fatalf("new window: a admitted %d", got)
		}
		a.mu.Lock()
		n := len(a.counters)
		a.mu.Unlock()
		if n != 1 {
			t.Errorf("a keeps %d counters, want the current one", n)
		}
		store.mu.Lock()
		for k := range store.n {
			if k.Window < windowStart()-300 {
				t.Errorf("store kept an old counter %+v", k)
			}
		}
		store.mu.Unlock()
	})
}

// TestStoreDown: without the store, a replica still enforces limits on
// its own counts, and sends them once the store is back.
func TestStoreDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemCounters()
		store.setFail(true)
		cfg := Config{Window: 5 * time.Minute, Anonymous: Rates{API: 4}, Sync: time.Second}
		l := New(testLogger(t), cfg, store)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		for i := range 5 {
			time.Sleep(time.Second)
			if got := l.Allow("user:7", true, API).Allowed; got != (i < 4) {
				t.Fatalf("request %d allowed = %v while the store is down", i, got)
			}
		}
		store.setFail(false)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		got, _ := store.AddRateCounts(t.Context(), []meta.RateCount{{Subject: "user:7", Bucket: "api", Window: windowStart()}})
		if got[0] != 4 {
			t.Fatalf("store holds %d after recovery, want 4", got[0])
		}
	})
}

// TestFlushOnStop: counts admitted just before shutdown still reach the
// store.
func TestFlushOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newMemCounters()
		l := New(testLogger(t), Config{Window: 5 * time.Minute, User: Rates{Pages: 100}, Sync: time.Hour}, store)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { l.Run(ctx); close(done) }()
		for range 3 {
			l.Allow("user:1", false, Pages)
		}
		cancel()
		<-done
		got, _ := store.AddRateCounts(t.Context(), []meta.RateCount{{Subject: "user:1", Bucket: "pages", Window: windowStart()}})
		if got[0] != 3 {
			t.Fatalf("store holds %d, want 3", got[0])
		}
	})
}

// windowStart is the start of the current five-minute window.
func windowStart() int64 { return time.Now().Unix() / 300 * 300 }
