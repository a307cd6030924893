package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// A fill is one transfer of an LFS object into this process, shared by
// every reader here. Its bytes go into a spool file (unlinked at once, so
// a crash leaves nothing) that readers follow as it grows. It gets them
// either as the lease holder, from the upstream (hashing them and writing
// them into the blob store in the same pass), or as a relay of the holder
// on another replica, from the chunks that holder stages and finally from
// the published object.
//
// Readers in this process count as refs. An armed fill whose readers all
// leave before one read a byte (a HEAD) is abandoned; once started it
// runs to the end even if they leave: the bytes are worth keeping.
type fill struct {
	m      *Mirror
	oid    string
	size   int64
	up     *upstream
	ref    hub.RepoRef
	repoID int64 // the repository whose request armed it: linked on publish

	ready  chan struct{} // closed once armed
	armErr error

	spool  *os.File
	cancel context.CancelFunc // ends the transfer
	body   io.ReadCloser      // the leader's upstream answer, until it runs
	fence  int64

	// Guarded by m.mu.
	refs     int
	started  bool
	start    chan struct{} // closed when a reader first wants bytes
	idle     chan struct{} // closed when the last reader left an unstarted fill
	finished bool

	mu      sync.Mutex
	written int64
	done    bool  // published: the blob store holds the verified object
	err     error // failed: nothing was kept
	changed chan struct{}
}

// errAbandoned ends a fill nobody read.
var errAbandoned = errors.New("fill abandoned")

// openCold returns a streaming file over oid, joining this process's fill
// of it or arming a new one.
func (m *Mirror) openCold(ctx context.Context, r *meta.Repo, up *upstream, p gitobj.Pointer) (*lfsFile, error) {
	m.mu.Lock()
	f := m.fills[p.OID]
	if f != nil {
		f.refs++
		m.mu.Unlock()
	} else {
		f = &fill{m: m, oid: p.OID, size: p.Size, up: up, ref: refOf(r), repoID: r.ID, ready: make(chan struct{}),
			start: make(chan struct{}), idle: make(chan struct{}), changed: make(chan struct{}), refs: 1}
		m.fills[p.OID] = f
		m.mu.Unlock()
		f.arm(ctx)
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		f.release()
		return nil, ctx.Err()
	}
	if f.armErr != nil {
		f.release()
		return nil, f.armErr
	}
	return &lfsFile{m: m, ctx: ctx, up: up, ref: refOf(r), p: p, fill: f}, nil
}

// arm takes the lease, or finds its holder elsewhere. As the holder it
// opens the upstream transfer at once, so that a refusal (429, 5xx,
// gated) becomes the client's status rather than a broken body.
func (f *fill) arm(ctx context.Context) {
	m := f.m
	defer close(f.ready)
	fail := func(err error) {
		f.armErr = err
		m.mu.Lock()
		if m.fills[f.oid] == f {
			delete(m.fills, f.oid)
		}
		f.finished = true
		m.mu.Unlock()
		f.finish(err)
	}
	spool, err := os.CreateTemp(m.cfg.SpoolDir, "agora-fill-*")
	if err != nil {
		fail(fmt.Errorf("mirror spool: %w", err))
		return
	}
	os.Remove(spool.Name())
	f.spool = spool
	lease, got, err := m.meta.AcquireFill(ctx, f.oid, m.cfg.Holder, m.cfg.LeaseTTL, m.cfg.Now())
	if err != nil {
		spool.Close()
		fail(err)
		return
	}
	if got {
		// A fill that finished between our cache check and the lease
		// published the object already: read that instead.
		if _, err := m.blobs.Stat(ctx, f.oid); err == nil {
			m.meta.ReleaseFill(ctx, f.oid, lease.Fence)
			got = false
		}
	}
	fctx, cancel := context.WithCancel(m.bg)
	f.cancel = cancel
	if got {
		f.fence = lease.Fence
		body, err := f.up.getContent(fctx, f.ref, f.oid, f.size, 0, 0)
		if err != nil {
			cancel()
			m.meta.ReleaseFill(context.WithoutCancel(ctx), f.oid, lease.Fence)
			spool.Close()
			inc(m.cfg.Metrics.FillFailures, 1)
			fail(err)
			return
		}
		f.body = body
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel()
		var err error
		if got {
			err = f.lead(fctx, 0)
		} else {
			err = f.relay(fctx)
		}
		f.end(err)
	}()
}

