package cas

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
)

// Overlay returns a blob store that holds, besides inner's objects, every
// registered Xet file as the object named by its SHA-256: Stat and Open
// find it (Open reconstructs it, see File), List yields it, Delete
// forgets its registration. Writes go to inner. The hub runs on it, so
// that commits, plain downloads, metadata derivation, scanning, fsck and
// garbage collection treat a file uploaded through Xet like one uploaded
// through LFS, without knowing about Xet. Which repository may use an
// object is still the hub's LFS links.
//
// Where a SHA-256 is both an LFS object and a Xet file, the LFS object
// is read: it can be sent with sendfile or a redirect.
func (s *Service) Overlay(inner blob.Store) blob.Store {
	o := &overlay{Store: inner, s: s}
	if pp, ok := inner.(blob.PartPresigner); ok {
		return &presignOverlay{overlay: o, PartPresigner: pp}
	}
	return o
}

type overlay struct {
	blob.Store
	s *Service
}

// presignOverlay keeps inner's optional capability of presigning
// multipart parts visible to the hub's type assertion.
type presignOverlay struct {
	*overlay
	blob.PartPresigner
}

var (
	_ blob.Redirector    = (*overlay)(nil)
	_ blob.PartPresigner = (*presignOverlay)(nil)
)

// xetFile returns the most recent Xet file of content oid, or nil.
func (o *overlay) xetFile(ctx context.Context, oid string) (*meta.XetFile, error) {
	m, err := o.s.meta.XetFilesBySHA256(ctx, []string{oid})
	if err != nil {
		return nil, fmt.Errorf("xet file of %s: %w", oid, err)
	}
	return m[oid], nil
}

func (o *overlay) Stat(ctx context.Context, oid string) (blob.Info, error) {
	info, err := o.Store.Stat(ctx, oid)
	if !errors.Is(err, blob.ErrNotFound) {
		return info, err
	}
	f, xerr := o.xetFile(ctx, oid)
	if xerr != nil {
		return blob.Info{}, xerr
	}
	if f == nil {
		return blob.Info{}, err
	}
	return blob.Info{OID: oid, Size: f.Size, ModTime: f.RegisteredAt}, nil
}

func (o *overlay) Open(ctx context.Context, oid string) (blob.File, blob.Info, error) {
	file, info, err := o.Store.Open(ctx, oid)
	if !errors.Is(err, blob.ErrNotFound) {
		return file, info, err
	}
	f, xerr := o.xetFile(ctx, oid)
	if xerr != nil {
		return nil, blob.Info{}, xerr
	}
	if f == nil {
		return nil, blob.Info{}, err
	}
	full, err := o.s.meta.XetFile(ctx, f.Hash)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, blob.Info{}, fmt.Errorf("blob %s: %w", oid, blob.ErrNotFound) // forgotten meanwhile
	}
	if err != nil {
		return nil, blob.Info{}, err
	}
	l := &layout{}
	if err := l.UnmarshalBinary(full.Layout); err != nil {
		return nil, blob.Info{}, fmt.Errorf("xet file %s: %w", f.Hash, err)
	}
	return newFile(o.s.lg, o.s.xorbs, l), blob.Info{OID: oid, Size: l.size, ModTime: f.RegisteredAt}, nil
}

// RedirectURL implements blob.Redirector: a Xet file has no URL of its
// own (its bytes are spread over xorbs); an LFS object keeps inner's.
func (o *overlay) RedirectURL(ctx context.Context, oid string, ttl time.Duration, filename string) (string, error) {
	f, err := o.xetFile(ctx, oid)
	if err != nil {
		return "", err
	}
	if f != nil {
		if _, err := o.Store.Stat(ctx, oid); errors.Is(err, blob.ErrNotFound) {
			return "", nil
		} else if err != nil {
			return "", err
		}
	}
	return blob.RedirectURL(ctx, o.Store, oid, ttl, filename)
}

// Delete removes inner's object and forgets the Xet files of content oid
// (their xorbs go later, see CollectXorbs).
func (o *overlay) Delete(ctx context.Context, oid string) error {
	err := o.Store.Delete(ctx, oid)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		return err
	}
	n, xerr := o.s.meta.DeleteXetFiles(ctx, oid)
	if xerr != nil {
		return xerr
	}
	if n > 0 {
		o.s.lg.InfoContext(ctx, "xet file registrations removed", "oid", oid, "files", n)
		return nil
	}
	return err
}

// List yields inner's objects, then the Xet files (one entry per file: a
// content registered under two file hashes appears twice).
func (o *overlay) List(ctx context.Context) iter.Seq2[blob.Info, error] {
	return func(yield func(blob.Info, error) bool) {
		for info, err := range o.Store.List(ctx) {
			if !yield(info, err) || err != nil {
				return
			}
		}
		after := ""
		for {
			page, err := o.s.meta.XetFilesAfter(ctx, after, 500)
			if err != nil {
				yield(blob.Info{}, fmt.Errorf("list xet files: %w", err))
				return
			}
			if len(page) == 0 {
				return
			}
			for _, f := range page {
				if !yield(blob.Info{OID: f.SHA256, Size: f.Size, ModTime: f.RegisteredAt}, nil) {
					return
				}
			}
			after = page[len(page)-1].Hash
		}
	}
}

// FileHashes returns the Xet file hash of each of oids (LFS SHA-256s)
// that is stored as a Xet file: what the hub advertises as X-Xet-Hash and
// xetHash. Any file of that content will do, since every SHA-256 was
// computed from the content.
func (s *Service) FileHashes(ctx context.Context, oids []string) (map[string]string, error) {
	m, err := s.meta.XetFilesBySHA256(ctx, oids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for oid, f := range m {
		out[oid] = f.Hash
	}
	return out, nil
}
