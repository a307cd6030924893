package limits

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// Rates are the requests a caller may make per window in each bucket;
// 0 means unlimited.
type Rates struct {
	API, Resolvers, Pages int64
}

func (r Rates) of(b Bucket) int64 {
	switch b {
	case API:
		return r.API
	case Resolvers:
		return r.Resolvers
	case Pages:
		return r.Pages
	}
	return 0
}

// String formats r as ParseRates reads it.
func (r Rates) String() string {
	return fmt.Sprintf("api=%d,resolvers=%d,pages=%d", r.API, r.Resolvers, r.Pages)
}

// ParseRates reads "api=N,resolvers=N,pages=N" (buckets left out keep
// their value in def; 0 is unlimited) or "off" (everything unlimited).
func ParseRates(s string, def Rates) (Rates, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Rates{}, nil
	}
	r := def
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if !ok || err != nil || n < 0 {
			return def, fmt.Errorf("%q: want api=N,resolvers=N,pages=N (N ≥ 0, 0 = unlimited) or off", s)
		}
		switch Bucket(strings.TrimSpace(k)) {
		case API:
			r.API = n
		case Resolvers:
			r.Resolvers = n
		case Pages:
			r.Pages = n
		default:
			return def, fmt.Errorf("%q: unknown bucket %q (api, resolvers or pages)", s, k)
		}
	}
	return r, nil
}

// Config configures a [Limiter].
type Config struct {
	// Window is the length of the fixed windows requests are counted in.
	Window time.Duration
	// Anonymous are the rates of each client address without credentials.
	Anonymous Rates
	// User are the rates of each signed-in user.
	User Rates
	// Sync is how often counts go to the shared store.
	Sync time.Duration
}

// DefaultConfig returns the defaults documented in the README: the Hub's
// five-minute windows, with limits well above what a person or a CI job
// does (the Hub's own, for comparison: 500 API calls, 3,000 resolves and
// 100 pages per anonymous address).
func DefaultConfig() Config {
	return Config{
		Window:    5 * time.Minute,
		Anonymous: Rates{API: 5000, Resolvers: 30000, Pages: 3000},
		User:      Rates{API: 20000, Resolvers: 100000, Pages: 10000},
		Sync:      time.Second,
	}
}

// Counters is the shared store of counts (meta.Store implements it).
type Counters interface {
	AddRateCounts(ctx context.Context, counts []meta.RateCount) ([]int64, error)
	PruneRateCounts(ctx context.Context, before int64) error
}

// Limiter counts requests per caller and bucket in fixed windows. It is
// safe for concurrent use.
type Limiter struct {
	lg    *slog.Logger
	cfg   Config
	store Counters // nil: count in this process only

	mu       sync.Mutex
	counters map[counterKey]*counter
}

type counterKey struct {
	subject string
	bucket  Bucket
	window  int64 // start, Unix seconds
}

// counter is one caller's count in one bucket and window as this replica
// sees it: the total the store last returned, plus what this replica
// admitted since (pending), plus what it is writing right now (flushing).
type counter struct {
	known, pending, flushing int64
	limit                    int64
}

// hot reports whether a counter is close enough to its limit that other
// replicas' counts matter: such counters are read back at every sync even
// without local requests, so that a replica learns of a caller spending
// its allowance elsewhere within a second.
func (c *counter) hot() bool { return 2*c.known >= c.limit && c.known < c.limit }

// New returns a limiter; store may be nil (counts stay in this process).
// Call Run for counts to reach the store.
func New(lg *slog.Logger, cfg Config, store Counters) *Limiter {
	if cfg.Window < time.Second {
		cfg.Window = 5 * time.Minute
	}
	if cfg.Sync <= 0 {
		cfg.Sync = time.Second
	}
	return &Limiter{lg: lg, cfg: cfg, store: store, counters: map[counterKey]*counter{}}
}

// Decision is the answer for one request.
type Decision struct {
	Bucket  Bucket
	Allowed bool
	// Limit is the requests allowed per window, 0 when unlimited (then
	// nothing else is set and no header is due).
	Limit     int64
	Remaining int64
	// Reset is the time left in the window.
	Reset  time.Duration
	Window time.Duration
}

