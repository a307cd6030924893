package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// nearFill is how far ahead of a running fill a read of a file of size
// bytes may start and still wait for the fill; further ahead, it is
// answered by a ranged request upstream.
func nearFill(size int64) int64 { return min(16<<20, size/8) }

// OpenLFS implements hub.Mirror.
func (m *Mirror) OpenLFS(ctx context.Context, r *meta.Repo, p gitobj.Pointer, stream bool) (blob.File, error) {
	mr, err := m.state(ctx, r.ID)
	if err != nil || mr == nil {
		return nil, err
	}
	if ok, err := m.cached(ctx, r, mr, p); err != nil || ok {
		return nil, err
	}
	up := m.upstreamOf(mr)
	if up == nil {
		return nil, m.unbound(nil, mr)
	}
	if err := up.checkCallable(ctx); err != nil {
		return nil, err
	}
	if !stream {
		return &lfsFile{m: m, ctx: ctx, up: up, ref: refOf(r), p: p}, nil
	}
	inc(m.cfg.Metrics.Misses, 1)
	return m.openCold(ctx, r, up, p)
}

// cached reports whether the blob store holds p for mirrored repository
// r: linked to it (a mirror's links are made only after a verified fill
// from its upstream), or fetched from the same upstream for another of its
// mirrors, which vouches that it has those bytes (then linked now).
// Content that only local repositories uploaded is never served this way:
// an upstream naming a SHA-256 must not unlock someone's private file.
func (m *Mirror) cached(ctx context.Context, r *meta.Repo, mr *meta.MirrorRepo, p gitobj.Pointer) (bool, error) {
	if size, err := m.meta.LFSObject(ctx, r.ID, p.OID); err == nil && size == p.Size {
		m.touch(ctx, mr.Upstream, p)
		inc(m.cfg.Metrics.Hits, 1)
		return true, nil
	} else if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return false, err
	}
	size, err := m.meta.UseMirrorObject(ctx, mr.Upstream, p.OID, m.cfg.Now())
	if errors.Is(err, meta.ErrNotFound) || err == nil && size != p.Size {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := m.blobs.Stat(ctx, p.OID); errors.Is(err, blob.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := m.meta.AddLFSObject(ctx, r.ID, p.OID, p.Size); err != nil {
		return false, err
	}
	inc(m.cfg.Metrics.Hits, 1)
	return true, nil
}

// touch records a use of cached content for LRU eviction, at most once a
// minute per object and process.
func (m *Mirror) touch(ctx context.Context, upstream string, p gitobj.Pointer) {
	key := upstream + "/" + p.OID
	now := m.cfg.Now()
	m.mu.Lock()
	last, ok := m.touched[key]
	if ok && now.Sub(last) < time.Minute {
		m.mu.Unlock()
		return
	}
	if len(m.touched) > 100_000 {
		m.touched = map[string]time.Time{}
	}
	m.touched[key] = now
	m.mu.Unlock()
	if err := m.meta.TouchMirrorObject(ctx, upstream, p.OID, p.Size, now); err != nil {
		m.lg.WarnContext(ctx, "mirror: cannot record a use", "oid", p.OID, "err", err)
	}
}

// lfsFile is LFS content of a mirrored repository that is not cached
// yet, as an io.ReadSeeker for http.ServeContent. Reads from the start
// (or near a running fill) follow the fill; reads far ahead go to the
// upstream with a Range. It keeps the request's context: io.Reader has
// no other way to learn that the client left.
type lfsFile struct {
	m    *Mirror
	ctx  context.Context
	up   *upstream
	ref  hub.RepoRef
	p    gitobj.Pointer
	fill *fill // nil for random access

	off    int64
	src    io.ReadCloser // a ranged upstream read in progress
	srcOff int64
	wins   []window // random-access cache
	closed bool
}

// window is a range of the content read from the upstream.
type window struct {
	off  int64
	data []byte
}

func (f *lfsFile) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = f.off + offset
	case io.SeekEnd:
		abs = f.p.Size + offset
	default:
		return 0, errors.New("mirror: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("mirror: negative position")
	}
	f.off = abs
	return abs, nil
}

func (f *lfsFile) Read(p []byte) (int, error) {
	if f.closed {
		return 0, errors.New("mirror: read of a closed file")
	}
	if f.off >= f.p.Size {
		return 0, io.EOF
	}
	if f.src == nil && f.fill != nil {
		written, _, _, _ := f.fill.state()
		if f.off <= written+nearFill(f.p.Size) {
			n, err := f.fill.readAt(f.ctx, p, f.off)
			f.off += int64(n)
			return n, err
		}
	}
	if f.src != nil && f.srcOff != f.off {
		f.src.Close()
		f.src = nil
	}
	if f.src == nil {
		src, err := f.up.getContent(f.ctx, f.ref, f.p.OID, f.p.Size, f.off, 0)
		if err != nil {
			return 0, err
		}
		f.src, f.srcOff = src, f.off
	}
	n, err := f.src.Read(p)
	f.off += int64(n)
	f.srcOff += int64(n)
	f.m.cfg.Metrics.upstreamBytes(int64(n))
	if err == io.EOF && f.off < f.p.Size {
		err = f.up.errorf(hub.ErrUpstreamInvalid, "ended a ranged read of %s early", f.p.OID)
	}
	return n, err
}

// ReadAt reads without moving the position; it never starts a fill
// (headers of weight files are read this way).
func (f *lfsFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.p.Size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.p.Size-off)
	if f.fill != nil {
		if written, _, _, _ := f.fill.state(); off+want <= written {
			return f.fill.spool.ReadAt(p[:want], off)
		}
	}
	for _, w := range f.wins {
		if off >= w.off && off+want <= w.off+int64(len(w.data)) {
			n := copy(p[:want], w.data[off-w.off:])
			return f.short(n, len(p))
		}
	}
	// Headers are read in small pieces: fetch a window around them.
	end := min(f.p.Size, off+max(want, 1<<20))
	src, err := f.up.getContent(f.ctx, f.ref, f.p.OID, f.p.Size, off, end)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	data := make([]byte, end-off)
	n, err := io.ReadFull(src, data)
	f.m.cfg.Metrics.upstreamBytes(int64(n))
	if err != nil {
		return 0, f.up.errorf(hub.ErrUpstreamInvalid, "ended a ranged read of %s early", f.p.OID)
	}
	if len(f.wins) >= 4 {
		f.wins = f.wins[1:]
	}
	f.wins = append(f.wins, window{off: off, data: data})
	return f.short(copy(p[:want], data), len(p))
}

func (f *lfsFile) short(n, asked int) (int, error) {
	if n < asked {
		return n, io.EOF
	}
	return n, nil
}

func (f *lfsFile) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if f.src != nil {
		f.src.Close()
	}
	if f.fill != nil {
		f.fill.release()
	}
	return nil
}

// String names the file in errors.
func (f *lfsFile) String() string { return fmt.Sprintf("mirrored %s of %s", f.p.OID, f.ref.FullName()) }