// want marks that a reader needs bytes.
func (f *fill) want() {
	f.m.mu.Lock()
	if !f.started {
		f.started = true
		close(f.start)
	}
	f.m.mu.Unlock()
}

// release drops a reader.
func (f *fill) release() {
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	f.refs--
	if f.refs > 0 {
		return
	}
	if !f.started && !f.finished {
		// Clients ask HEAD, then GET: the armed transfer waits a moment
		// for the GET rather than being asked for again.
		time.AfterFunc(armedGrace, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if f.refs > 0 || f.started {
				return
			}
			select {
			case <-f.idle:
			default:
				close(f.idle)
			}
			if m.fills[f.oid] == f {
				delete(m.fills, f.oid)
			}
		})
	}
	if f.finished && f.spool != nil {
		f.spool.Close()
	}
}

// armedGrace is how long an armed fill nobody read waits for a reader.
const armedGrace = 2 * time.Second

// waitStart waits for the first reader, or for all readers to leave.
func (f *fill) waitStart(ctx context.Context) error {
	select {
	case <-f.start:
		return nil
	case <-f.idle:
		return errAbandoned
	case <-ctx.Done():
		return ctx.Err()
	}
}

// advance publishes bytes [0, n) of the spool to readers.
func (f *fill) advance(n int64) {
	f.mu.Lock()
	if n > f.written {
		f.written = n
		close(f.changed)
		f.changed = make(chan struct{})
	}
	f.mu.Unlock()
}

func (f *fill) finish(err error) {
	f.mu.Lock()
	if !f.done && f.err == nil {
		if err != nil {
			f.err = err
		} else {
			f.done, f.written = true, f.size
		}
		close(f.changed)
		f.changed = make(chan struct{})
	}
	f.mu.Unlock()
}

// end records the outcome of the transfer goroutine.
func (f *fill) end(err error) {
	m := f.m
	if err != nil && !errors.Is(err, errAbandoned) {
		if he, ok := hub.AsError(err); !ok || he.Kind != hub.ErrUpstreamBusy {
			m.lg.Warn("mirror: fill failed, nothing kept", "upstream", f.up.Name, "repo", f.ref.FullName(), "oid", f.oid, "err", err)
		}
	}
	// Out of the table before readers learn the outcome: a request that
	// comes after a failed one must arm a new fill, not join the failure.
	m.mu.Lock()
	if m.fills[f.oid] == f {
		delete(m.fills, f.oid)
	}
	f.finished = true
	unread := f.refs <= 0
	m.mu.Unlock()
	f.finish(err)
	if unread {
		f.spool.Close()
	}
}

// state returns what readers may see.
func (f *fill) state() (written int64, done bool, err error, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written, f.done, f.err, f.changed
}

