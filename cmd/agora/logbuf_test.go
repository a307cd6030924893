package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogBuffer(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		size  int
		log   func(lg *slog.Logger)
		now   []string // written at once
		later []string // written after the delay
	}{
		{"info waits", 50 * time.Millisecond, 1 << 20,
			func(lg *slog.Logger) { lg.Info("a"); lg.Info("b") }, nil, []string{"msg=a", "msg=b"}},
		{"a warning writes what came before it", time.Hour, 1 << 20,
			func(lg *slog.Logger) { lg.Info("a"); lg.Warn("w") }, []string{"msg=a", "msg=w"}, nil},
		{"a full buffer is written", time.Hour, 10,
			func(lg *slog.Logger) { lg.Info("long enough") }, []string{"msg=\"long enough\""}, nil},
		{"attributes and groups keep flushing", time.Hour, 1 << 20,
			func(lg *slog.Logger) { lg.With("k", 1).WithGroup("g").Error("e", "x", 2) }, []string{"k=1", "msg=e", "g.x=2"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			b := newLogBuffer(&out, tc.delay, tc.size)
			lg := slog.New(flushingHandler{slog.NewTextHandler(b, nil), b})
			tc.log(lg)
			got := out.String()
			for _, w := range tc.now {
				if !strings.Contains(got, w) {
					t.Fatalf("written at once: %q, want %q in it", got, w)
				}
			}
			if len(tc.now) > 0 && strings.Index(got, tc.now[0]) > strings.Index(got, tc.now[len(tc.now)-1]) {
				t.Fatalf("out of order: %q", got)
			}
			if tc.later == nil {
				return
			}
			for _, w := range tc.later {
				if strings.Contains(got, w) {
					t.Fatalf("%q written before the delay", w)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(out.String(), tc.later[len(tc.later)-1]) {
				if time.Now().After(deadline) {
					t.Fatalf("not written after the delay: %q", out.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got := out.String(); strings.Index(got, tc.later[0]) > strings.Index(got, tc.later[1]) {
				t.Fatalf("out of order: %q", got)
			}
		})
	}
}