// Allow counts one request of subject in bucket b, unless that would
// exceed its limit; refused requests are not counted. anonymous selects
// the anonymous rates.
func (l *Limiter) Allow(subject string, anonymous bool, b Bucket) Decision {
	rates := l.cfg.User
	if anonymous {
		rates = l.cfg.Anonymous
	}
	limit := rates.of(b)
	if limit <= 0 {
		return Decision{Bucket: b, Allowed: true}
	}
	now := time.Now()
	w := int64(l.cfg.Window / time.Second)
	start := now.Unix() / w * w
	d := Decision{Bucket: b, Limit: limit, Window: l.cfg.Window, Reset: time.Unix(start+w, 0).Sub(now)}
	k := counterKey{subject, b, start}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.counters[k]
	if c == nil {
		c = &counter{limit: limit}
		l.counters[k] = c
	}
	used := c.known + c.pending + c.flushing
	if used >= limit {
		return d
	}
	c.pending++
	d.Allowed, d.Remaining = true, limit-used-1
	return d
}

// RateLimit is the value of the RateLimit header (IETF draft
// draft-ietf-httpapi-ratelimit-headers-09, as the Hub sends it):
// `"api";r=REMAINING;t=SECONDS_TO_RESET`. huggingface_hub ≥ 1.2 reads it
// with the pattern "(\w+)";r=(\d+);t=(\d+) and, on a 429 with r=0, waits
// t+1 seconds before retrying.
func (d Decision) RateLimit() string {
	return fmt.Sprintf(`"%s";r=%d;t=%d`, d.Bucket, d.Remaining, ceilSeconds(d.Reset))
}

// Policy is the value of the RateLimit-Policy header:
// `"fixed window";"api";q=LIMIT;w=WINDOW_SECONDS`.
func (d Decision) Policy() string {
	return fmt.Sprintf(`"fixed window";"%s";q=%d;w=%d`, d.Bucket, d.Limit, ceilSeconds(d.Window))
}

// RetryAfter is the value of the Retry-After header of a refusal, in
// seconds (the only form huggingface_hub reads).
func (d Decision) RetryAfter() string { return strconv.FormatInt(ceilSeconds(d.Reset), 10) }

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// Run writes counts to the store every Sync until ctx is done, then
// writes what is left once more.
func (l *Limiter) Run(ctx context.Context) {
	t := time.NewTicker(l.cfg.Sync)
	defer t.Stop()
	var pruned int64
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.flush(fctx)
			cancel()
			return
		case <-t.C:
		}
		l.flush(ctx)
		// Keep the previous window, which a replica with a slow clock may
		// still be writing, and drop the ones before.
		w := int64(l.cfg.Window / time.Second)
		if before := time.Now().Unix()/w*w - w; before > pruned && l.store != nil {
			if err := l.store.PruneRateCounts(ctx, before); err != nil && ctx.Err() == nil {
				l.lg.Warn("rate limits: prune old counters", "err", err)
			} else {
				pruned = before
			}
		}
	}
}

// flush sends pending counts to the store and takes back the totals
// (reading hot counters with nothing to send); it also forgets counters of
// past windows with nothing left to send.
func (l *Limiter) flush(ctx context.Context) {
	w := int64(l.cfg.Window / time.Second)
	current := time.Now().Unix() / w * w
	var batch []meta.RateCount
	var cs []*counter
	l.mu.Lock()
	for k, c := range l.counters {
		if c.pending == 0 && (k.window < current || !c.hot() || l.store == nil) {
			if k.window < current {
				delete(l.counters, k)
			}
			continue
		}
		if l.store == nil {
			// Nothing shares the counts: they are the totals.
			c.known += c.pending
			c.pending = 0
			continue
		}
		c.flushing, c.pending = c.pending, 0
		batch = append(batch, meta.RateCount{Subject: k.subject, Bucket: string(k.bucket), Window: k.window, N: c.flushing})
		cs = append(cs, c)
	}
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	totals, err := l.store.AddRateCounts(ctx, batch)
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, c := range cs {
		if err != nil {
			// Kept, to be sent with the next batch: the store may have
			// missed them, and counting them twice is the safer error.
			c.pending += c.flushing
		} else {
			c.known = totals[i]
		}
		c.flushing = 0
	}
	if err != nil && ctx.Err() == nil {
		l.lg.Warn("rate limits: counts not shared with other replicas", "counters", len(batch), "err", err)
	}
}