// readAt reads from the spool at off, waiting for the bytes to arrive.
// The last byte of the file waits for publication: a reader never
// completes a download the mirror has not verified.
func (f *fill) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	f.want()
	for {
		written, done, err, changed := f.state()
		if err != nil {
			return 0, err
		}
		limit := written
		if !done && limit >= f.size {
			limit = f.size - 1
		}
		if off < limit {
			n := int(min(int64(len(p)), limit-off))
			n, rerr := f.spool.ReadAt(p[:n], off)
			if rerr == io.EOF && n > 0 {
				rerr = nil
			}
			return n, rerr
		}
		if done && off >= f.size {
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// lead transfers the object from the upstream as the lease holder: bytes
// [0, have) are already in the spool (from a relay that took over) and
// must come again identical. It hashes everything into the blob store's
// writer, which publishes only a verified object, renews the lease,
// stages chunks while readers on other replicas want them, and links the
// object to the repository that asked.
func (f *fill) lead(ctx context.Context, have int64) error {
	m := f.m
	body := f.body
	defer body.Close()
	if err := f.waitStart(ctx); err != nil {
		m.meta.ReleaseFill(context.Background(), f.oid, f.fence)
		return err
	}
	start := time.Now()
	w, err := m.blobs.Create(ctx, f.oid, f.size)
	if err != nil {
		m.meta.ReleaseFill(context.Background(), f.oid, f.fence)
		return fmt.Errorf("mirror: store %s: %w", f.oid, err)
	}
	var hb *beat
	pw := f.persist(ctx, w)
	fail := func(err error) error {
		pw.halt()
		pw.wait()
		w.Abort()
		hb.stop()
		f.cleanup(hb.staged)
		inc(m.cfg.Metrics.FillFailures, 1)
		return err
	}
	ir := newIdleReader(body, m.cfg.Timeout, f.cancel)
	defer ir.stop()
	hb = f.heartbeat(ctx)
	defer hb.stop()
	buf := make([]byte, 1<<20)
	cmp := make([]byte, 0, 1<<20)
	var off int64
	for {
		n, rerr := ir.Read(buf)
		if n > 0 {
			if off+int64(n) > f.size {
				return fail(f.up.errorf(hub.ErrUpstreamInvalid, "sent more than the %d bytes of %s", f.size, f.oid))
			}
			chunk := buf[:n]
			if off < have {
				// Bytes a relay already gave readers: the upstream must
				// send them again unchanged.
				k := min(int64(n), have-off)
				cmp = cmp[:k]
				if _, err := f.spool.ReadAt(cmp, off); err != nil || !bytes.Equal(cmp, chunk[:k]) {
					return fail(f.up.errorf(hub.ErrUpstreamInvalid, "sent different bytes for %s than before", f.oid))
				}
			}
			if off+int64(n) > have {
				from := max(0, have-off)
				if _, err := f.spool.WriteAt(chunk[from:], off+from); err != nil {
					return fail(fmt.Errorf("mirror spool: %w", err))
				}
			}
			off += int64(n)
			f.advance(off)
			m.cfg.Metrics.upstreamBytes(int64(n))
		}
		if err := hb.lost(); err != nil {
			return fail(fmt.Errorf("mirror: fill %s lost its lease: %w", f.oid, err))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if err := hb.lost(); err != nil {
				return fail(fmt.Errorf("mirror: fill %s lost its lease: %w", f.oid, err))
			}
			return fail(f.readError(rerr))
		}
	}
	if off != f.size {
		return fail(f.up.errorf(hub.ErrUpstreamInvalid, "ended the transfer of %s after %d of %d bytes", f.oid, off, f.size))
	}
	if err := pw.wait(); err != nil {
		return fail(fmt.Errorf("mirror: store %s: %w", f.oid, err))
	}
	hb.stop()
	if _, err := w.Commit(ctx); err != nil {
		f.cleanup(hb.staged)
		inc(m.cfg.Metrics.FillFailures, 1)
		if errors.Is(err, blob.ErrDigestMismatch) || errors.Is(err, blob.ErrSizeMismatch) {
			return f.up.errorf(hub.ErrUpstreamInvalid, "sent bytes that do not match the SHA-256 of %s", f.oid)
		}
		return fmt.Errorf("mirror: publish %s: %w", f.oid, err)
	}
	if err := f.adopt(ctx); err != nil {
		f.cleanup(hb.staged)
		return err
	}
	f.cleanup(hb.staged)
	inc(m.cfg.Metrics.FillSeconds, time.Since(start).Seconds())
	m.lg.Info("mirror: cached", "upstream", f.up.Name, "repo", f.ref.FullName(), "oid", f.oid, "size", f.size, "dur", time.Since(start))
	m.evictLater(f.up)
	return nil
}

// persister copies the spool into the blob store's writer as it grows, in
// a goroutine of its own: the writer hashes (it publishes only content
// matching the oid, which is the fill's check) and writes, which would
// otherwise halve the speed at which bytes reach readers.
type persister struct {
	done chan struct{}
	err  error
	stop chan struct{}
	once sync.Once
}

func (f *fill) persist(ctx context.Context, w blob.Writer) *persister {
	p := &persister{done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 1<<20)
		var off int64
		for {
			written, _, _, changed := f.state()
			for off < written {
				n, err := f.spool.ReadAt(buf[:min(int64(len(buf)), written-off)], off)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						p.err = werr
						f.cancel()
						return
					}
					off += int64(n)
				}
				if err != nil && err != io.EOF {
					p.err = err
					f.cancel()
					return
				}
			}
			if off >= f.size {
				return
			}
			select {
			case <-changed:
			case <-p.stop:
				return
			case <-ctx.Done():
				p.err = ctx.Err()
				return
			}
		}
	}()
	return p
}

