package cas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/xet"
)

// ByteRange is a requested range of a file's bytes: [Start, End), End -1
// meaning to the end; a negative Start asks for the last -Start bytes.
type ByteRange struct {
	Start, End int64
}

// fileRange resolves br for a file of size bytes.
func (br *ByteRange) fileRange(size int64) *xet.FileRange {
	if br == nil {
		return nil
	}
	start, end := br.Start, br.End
	if start < 0 {
		start, end = max(0, size+start), size
		if size == 0 {
			end = 1 // the empty file's empty answer
		}
	}
	if end < 0 {
		end = math.MaxInt64
	}
	return &xet.FileRange{Start: uint64(start), End: uint64(end)}
}

// Reconstruction plans the reconstruction of bytes br (nil: all) of file
// name for a token's holder: a file the token's repository links, read
// with one indexed read of its layout. A range starting at or past the
// end is ErrRange (416), as clients expect, except at 0 of an empty file.
func (s *Service) Reconstruction(ctx context.Context, tok *Token, name string, br *ByteRange) (*xet.Plan, error) {
	h, err := xet.ParseHash(name)
	if err != nil {
		return nil, errorf(ErrInvalid, "Invalid file hash %q", name)
	}
	l, err := s.fileInRepo(ctx, tok.RepoID, h)
	if err != nil {
		return nil, err
	}
	p, err := l.plan(ctx, br.fileRange(l.size))
	if errors.Is(err, xet.ErrRangeNotSatisfiable) {
		return nil, &Error{Kind: ErrRange, Msg: fmt.Sprintf("Range starts at or past the end of the %d-byte file", l.size), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("plan reconstruction of %v: %w", h, err)
	}
	return p, nil
}

// fileInRepo returns the layout of file h if repository repoID may read
// it. A file it may not read is reported like a missing one.
func (s *Service) fileInRepo(ctx context.Context, repoID int64, h xet.Hash) (*layout, error) {
	f, err := s.meta.XetFileInRepo(ctx, repoID, h.String())
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errorf(ErrNotFound, "File %v not found", h)
	}
	if err != nil {
		return nil, err
	}
	l := &layout{}
	if err := l.UnmarshalBinary(f.Layout); err != nil {
		return nil, fmt.Errorf("file %v: %w", h, err)
	}
	return l, nil
}

// OpenFile opens file name, which the token's repository must link, for
// reading its content.
func (s *Service) OpenFile(ctx context.Context, tok *Token, name string) (*File, error) {
	h, err := xet.ParseHash(name)
	if err != nil {
		return nil, errorf(ErrInvalid, "Invalid file hash %q", name)
	}
	l, err := s.fileInRepo(ctx, tok.RepoID, h)
	if err != nil {
		return nil, err
	}
	return newFile(s.lg, s.xorbs, l), nil
}

// DataURL returns the URL from which a client downloads serialized bytes
// [from, to) of xorb h: a presigned, range-bound URL of the blob store
// when it can give one (and ProxyData is off), else one of the CAS's own
// data route under base (the CAS URL), signed for that range only. A
// xorb may hold chunks of other people's files, so no URL reaches more
// than its range.
func (s *Service) DataURL(ctx context.Context, base string, h xet.Hash, from, to int64) (string, error) {
	if rr, ok := s.xorbs.(blob.RangeRedirector); ok && !s.cfg.ProxyData {
		u, err := rr.RangeURL(ctx, h.String(), from, to, s.cfg.DataURLTTL)
		if err != nil {
			return "", err
		}
		if u != "" {
			return u, nil
		}
	}
	exp := time.Now().Add(s.cfg.DataURLTTL).Unix()
	q := url.Values{}
	q.Set("r", strconv.FormatInt(from, 10)+"-"+strconv.FormatInt(to, 10))
	q.Set("x", strconv.FormatInt(exp, 10))
	q.Set("s", s.dataSig(h.String(), from, to, exp))
	return base + "/v1/xorb-data/" + h.String() + "?" + q.Encode(), nil
}

// DataGrant is what a data URL of the CAS's own route allows: bytes
// [From, To) of a xorb.
type DataGrant struct {
	Xorb     string
	From, To int64
}

// ParseDataURL checks the query of a data URL for xorb name. Forged,
// altered and expired URLs are ErrForbidden: clients then ask for a new
// reconstruction.
func (s *Service) ParseDataURL(name string, q url.Values) (*DataGrant, error) {
	bad := errorf(ErrForbidden, "Invalid or expired xorb URL: ask for a new reconstruction")
	h, err := xet.ParseHash(name)
	if err != nil {
		return nil, bad
	}
	a, b, ok := strings.Cut(q.Get("r"), "-")
	from, err1 := strconv.ParseInt(a, 10, 64)
	to, err2 := strconv.ParseInt(b, 10, 64)
	exp, err3 := strconv.ParseInt(q.Get("x"), 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil || from < 0 || to <= from ||
		!s.checkDataSig(h.String(), from, to, exp, q.Get("s")) {
		return nil, bad
	}
	return &DataGrant{Xorb: h.String(), From: from, To: to}, nil
}

// OpenData opens the xorb of a data grant; the caller serves the granted
// bytes (and no others) and closes the file.
func (s *Service) OpenData(ctx context.Context, g *DataGrant) (blob.File, blob.Info, error) {
	f, info, err := s.xorbs.Open(ctx, g.Xorb)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, blob.Info{}, errorf(ErrNotFound, "Xorb %s not found", g.Xorb)
	}
	if err != nil {
		return nil, blob.Info{}, err
	}
	if g.To > info.Size {
		f.Close()
		return nil, blob.Info{}, errorf(ErrRange, "Xorb %s has %d bytes", g.Xorb, info.Size)
	}
	return f, info, nil
}
