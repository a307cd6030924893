package pgmeta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// DataVersion tells whether anything was committed to the cluster since
// an earlier call, as sqlitemeta's does, so that a replica keeps refs,
// repository rows and counts for as long as nothing was written instead
// of asking the database on every request: v is the same while nothing
// was committed, by any replica, and different after. ok is false when it
// cannot tell (callers then read the store).
//
// The version is PostgreSQL's current snapshot (pg_current_snapshot: the
// oldest running transaction, the next transaction id, those in
// progress): it is the same text at two moments only if no transaction
// that wrote anything committed or began writing between them, since the
// next id only grows and the in-progress list only loses the ids below
// it. A WAL position would not do: a commit's record is in the WAL before
// the commit is visible, so a read between the two would be kept with a
// position that does not move when the commit becomes visible.
//
// notBefore is the earliest moment the answer may be taken at: a caller
// must see every commit acknowledged before it (the request's arrival,
// since a client writes through one replica and reads through another).
// Answers come from polls that run one at a time and are shared: a caller
// takes the newest poll begun at or after both notBefore and this store's
// last statement (which covers the caller's own writes), or waits for
// one. Under load one poll answers every request that arrived while the
// previous one ran, so each request costs a fraction of a small query
// where it cost the queries the caches spare. (Spacing polls by 0.25-1 ms
// to share each among more requests was measured at a million
// repositories and made model_info slower: the wait cost more than the
// polls it saved.)
func (s *Store) DataVersion(ctx context.Context, notBefore time.Time) (v uint64, ok bool) {
	return s.version.get(ctx, notBefore)
}

// versionPoller runs the snapshot polls. Times are nanoseconds on the
// process's monotonic clock (since epoch), so that they compare with
// time.Time values through Sub.
type versionPoller struct {
	poll  func(ctx context.Context) (string, error)
	epoch time.Time
	// lastStatement is when a statement of this store other than a poll
	// last ended: any of them may have written.
	lastStatement atomic.Int64

	mu      sync.Mutex
	last    *round // the newest poll that answered
	running *round // the poll in flight
	next    *round // the poll to start after it, for those who came later
	seen    string // the snapshot of the newest answer
	ver     uint64 // counts the snapshots that differed from the one before
	off     bool   // the server cannot tell (no pg_current_snapshot)
}

type round struct {
	began int64 // set when it starts
	done  chan struct{}
	v     uint64
	ok    bool
}

func newVersionPoller(poll func(ctx context.Context) (string, error)) *versionPoller {
	return &versionPoller{poll: poll, epoch: time.Now()}
}

func (p *versionPoller) now() int64 { return int64(time.Since(p.epoch)) }

// pollTimeout bounds one poll; its waiters go to the database instead.
const pollTimeout = 5 * time.Second

func (p *versionPoller) get(ctx context.Context, notBefore time.Time) (uint64, bool) {
	if ctx.Err() != nil {
		// Gone already: neither start a poll nor race a finished one
		// (a select between two ready channels picks either).
		return 0, false
	}
	after := max(int64(notBefore.Sub(p.epoch)), p.lastStatement.Load())
	p.mu.Lock()
	if p.off {
		p.mu.Unlock()
		return 0, false
	}
	if l := p.last; l != nil && l.began >= after {
		p.mu.Unlock()
		return l.v, l.ok
	}
	var r *round
	switch {
	case p.running == nil:
		r = p.start(&round{done: make(chan struct{})})
	case p.running.began >= after:
		r = p.running
	default:
		if p.next == nil {
			p.next = &round{done: make(chan struct{})}
		}
		r = p.next
	}
	p.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.ok
	case <-ctx.Done():
		return 0, false
	}
}

// start runs r, under p.mu.
func (p *versionPoller) start(r *round) *round {
	r.began = p.now()
	p.running = r
	go p.run(r)
	return r
}

func (p *versionPoller) run(r *round) {
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	snap, err := p.poll(ctx)
	cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err == nil:
		if snap != p.seen || p.last == nil {
			p.ver++
			p.seen = snap
		}
		r.v, r.ok = p.ver, true
		p.last = r
	case errors.Is(err, errNoSnapshot):
		p.off = true
	}
	close(r.done)
	p.running = nil
	if n := p.next; n != nil {
		p.next = nil
		p.start(n)
	}
}

// errNoSnapshot: the server has no pg_current_snapshot (before 13).
var errNoSnapshot = errors.New("pg_current_snapshot is not available")

// pollKey marks a poll's context, so that the tracer does not count it as
// a statement that may have written.
type pollKey struct{}

// snapshotPoll reads the cluster's current snapshot through db's pool.
func snapshotPoll(db *sql.DB) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		var s string
		err := db.QueryRowContext(context.WithValue(ctx, pollKey{}, true), `SELECT pg_current_snapshot()::text`).Scan(&s)
		if code(err) == "42883" { // undefined_function
			return "", errNoSnapshot
		}
		if err != nil {
			return "", fmt.Errorf("poll snapshot: %w", err)
		}
		return s, nil
	}
}

// statementTracer records when this store's statements end (pgx calls it
// for every query, exec and transaction end, through database/sql too).
type statementTracer struct{ p *versionPoller }

func (t statementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t statementTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if ctx.Value(pollKey{}) != nil {
		return
	}
	now := t.p.now()
	for {
		old := t.p.lastStatement.Load()
		if old >= now || t.p.lastStatement.CompareAndSwap(old, now) {
			return
		}
	}
}