// halt stops the persister early (the fill failed).
func (p *persister) halt() { p.once.Do(func() { close(p.stop) }) }

// wait waits until the persister wrote everything the fill received (or
// stopped on an error).
func (p *persister) wait() error {
	<-p.done
	return p.err
}

// beat renews a fill's lease while it runs, whether or not bytes arrive
// (a stalled upstream is the idle timeout's business, not the lease's).
// While readers on other replicas want the fill, it also stages the
// complete chunks the spool holds, whether or not the upstream is moving.
type beat struct {
	mu     sync.Mutex
	err    error
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	staged []string // chunk keys; read only after stop
}

func (f *fill) heartbeat(ctx context.Context) *beat {
	m := f.m
	b := &beat{done: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(min(m.cfg.LeaseTTL/3, time.Second))
		defer t.Stop()
		wanted := false
		for {
			_, _, _, changed := f.state()
			select {
			case <-b.done:
				return
			case <-ctx.Done():
				return
			case <-changed:
				if !wanted {
					continue
				}
			case <-t.C:
				lease, err := m.meta.RenewFill(ctx, f.oid, f.fence, m.cfg.LeaseTTL, m.cfg.Now())
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					b.mu.Lock()
					b.err = err
					b.mu.Unlock()
					f.cancel() // stop the transfer: another holder may be writing
					return
				}
				wanted = m.chunks != nil && !lease.WantedAt.IsZero() && m.cfg.Now().Sub(lease.WantedAt) < 30*time.Second
			}
			if wanted {
				written, _, _, _ := f.state()
				var err error
				if b.staged, err = f.stage(ctx, b.staged, written); err != nil && ctx.Err() == nil {
					m.lg.Warn("mirror: cannot stage chunks for other replicas", "oid", f.oid, "err", err)
					wanted = false
				}
			}
		}
	}()
	return b
}

func (b *beat) lost() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// stop ends the heartbeat and waits for it (idempotent).
func (b *beat) stop() {
	b.once.Do(func() { close(b.done) })
	b.wg.Wait()
}

// adopt links a published object to the repository that asked and
// accounts it to the upstream's cache.
func (f *fill) adopt(ctx context.Context) error {
	m := f.m
	if err := m.meta.AddLFSObject(ctx, f.repoID, f.oid, f.size); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("mirror: link %s: %w", f.oid, err)
	}
	if err := m.meta.TouchMirrorObject(ctx, f.up.Name, f.oid, f.size, m.cfg.Now()); err != nil {
		return fmt.Errorf("mirror: account %s: %w", f.oid, err)
	}
	return nil
}

func (f *fill) readError(err error) error {
	switch {
	case errors.Is(err, errIdle):
		return f.up.errorf(hub.ErrUpstreamTimeout, "the transfer of %s stalled", f.oid)
	case errors.Is(err, context.Canceled):
		return err
	}
	return &hub.Error{Kind: hub.ErrUpstreamInvalid, Msg: "upstream " + f.up.Name + ": the transfer of " + f.oid + " broke", Err: err}
}

// cleanup ends the lease and removes staged chunks.
func (f *fill) cleanup(staged []string) {
	ctx := context.Background()
	f.m.meta.ReleaseFill(ctx, f.oid, f.fence)
	for _, k := range staged {
		f.m.chunks.Delete(ctx, k)
	}
}

