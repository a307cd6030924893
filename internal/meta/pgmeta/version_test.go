package pgmeta

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/metatest"
)

var pgxEnd = pgx.TraceQueryEndData{}

// fakeSnapshots is a poll whose snapshot the test sets, counting polls;
// each poll waits on gate when it is set.
type fakeSnapshots struct {
	mu    sync.Mutex
	snap  string
	err   error
	polls atomic.Int64
	gate  chan struct{}
}

func (f *fakeSnapshots) poll(ctx context.Context) (string, error) {
	f.polls.Add(1)
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, f.err
}

func (f *fakeSnapshots) set(s string) {
	f.mu.Lock()
	f.snap = s
	f.mu.Unlock()
}

// TestVersionPoller: the version moves exactly when the snapshot does; an
// answer is never from a poll begun before the caller's notBefore or
// before this store's last statement; callers that wait together share
// one poll; a server without pg_current_snapshot turns the version off.
func TestVersionPoller(t *testing.T) {
	ctx := t.Context()
	f := &fakeSnapshots{snap: "1:1:"}
	p := newVersionPoller(f.poll)
	get := func(notBefore time.Time) uint64 {
		t.Helper()
		v, ok := p.get(ctx, notBefore)
		if !ok {
			t.Fatal("no version")
		}
		return v
	}
	v1 := get(time.Now())
	if v := get(time.Now()); v != v1 {
		t.Fatalf("version moved from %d to %d with the same snapshot", v1, v)
	}
	polls := f.polls.Load()
	// An arrival before the newest poll began takes its answer.
	past := time.Now().Add(-time.Hour)
	if v := get(past); v != v1 || f.polls.Load() != polls {
		t.Fatalf("an earlier arrival polled again (version %d, %d polls, want %d, %d)", v, f.polls.Load(), v1, polls)
	}
	f.set("1:2:")
	if v := get(past); v != v1 {
		t.Fatal("an earlier arrival was answered by a new poll")
	}
	v2 := get(time.Now())
	if v2 == v1 {
		t.Fatal("the version did not move with the snapshot")
	}
	// A statement of this store (it may have written) makes even an early
	// arrival wait for a poll begun after it.
	f.set("1:3:")
	statementTracer{p}.TraceQueryEnd(ctx, nil, pgxEnd)
	if v := get(past); v == v2 {
		t.Fatal("an answer from before this store's last statement")
	}
	// A poll that reads the pollKey context is not a statement.
	polls = f.polls.Load()
	statementTracer{p}.TraceQueryEnd(context.WithValue(ctx, pollKey{}, true), nil, pgxEnd)
	get(past)
	if f.polls.Load() != polls {
		t.Fatal("a poll counted as a statement")
	}

	// Callers that arrive while a poll runs wait for the next one, begun
	// after them, and share it.
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	first := make(chan uint64)
	go func() { v, _ := p.get(ctx, time.Now()); first <- v }()
	for f.polls.Load() == polls {
		time.Sleep(time.Millisecond)
	}
	polls = f.polls.Load() // the first caller's poll, blocked
	f.set("2:4:")          // committed while it runs, seen by its read or not
	var wg sync.WaitGroup
	got := make([]uint64, 20)
	for i := range got {
		wg.Go(func() { got[i], _ = p.get(ctx, time.Now()) })
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	f.set("2:5:")                     // committed before the next poll
	close(gate)
	<-first
	wg.Wait()
	// One, unless a caller was so slow to arrive that it came after the
	// shared poll had begun.
	if n := f.polls.Load() - polls; n > 2 {
		t.Fatalf("%d polls for 20 waiting callers, want 1", n)
	}
	f.mu.Lock()
	f.gate = nil
	f.mu.Unlock()
	want := get(time.Now())
	for i, v := range got {
		if v != want {
			t.Fatalf("caller %d got version %d, not the one of the poll after it (%d)", i, v, want)
		}
	}

	// A cancelled caller goes away; others still get answers.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f.set("3:6:")
	if _, ok := p.get(cctx, time.Now()); ok {
		t.Fatal("a cancelled caller got a version")
	}
	get(time.Now())

	f.mu.Lock()
	f.err = errNoSnapshot
	f.mu.Unlock()
	f.set("4:7:")
	if _, ok := p.get(ctx, time.Now()); ok {
		t.Fatal("a version without pg_current_snapshot")
	}
	polls = f.polls.Load()
	if _, ok := p.get(ctx, time.Now()); ok || f.polls.Load() != polls {
		t.Fatal("polled again after pg_current_snapshot was found missing")
	}
}

// TestDataVersion: on a real server, the version read after a write
// returned (by this store or another replica's) differs from the one
// read before it, and a value read with a version is never kept past a
// commit. Other tests share the server, so the version may also move
// without a write here; that only costs a cache its hits.
func TestDataVersion(t *testing.T) {
	u := freshDatabase(t)
	open := func() *Store {
		s, err := Open(t.Context(), u, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s, other := open(), open()
	ctx := t.Context()
	version := func() uint64 {
		t.Helper()
		v, ok := s.DataVersion(ctx, time.Now())
		if !ok {
			t.Fatal("no data version")
		}
		return v
	}
	for i := range 30 {
		for _, w := range []*Store{s, other} {
			before := version()
			if err := w.CreateUser(ctx, &meta.User{Name: fmt.Sprintf("u%d-%p", i, w)}); err != nil {
				t.Fatal(err)
			}
			if after := version(); after == before {
				t.Fatalf("write %d: version %d did not move", i, before)
			}
		}
	}

	// The count is read through the other store, as a replica's cache is
	// filled through its own store while this one answers the version:
	// only the requests' arrivals order them.
	metatest.DataVersionConcurrent(t, version, other, func() int {
		var n int
		if err := other.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}, 300)
}

// TestOwnCommitNeedsANewPoll: pgx reports this store's statements to the
// tracer through database/sql, a transaction's COMMIT included, so a
// caller whose notBefore is older than its own write still gets a version
// from after it; a poll alone does not count as a statement.
func TestOwnCommitNeedsANewPoll(t *testing.T) {
	s, err := Open(t.Context(), freshDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	past := time.Now().Add(-time.Hour) // any poll would do, but for the store's own statements
	version := func() uint64 {
		t.Helper()
		v, ok := s.DataVersion(ctx, past)
		if !ok {
			t.Fatal("no data version")
		}
		return v
	}
	if err := s.CreateUser(ctx, &meta.User{Name: "own"}); err != nil {
		t.Fatal(err)
	}
	version()
	mark := s.version.lastStatement.Load()
	version()
	if s.version.lastStatement.Load() != mark {
		t.Fatal("a poll counted as a statement")
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET name = name WHERE name = 'own'`); err != nil {
		t.Fatal(err)
	}
	during := version() // the transaction is in progress in this poll's snapshot
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if after := version(); after == during {
		t.Fatalf("version %d unchanged after this store's own commit: the COMMIT was not traced", during)
	}
}
