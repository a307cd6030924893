package cas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/xet"
)

// UploadXorb receives xorb name (its hash, in the Xet hex form) from a
// write token's holder. The body streams into the blob store's xorb key
// space while every chunk is decompressed and hashed; the object is
// published, and its index recorded, only if the content hashes to name.
// contentLength is the request's declared length (-1 if unknown). It
// reports whether the xorb is new; uploading a stored xorb again
// succeeds, as clients expect.
func (s *Service) UploadXorb(ctx context.Context, tok *Token, name string, contentLength int64, body io.Reader) (bool, error) {
	if !tok.Write {
		return false, errorf(ErrForbidden, "This token is read-only: ask the hub for a write token")
	}
	h, err := xet.ParseHash(name)
	if err != nil {
		return false, errorf(ErrInvalid, "Invalid xorb hash %q", name)
	}
	if contentLength > s.cfg.MaxXorbSize {
		return false, errorf(ErrTooLarge, "Xorb of %d bytes: this hub accepts at most %d", contentLength, s.cfg.MaxXorbSize)
	}
	key := h.String()
	w, err := s.xorbs.Create(ctx, key, contentLength)
	if err != nil {
		return false, fmt.Errorf("store xorb %s: %w", key, err)
	}
	published := false
	defer func() {
		if !published {
			w.Abort()
		}
	}()
	// One pass: what VerifyXorb reads goes to the store as it is read.
	tee := &teeReader{r: body, w: w}
	idx, err := xet.VerifyXorb(tee, h, s.cfg.MaxXorbSize)
	if err == nil {
		// Old clients append a footer, which VerifyXorb stops at: keep
		// it, so the stored object is what was sent (offsets unchanged).
		_, err = io.Copy(io.Discard, io.LimitReader(tee, s.cfg.MaxXorbSize-tee.n+1))
		if err == nil && tee.n > s.cfg.MaxXorbSize {
			err = errorf(ErrTooLarge, "Xorb larger than %d bytes", s.cfg.MaxXorbSize)
		}
	}
	if err != nil {
		return false, s.xorbError(err, key, tee.werr)
	}
	ib, err := idx.MarshalBinary()
	if err != nil {
		return false, errorf(ErrInvalid, "Xorb %s cannot be indexed: %v", key, err)
	}
	// The record comes before the object is published: a collector that
	// deleted an old copy's record meanwhile cannot then delete the copy
	// this upload finds already stored (see gc.go).
	added, err := s.meta.PutXetXorb(ctx, &meta.XetXorb{Hash: key, Size: tee.n, RawSize: idx.RawSize(), Chunks: len(idx.Chunks), Index: ib})
	if err != nil {
		return false, fmt.Errorf("record xorb %s: %w", key, err)
	}
	if _, err := w.Commit(ctx); err != nil {
		if added {
			// No record without its object.
			if _, derr := s.meta.DeleteXetXorb(context.WithoutCancel(ctx), key, farFuture()); derr != nil {
				s.lg.ErrorContext(ctx, "xorb recorded but not stored", "xorb", key, "err", derr)
			}
		}
		if errors.Is(err, blob.ErrSizeMismatch) {
			return false, errorf(ErrInvalid, "Xorb body is not the declared %d bytes", contentLength)
		}
		return false, fmt.Errorf("publish xorb %s: %w", key, err)
	}
	published = true
	if added {
		s.lg.InfoContext(ctx, "xorb stored", "xorb", key, "bytes", tee.n, "chunks", len(idx.Chunks), "repo_id", tok.RepoID)
	}
	return added, nil
}

// xorbError sorts a failed xorb upload into the client's fault or ours.
func (s *Service) xorbError(err error, key string, storeErr error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case storeErr != nil:
		if errors.Is(storeErr, blob.ErrSizeMismatch) {
			return &Error{Kind: ErrInvalid, Msg: "Xorb body is longer than its declared length", Err: storeErr}
		}
		return fmt.Errorf("store xorb %s: %w", key, storeErr)
	case errors.Is(err, xet.ErrTooLarge):
		return &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("Xorb %s is too large: %v", key, err), Err: err}
	case errors.Is(err, xet.ErrHashMismatch):
		return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("Xorb content does not hash to %s: nothing was stored", key), Err: err}
	case errors.Is(err, xet.ErrInvalid):
		return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("Malformed xorb %s: %v", key, err), Err: err}
	}
	return fmt.Errorf("receive xorb %s: %w", key, err)
}

// XorbExists reports whether a xorb is stored (the HEAD route of hf_xet
// 1.1.x and older).
func (s *Service) XorbExists(ctx context.Context, name string) (bool, error) {
	h, err := xet.ParseHash(name)
	if err != nil {
		return false, errorf(ErrInvalid, "Invalid xorb hash %q", name)
	}
	got, err := s.meta.XetXorbs(ctx, []string{h.String()})
	if err != nil {
		return false, err
	}
	return got[h.String()] != nil, nil
}

// teeReader writes what it reads to w; a write error stops the reading and
// is kept apart, so a store failure is not taken for the client's.
type teeReader struct {
	r    io.Reader
	w    io.Writer
	n    int64
	werr error
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.werr = werr
			return 0, werr
		}
		t.n += int64(n)
	}
	return n, err
}

// farFuture is a cutoff that every use time precedes.
func farFuture() time.Time { return time.Now().Add(100 * 365 * 24 * time.Hour) }