// chunkKey names chunk i of a fill under fence in the key space.
func chunkKey(oid string, fence int64, i int) string {
	s := sha256.Sum256([]byte(oid + ":" + strconv.FormatInt(fence, 10) + ":" + strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

// stage writes the complete chunks below off that are not staged yet,
// except the one holding the file's last byte (which readers get only
// from the published object).
func (f *fill) stage(ctx context.Context, staged []string, off int64) ([]string, error) {
	cs := f.m.cfg.ChunkSize
	for {
		i := len(staged)
		end := int64(i+1) * cs
		if end > off || end >= f.size {
			return staged, nil
		}
		key := chunkKey(f.oid, f.fence, i)
		w, err := f.m.chunks.Create(ctx, key, cs)
		if err != nil {
			return staged, fmt.Errorf("mirror: stage %s: %w", f.oid, err)
		}
		if _, err := io.Copy(w, io.NewSectionReader(f.spool, int64(i)*cs, cs)); err != nil {
			w.Abort()
			return staged, fmt.Errorf("mirror: stage %s: %w", f.oid, err)
		}
		if _, err := w.Commit(ctx); err != nil {
			return staged, fmt.Errorf("mirror: stage %s: %w", f.oid, err)
		}
		staged = append(staged, key)
		if err := f.m.meta.AddFillChunk(ctx, f.oid, f.fence, meta.FillChunk{Index: i, OID: key, Size: cs}); err != nil {
			return staged, fmt.Errorf("mirror: stage %s: %w", f.oid, err)
		}
	}
}

// relay follows a fill held by another replica: its staged chunks as
// they appear, then the published object. If the holder goes away
// without publishing, the relay takes the lease over and leads.
func (f *fill) relay(ctx context.Context) error {
	m := f.m
	if err := f.waitStart(ctx); err != nil {
		return err
	}
	var off int64
	next := 0
	var lastWant time.Time
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if done, err := f.fromPublished(ctx, off); done || err != nil {
			return err
		}
		lease, chunks, err := m.meta.FillChunks(ctx, f.oid)
		if err == nil && lease.ExpiresAt.After(m.cfg.Now()) {
			moved := false
			for _, c := range chunks {
				if c.Index != next || m.chunks == nil {
					continue
				}
				n, err := f.copyChunk(ctx, c, off)
				if err != nil {
					break // the holder may have just removed it: look again
				}
				off += n
				next++
				moved = true
				f.advance(off)
			}
			if !moved {
				if time.Since(lastWant) > time.Second {
					m.meta.WantFill(ctx, f.oid, m.cfg.Now())
					lastWant = time.Now()
				}
				select {
				case <-time.After(m.cfg.Poll):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			continue
		}
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		// Nobody holds the fill, and it is not published (checked again
		// here after the lease vanished): the holder failed or died.
		if done, err := f.fromPublished(ctx, off); done || err != nil {
			return err
		}
		lease, got, err := m.meta.AcquireFill(ctx, f.oid, m.cfg.Holder, m.cfg.LeaseTTL, m.cfg.Now())
		if err != nil {
			return err
		}
		if !got {
			continue
		}
		f.fence = lease.Fence
		body, err := f.up.getContent(ctx, f.ref, f.oid, f.size, 0, 0)
		if err != nil {
			m.meta.ReleaseFill(context.Background(), f.oid, lease.Fence)
			inc(m.cfg.Metrics.FillFailures, 1)
			return err
		}
		f.body = body
		return f.lead(ctx, off)
	}
}

// fromPublished copies bytes [off, size) of the published object into the
// spool; done reports whether it was published.
func (f *fill) fromPublished(ctx context.Context, off int64) (bool, error) {
	b, info, err := f.m.blobs.Open(ctx, f.oid)
	if errors.Is(err, blob.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer b.Close()
	if info.Size != f.size {
		return false, fmt.Errorf("mirror: stored %s has %d bytes, want %d", f.oid, info.Size, f.size)
	}
	buf := make([]byte, 1<<20)
	for off < f.size {
		n, err := b.ReadAt(buf[:min(int64(len(buf)), f.size-off)], off)
		if n > 0 {
			if _, werr := f.spool.WriteAt(buf[:n], off); werr != nil {
				return false, werr
			}
			off += int64(n)
			f.advance(min(off, f.size-1))
		}
		if err != nil && !(err == io.EOF && off == f.size) {
			return false, err
		}
	}
	if err := f.m.meta.AddLFSObject(ctx, f.repoID, f.oid, f.size); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return false, err
	}
	return true, nil
}

// copyChunk appends a staged chunk to the spool at off.
func (f *fill) copyChunk(ctx context.Context, c meta.FillChunk, off int64) (int64, error) {
	if int64(c.Index)*f.m.cfg.ChunkSize != off {
		return 0, fmt.Errorf("chunk %d does not start at %d", c.Index, off)
	}
	b, _, err := f.m.chunks.Open(ctx, c.OID)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	n, err := io.Copy(io.NewOffsetWriter(f.spool, off), io.LimitReader(b, c.Size))
	if err == nil && n != c.Size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
