package mirror

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

// TestFailedFillLeavesTableFirst: a reader that learns a fill failed
// must not leave the fill behind for the next request to join (it would
// answer that request with the old failure). The test holds the table's
// lock while the fill ends, so any outcome published before the fill
// left the table is seen.
func TestFailedFillLeavesTableFirst(t *testing.T) {
	spool, err := os.CreateTemp(t.TempDir(), "spool")
	if err != nil {
		t.Fatal(err)
	}
	m := &Mirror{lg: slog.New(slog.NewTextHandler(io.Discard, nil)), fills: map[string]*fill{}}
	f := &fill{m: m, oid: "abc", size: 10, up: &upstream{Upstream: Upstream{Name: "up"}}, spool: spool,
		start: make(chan struct{}), idle: make(chan struct{}), changed: make(chan struct{}), refs: 1}
	m.fills[f.oid] = f

	m.mu.Lock()
	go f.end(errors.New("upstream sent damaged bytes"))
	_, _, ferr, changed := f.state()
	if ferr == nil {
		select {
		case <-changed:
		case <-time.After(200 * time.Millisecond):
		}
	}
	_, _, ferr, _ = f.state()
	inTable := m.fills[f.oid] == f
	m.mu.Unlock()
	if ferr != nil && inTable {
		t.Fatal("readers saw the failure while the fill was still there to join")
	}

	deadline := time.After(5 * time.Second)
	for {
		if _, _, ferr, changed = f.state(); ferr != nil {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("the fill never ended")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fills[f.oid] != nil || !f.finished {
		t.Fatal("a failed fill stayed in the table")
	}
}
