package mirror

import (
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// errIdle: an upstream transfer received nothing for the idle timeout.
var errIdle = errors.New("upstream transfer stalled")

// idleReader cancels a transfer that stops making progress: a hung
// upstream must not hold a fill (and its lease) forever, while a slow but
// moving one may take as long as it needs.
type idleReader struct {
	r       io.Reader
	d       time.Duration
	t       *time.Timer
	stalled atomic.Bool
}

// newIdleReader calls cancel once r delivers nothing for d.
func newIdleReader(r io.Reader, d time.Duration, cancel func()) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.t = time.AfterFunc(d, func() {
		ir.stalled.Store(true)
		cancel()
	})
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	if err != nil && err != io.EOF && ir.stalled.Load() {
		err = errIdle
	}
	return n, err
}

func (ir *idleReader) stop() { ir.t.Stop() }
