package fsblob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path"

	"github.com/agorahub/agora/internal/blob"
)

var _ blob.Keyspaces = (*Store)(nil)

// space is a key space: objects under <name>/ with the fan-out of
// objects/, written through the same tmp/ directory (so Sweep cleans up
// after them too) and the same atomic rename.
type space struct {
	s    *Store
	name string
}

var _ blob.Keyspace = (*space)(nil)

// Keyspace implements blob.Keyspaces.
func (s *Store) Keyspace(name string) (blob.Keyspace, error) {
	if err := blob.CheckKeyspace(name); err != nil {
		return nil, err
	}
	if err := s.root.MkdirAll(name, 0o755); err != nil {
		return nil, fmt.Errorf("key space %s: %w", name, err)
	}
	return &space{s: s, name: name}, nil
}

func (sp *space) path(key string) string { return path.Join(sp.name, key[0:2], key[2:4], key) }

func (sp *space) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.CheckOID(key); err != nil {
		return blob.Info{}, err
	}
	fi, err := sp.s.root.Stat(sp.path(key))
	if err != nil {
		return blob.Info{}, notFound(err, key)
	}
	return blob.Info{OID: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (sp *space) Open(ctx context.Context, key string) (blob.File, blob.Info, error) {
	if err := blob.CheckOID(key); err != nil {
		return nil, blob.Info{}, err
	}
	f, err := sp.s.root.Open(sp.path(key))
	if err != nil {
		return nil, blob.Info{}, notFound(err, key)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blob.Info{}, notFound(err, key)
	}
	return f, blob.Info{OID: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (sp *space) Create(ctx context.Context, key string, size int64) (blob.Writer, error) {
	if err := blob.CheckOID(key); err != nil {
		return nil, err
	}
	tmp := path.Join("tmp", randomName())
	f, err := sp.s.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s/%s: %w", sp.name, key, err)
	}
	return &writer{s: sp.s, f: f, tmp: tmp, oid: key, final: sp.path(key), v: blob.NewSizeVerifier(size)}, nil
}

func (sp *space) Delete(ctx context.Context, key string) error {
	if err := blob.CheckOID(key); err != nil {
		return err
	}
	if err := sp.s.root.Remove(sp.path(key)); err != nil {
		return notFound(err, key)
	}
	return nil
}

func (sp *space) List(ctx context.Context) iter.Seq2[blob.Info, error] {
	return func(yield func(blob.Info, error) bool) {
		err := fs.WalkDir(sp.s.root.FS(), sp.name, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == sp.name {
					return fs.SkipAll
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() || blob.CheckOID(d.Name()) != nil {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if !yield(blob.Info{OID: d.Name(), Size: fi.Size(), ModTime: fi.ModTime()}, nil) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			yield(blob.Info{}, fmt.Errorf("list %s: %w", sp.name, err))
		}
	}
}
