package s3blob

import (
	"context"
	"fmt"
	"iter"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/agorahub/agora/internal/blob"
)

var _ blob.Keyspaces = (*Store)(nil)

// space is a key space: objects under <prefix>/<name>/ab/cd/<key>,
// written like objects/ (streamed into a multipart upload of the final
// key, completed only when the caller commits).
type space struct {
	s    *Store
	name string
}

var (
	_ blob.Keyspace        = (*space)(nil)
	_ blob.RangeRedirector = (*space)(nil)
)

// Keyspace implements blob.Keyspaces.
func (s *Store) Keyspace(name string) (blob.Keyspace, error) {
	if err := blob.CheckKeyspace(name); err != nil {
		return nil, err
	}
	return &space{s: s, name: name}, nil
}

func (sp *space) key(k string) string { return sp.s.key(sp.name, k[0:2], k[2:4], k) }

func (sp *space) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.CheckOID(key); err != nil {
		return blob.Info{}, err
	}
	return sp.s.head(ctx, sp.key(key), key)
}

func (sp *space) Open(ctx context.Context, key string) (blob.File, blob.Info, error) {
	info, err := sp.Stat(ctx, key)
	if err != nil {
		return nil, blob.Info{}, err
	}
	return &file{s: sp.s, key: sp.key(key), size: info.Size}, info, nil
}

func (sp *space) Create(ctx context.Context, key string, size int64) (blob.Writer, error) {
	if err := blob.CheckOID(key); err != nil {
		return nil, err
	}
	partSize := sp.s.o.PartSize
	if min := (size + 9_999) / 10_000; partSize < min {
		partSize = (min + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return &writer{s: sp.s, ctx: ctx, oid: key, size: size, key: sp.key(key), partSize: partSize, v: blob.NewSizeVerifier(size)}, nil
}

func (sp *space) Delete(ctx context.Context, key string) error {
	if _, err := sp.Stat(ctx, key); err != nil {
		return err
	}
	if _, err := sp.s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &sp.s.o.Bucket, Key: aws.String(sp.key(key))}); err != nil {
		return fmt.Errorf("s3: delete %s/%s: %w", sp.name, key, err)
	}
	return nil
}

func (sp *space) List(ctx context.Context) iter.Seq2[blob.Info, error] {
	return func(yield func(blob.Info, error) bool) {
		p := s3.NewListObjectsV2Paginator(sp.s.c, &s3.ListObjectsV2Input{Bucket: &sp.s.o.Bucket, Prefix: aws.String(sp.s.key(sp.name) + "/")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(blob.Info{}, fmt.Errorf("s3: list %s: %w", sp.name, err))
				return
			}
			for _, o := range page.Contents {
				k := path.Base(aws.ToString(o.Key))
				if blob.CheckOID(k) != nil {
					continue
				}
				if !yield(blob.Info{OID: k, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}, nil) {
					return
				}
			}
		}
	}
}

// RangeURL implements blob.RangeRedirector: a presigned GET whose Range
// header is among the signed headers, so that the URL serves those bytes
// and nothing else of the object (which may hold other people's chunks).
func (sp *space) RangeURL(ctx context.Context, key string, from, to int64, ttl time.Duration) (string, error) {
	if err := blob.CheckOID(key); err != nil {
		return "", err
	}
	if from < 0 || to <= from {
		return "", fmt.Errorf("%w: range [%d, %d)", blob.ErrInvalid, from, to)
	}
	rng := fmt.Sprintf("bytes=%d-%d", from, to-1)
	req, err := sp.s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &sp.s.o.Bucket, Key: aws.String(sp.key(key)), Range: &rng},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3: presign %s/%s: %w", sp.name, key, err)
	}
	if _, signed := req.SignedHeader["Range"]; !signed {
		// Without the range among the signed headers the URL would
		// serve the whole object: better no URL.
		return "", nil
	}
	return req.URL, nil
}
