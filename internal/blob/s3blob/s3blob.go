// Package s3blob is the blob store on an S3-compatible object store (AWS
// S3, Ceph RGW, SeaweedFS, MinIO…), for scale-out deployments where every
// replica shares one bucket.
//
// Layout under the optional key prefix:
//
//	objects/ab/cd/abcd…ef   published objects, named by SHA-256
//	uploads/<random>        multipart uploads of the HF transfer, assembled
//	                        and verified before being copied into objects/
//	<key space>/ab/cd/…     objects of a key space (xorbs/: Xet xorbs),
//	                        named by their caller (keyspace.go)
//
// Nothing becomes visible before it is verified: a whole-object write
// streams into an S3 multipart upload of the final key while hashing, and
// completes that upload only when the SHA-256 and size match (an
// incomplete multipart upload is invisible and is aborted on mismatch); a
// small object is buffered and written with one PutObject after the check.
// HF multipart transfers are assembled under uploads/, read back through
// a hash, and copied into place only if they match.
package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/agorahub/agora/internal/blob"
)

// Options configure the store.
type Options struct {
	Bucket    string
	Prefix    string // key prefix, without leading or trailing slash
	Endpoint  string // e.g. http://127.0.0.1:8333; empty for AWS
	Region    string
	PathStyle bool // bucket in the path rather than the host name
	AccessKey string
	SecretKey string
	// PartSize is the size of the parts of streamed writes (at least
	// 5 MiB, S3's minimum); 0 means 16 MiB.
	PartSize int64
	// HTTPClient, if set, replaces the SDK's.
	HTTPClient *http.Client
}

// ParseURL reads s3://BUCKET[/prefix]?endpoint=…&region=…&path_style=true.
// Credentials are not part of the URL.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Options{}, fmt.Errorf("blob store URL %q must look like s3://bucket[/prefix]?endpoint=http://host:port&region=…", raw)
	}
	q := u.Query()
	o := Options{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	switch strings.ToLower(q.Get("path_style")) {
	case "", "auto":
		// Non-AWS servers almost never route virtual-host names.
		o.PathStyle = o.Endpoint != ""
	case "1", "true", "yes":
		o.PathStyle = true
	case "0", "false", "no":
	default:
		return Options{}, fmt.Errorf("blob store URL %q: path_style must be true or false", raw)
	}
	for k := range q {
		switch k {
		case "endpoint", "region", "path_style":
		default:
			return Options{}, fmt.Errorf("blob store URL %q: unknown parameter %q", raw, k)
		}
	}
	return o, nil
}

// Store is an S3 blob store.
type Store struct {
	c       *s3.Client
	presign *s3.PresignClient
	o       Options
}

var (
	_ blob.Store      = (*Store)(nil)
	_ blob.Redirector = (*Store)(nil)
)

// unsigned sends bodies with UNSIGNED-PAYLOAD so that they can stream
// from a non-seekable reader over plain HTTP; integrity is checked by our
// own SHA-256 of the content.
var unsigned = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

// Open connects to the store and creates the bucket if it is missing.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if o.PartSize == 0 {
		o.PartSize = 16 << 20
	}
	if o.PartSize < 5<<20 {
		return nil, errors.New("s3: part size must be at least 5 MiB")
	}
	cfg := aws.Config{
		Region:      o.Region,
		Credentials: credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, ""),
		// Checksums only where S3 requires them: several S3-compatible
		// servers reject the newer default trailing checksums.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.HTTPClient != nil {
		cfg.HTTPClient = o.HTTPClient
	}
	c := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
	})
	s := &Store{c: c, presign: s3.NewPresignClient(c), o: o}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &o.Bucket}); err != nil {
		if !isNotFound(err) {
			return nil, fmt.Errorf("s3: bucket %s: %w", o.Bucket, err)
		}
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &o.Bucket}); err != nil && !isCode(err, "BucketAlreadyOwnedByYou") {
			return nil, fmt.Errorf("s3: create bucket %s: %w", o.Bucket, err)
		}
	}
	return s, nil
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return slices.Contains(codes, ae.ErrorCode())
	}
	return false
}

func isNotFound(err error) bool {
	var nf *types.NotFound
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	return errors.As(err, &nf) || errors.As(err, &nsk) || errors.As(err, &nsb) ||
		isCode(err, "NotFound", "NoSuchKey", "NoSuchBucket", "404")
}

func (s *Store) key(parts ...string) string {
	k := path.Join(parts...)
	if s.o.Prefix != "" {
		k = s.o.Prefix + "/" + k
	}
	return k
}

func (s *Store) objectKey(oid string) string {
	return s.key("objects", oid[0:2], oid[2:4], oid)
}

// Ping implements blob.Store.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.o.Bucket}); err != nil {
		return fmt.Errorf("s3: bucket %s: %w", s.o.Bucket, err)
	}
	return nil
}

// Stat implements blob.Statter.
func (s *Store) Stat(ctx context.Context, oid string) (blob.Info, error) {
	if err := blob.CheckOID(oid); err != nil {
		return blob.Info{}, err
	}
	return s.head(ctx, s.objectKey(oid), oid)
}

// head stats the object at key, named oid in errors and in the Info.
func (s *Store) head(ctx context.Context, key, oid string) (blob.Info, error) {
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.o.Bucket, Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return blob.Info{}, fmt.Errorf("blob %s: %w", oid, blob.ErrNotFound)
		}
		return blob.Info{}, fmt.Errorf("s3: head %s: %w", oid, err)
	}
	return blob.Info{OID: oid, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Open implements blob.Opener: the file reads lazily with ranged GETs.
func (s *Store) Open(ctx context.Context, oid string) (blob.File, blob.Info, error) {
	info, err := s.Stat(ctx, oid)
	if err != nil {
		return nil, blob.Info{}, err
	}
	f := &file{s: s, key: s.objectKey(oid), size: info.Size}
	f.stop = context.AfterFunc(ctx, f.interrupt)
	return f, info, nil
}

// file reads an object: Read/Seek stream one ranged GET from the current
// offset (what http.ServeContent needs), ReadAt makes a GET per call
// (what header parsers need).
type file struct {
	s    *Store
	key  string
	size int64
	pos  int64
	body io.ReadCloser

	// rawRange (stream.go) reads its own connection without a context:
	// the end of the request that opened the file closes it.
	stop        func() bool
	mu          sync.Mutex
	conn        net.Conn
	interrupted bool
}

func (f *file) get(off, n int64) (io.ReadCloser, error) {
	rng := fmt.Sprintf("bytes=%d-", off)
	if n >= 0 {
		rng = fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	}
	// Reads outlive the request that opened the file only through
	// Close; a background context keeps a slow client's stream alive.
	out, err := f.s.c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &f.s.o.Bucket, Key: &f.key, Range: &rng})
	if err != nil {
		return nil, fmt.Errorf("s3: get %s: %w", f.key, err)
	}
	return out.Body, nil
}

func (f *file) Read(p []byte) (int, error) {
	if f.pos >= f.size {
		return 0, io.EOF
	}
	if f.body == nil {
		b, err := f.get(f.pos, -1)
		if err != nil {
			return 0, err
		}
		f.body = b
	}
	n, err := f.body.Read(p)
	f.pos += int64(n)
	if err == io.EOF && f.pos < f.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (f *file) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = f.pos + off
	case io.SeekEnd:
		abs = f.size + off
	default:
		return 0, errors.New("s3: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("s3: negative position")
	}
	if abs != f.pos && f.body != nil {
		f.body.Close()
		f.body = nil
	}
	f.pos = abs
	return abs, nil
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), f.size-off)
	b, err := f.get(off, n)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	got, err := io.ReadFull(b, p[:n])
	if err == nil && n < int64(len(p)) {
		err = io.EOF
	}
	return got, err
}

func (f *file) Close() error {
	if f.stop != nil {
		f.stop()
	}
	if f.body != nil {
		return f.body.Close()
	}
	return nil
}

// RedirectURL implements blob.Redirector with a presigned GET.
func (s *Store) RedirectURL(ctx context.Context, oid string, ttl time.Duration, filename string) (string, error) {
	if err := blob.CheckOID(oid); err != nil {
		return "", err
	}
	in := &s3.GetObjectInput{Bucket: &s.o.Bucket, Key: aws.String(s.objectKey(oid))}
	if filename != "" {
		in.ResponseContentDisposition = aws.String(fmt.Sprintf(`inline; filename*=UTF-8''%s`, url.PathEscape(filename)))
	}
	req, err := s.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3: presign %s: %w", oid, err)
	}
	return req.URL, nil
}

// Create implements blob.Creator.
func (s *Store) Create(ctx context.Context, oid string, size int64) (blob.Writer, error) {
	if err := blob.CheckOID(oid); err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", blob.ErrInvalid)
	}
	partSize := s.o.PartSize
	// S3 allows 10,000 parts: grow the part size for huge objects.
	if min := (size + 9_999) / 10_000; partSize < min {
		partSize = (min + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return &writer{s: s, ctx: ctx, oid: oid, size: size, key: s.objectKey(oid), partSize: partSize, v: blob.NewVerifier(oid, size)}, nil
}

// writer streams an object into a multipart upload of its final key,
// completed only after verification; objects that fit in one part are
// buffered and put in one request.
type writer struct {
	s        *Store
	ctx      context.Context
	oid, key string
	size     int64
	partSize int64
	v        *blob.Verifier

	buf      []byte
	uploadID string
	parts    []types.CompletedPart
	inflight sync.WaitGroup
	mu       sync.Mutex
	err      error
	sem      chan struct{}
	done     bool
}

const uploadConcurrency = 4

func (w *writer) Write(p []byte) (int, error) {
	if _, err := w.v.Write(p); err != nil {
		return 0, err
	}
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		// A full buffer is sent only when more bytes follow, so that the
		// last part (and a whole small object) stays for Commit.
		if int64(len(w.buf)) == w.partSize {
			if err := w.flushPart(); err != nil {
				return 0, err
			}
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, w.partSize)
		}
		take := min(int64(len(p)), w.partSize-int64(len(w.buf)))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
	}
	return n, nil
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// flushPart uploads the buffered part in the background.
func (w *writer) flushPart() error {
	if w.uploadID == "" {
		out, err := w.s.c.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: &w.s.o.Bucket, Key: &w.key})
		if err != nil {
			return fmt.Errorf("s3: start upload of %s: %w", w.oid, noSpace(err))
		}
		w.uploadID = aws.ToString(out.UploadId)
		w.sem = make(chan struct{}, uploadConcurrency)
	}
	data := w.buf
	w.buf = nil
	n := int32(len(w.parts) + 1)
	w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(n)})
	w.sem <- struct{}{}
	w.inflight.Go(func() {
		defer func() { <-w.sem }()
		out, err := w.s.c.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: &w.s.o.Bucket, Key: &w.key, UploadId: &w.uploadID,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("s3: upload part %d of %s: %w", n, w.oid, noSpace(err))
			}
			return
		}
		w.parts[n-1].ETag = out.ETag
	})
	return nil
}

func (w *writer) ReadFrom(r io.Reader) (int64, error) { return blob.CopyBuffered(w, r) }

func (w *writer) Commit(ctx context.Context) (blob.Info, error) {
	if w.done {
		return blob.Info{}, errors.New("blob writer already finished")
	}
	if err := w.v.Check(); err != nil {
		w.Abort()
		return blob.Info{}, err
	}
	w.done = true
	info := blob.Info{OID: w.oid, Size: w.v.Written()}
	if _, err := w.s.head(ctx, w.key, w.oid); err == nil {
		w.abortUpload()
		return info, nil // content-addressed: already there
	}
	if w.uploadID == "" {
		_, err := w.s.c.PutObject(ctx, &s3.PutObjectInput{Bucket: &w.s.o.Bucket, Key: &w.key,
			Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf)))}, unsigned)
		if err != nil {
			return blob.Info{}, fmt.Errorf("s3: put %s: %w", w.oid, noSpace(err))
		}
		return info, nil
	}
	if len(w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			w.abortUpload()
			return blob.Info{}, err
		}
	}
	w.inflight.Wait()
	if err := w.failed(); err != nil {
		w.abortUpload()
		return blob.Info{}, err
	}
	_, err := w.s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &w.s.o.Bucket, Key: &w.key,
		UploadId: &w.uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		w.abortUpload()
		return blob.Info{}, fmt.Errorf("s3: complete %s: %w", w.oid, noSpace(err))
	}
	return info, nil
}

func (w *writer) abortUpload() {
	w.inflight.Wait()
	if w.uploadID != "" {
		w.s.c.AbortMultipartUpload(context.WithoutCancel(w.ctx), &s3.AbortMultipartUploadInput{Bucket: &w.s.o.Bucket, Key: &w.key, UploadId: &w.uploadID})
		w.uploadID = ""
	}
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.abortUpload()
	w.buf = nil
	return nil
}

// Multipart uploads (the HF transfer): the upload id names a temporary
// key and S3's own upload id, joined by a slash.

func randomName() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Store) splitUpload(id string) (key, uploadID string, err error) {
	name, up, ok := strings.Cut(id, "/")
	if !ok || len(name) != 32 || strings.Trim(name, "0123456789abcdef") != "" || up == "" || len(up) > 1024 {
		return "", "", fmt.Errorf("%w: upload id", blob.ErrInvalid)
	}
	return s.key("uploads", name), up, nil
}

// StartMultipart implements blob.Multipart.
func (s *Store) StartMultipart(ctx context.Context, oid string, size int64) (string, error) {
	if err := blob.CheckOID(oid); err != nil {
		return "", err
	}
	name := randomName()
	out, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.o.Bucket, Key: aws.String(s.key("uploads", name))})
	if err != nil {
		return "", fmt.Errorf("s3: start upload of %s: %w", oid, noSpace(err))
	}
	return name + "/" + aws.ToString(out.UploadId), nil
}

// UploadPart implements blob.Multipart.
func (s *Store) UploadPart(ctx context.Context, uploadID string, n int, r io.Reader, size int64) (string, error) {
	key, up, err := s.splitUpload(uploadID)
	if err != nil {
		return "", err
	}
	if n < 1 || n > 10_000 || size < 0 {
		return "", fmt.Errorf("%w: part %d", blob.ErrInvalid, n)
	}
	cr := &countingReader{r: io.LimitReader(r, size)}
	out, err := s.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.o.Bucket, Key: &key, UploadId: &up, PartNumber: aws.Int32(int32(n)),
		Body: cr, ContentLength: aws.Int64(size)}, unsigned)
	if err != nil {
		if isCode(err, "NoSuchUpload") {
			return "", fmt.Errorf("upload %s: %w", uploadID, blob.ErrNotFound)
		}
		if cr.n != size {
			return "", fmt.Errorf("%w: part %d has %d bytes, declared %d", blob.ErrSizeMismatch, n, cr.n, size)
		}
		return "", fmt.Errorf("s3: upload part %d: %w", n, noSpace(err))
	}
	return strings.Trim(aws.ToString(out.ETag), `"`), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// PresignPart returns a URL a client may PUT part n to directly.
func (s *Store) PresignPart(ctx context.Context, uploadID string, n int, ttl time.Duration) (string, error) {
	key, up, err := s.splitUpload(uploadID)
	if err != nil {
		return "", err
	}
	req, err := s.presign.PresignUploadPart(ctx, &s3.UploadPartInput{Bucket: &s.o.Bucket, Key: &key, UploadId: &up, PartNumber: aws.Int32(int32(n))},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("s3: presign part %d: %w", n, err)
	}
	return req.URL, nil
}

// CompleteMultipart implements blob.Multipart: the parts are assembled
// under uploads/, read back through a SHA-256 and copied into place only
// if they match; the temporary object is always removed.
func (s *Store) CompleteMultipart(ctx context.Context, uploadID, oid string, size int64, parts []blob.Part) (blob.Info, error) {
	key, up, err := s.splitUpload(uploadID)
	if err != nil {
		return blob.Info{}, err
	}
	if err := blob.CheckOID(oid); err != nil {
		return blob.Info{}, err
	}
	parts = slices.Clone(parts)
	slices.SortFunc(parts, func(a, b blob.Part) int { return a.Number - b.Number })
	done := make([]types.CompletedPart, 0, len(parts))
	for i, p := range parts {
		if p.Number != i+1 {
			s.AbortMultipart(ctx, uploadID)
			return blob.Info{}, fmt.Errorf("%w: parts must be numbered 1..%d", blob.ErrInvalid, len(parts))
		}
		etag := `"` + strings.Trim(p.ETag, `"`) + `"`
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(p.Number)), ETag: &etag})
	}
	_, err = s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.o.Bucket, Key: &key, UploadId: &up,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		s.AbortMultipart(ctx, uploadID)
		if isCode(err, "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "NoSuchUpload") {
			return blob.Info{}, fmt.Errorf("%w: %v", blob.ErrInvalid, err)
		}
		return blob.Info{}, fmt.Errorf("s3: complete upload: %w", noSpace(err))
	}
	defer s.c.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: &s.o.Bucket, Key: &key})
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.o.Bucket, Key: &key})
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3: read back upload: %w", err)
	}
	v := blob.NewVerifier(oid, size)
	_, err = io.Copy(v, out.Body)
	out.Body.Close()
	if err == nil {
		err = v.Check()
	}
	if err != nil {
		return blob.Info{}, err
	}
	if _, err := s.Stat(ctx, oid); err == nil {
		return blob.Info{OID: oid, Size: size}, nil
	}
	if err := s.copy(ctx, key, s.objectKey(oid), size); err != nil {
		return blob.Info{}, err
	}
	return blob.Info{OID: oid, Size: size}, nil
}

// maxCopy is the largest object CopyObject handles in one request.
const maxCopy = 5 << 30

// copy copies an object server-side, in parts above 5 GiB.
func (s *Store) copy(ctx context.Context, from, to string, size int64) error {
	src := s.o.Bucket + "/" + from
	if size <= maxCopy {
		if _, err := s.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &s.o.Bucket, Key: &to, CopySource: aws.String(url.PathEscape(src))}); err != nil {
			return fmt.Errorf("s3: copy into place: %w", noSpace(err))
		}
		return nil
	}
	out, err := s.c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.o.Bucket, Key: &to})
	if err != nil {
		return fmt.Errorf("s3: copy into place: %w", err)
	}
	up := out.UploadId
	const chunk = 1 << 30
	var parts []types.CompletedPart
	for off, n := int64(0), int32(1); off < size; off, n = off+chunk, n+1 {
		rng := fmt.Sprintf("bytes=%d-%d", off, min(off+chunk, size)-1)
		pc, err := s.c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: &s.o.Bucket, Key: &to, UploadId: up, PartNumber: aws.Int32(n),
			CopySource: aws.String(url.PathEscape(src)), CopySourceRange: &rng})
		if err != nil {
			s.c.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &s.o.Bucket, Key: &to, UploadId: up})
			return fmt.Errorf("s3: copy part %d: %w", n, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: pc.CopyPartResult.ETag})
	}
	if _, err := s.c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.o.Bucket, Key: &to, UploadId: up,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return fmt.Errorf("s3: copy into place: %w", err)
	}
	return nil
}

// AbortMultipart implements blob.Multipart.
func (s *Store) AbortMultipart(ctx context.Context, uploadID string) error {
	key, up, err := s.splitUpload(uploadID)
	if err != nil {
		return err
	}
	_, err = s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.o.Bucket, Key: &key, UploadId: &up})
	if err != nil && !isCode(err, "NoSuchUpload") {
		return fmt.Errorf("s3: abort upload: %w", err)
	}
	return nil
}

// Delete implements blob.Deleter.
func (s *Store) Delete(ctx context.Context, oid string) error {
	if _, err := s.Stat(ctx, oid); err != nil {
		return err
	}
	if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.o.Bucket, Key: aws.String(s.objectKey(oid))}); err != nil {
		return fmt.Errorf("s3: delete %s: %w", oid, err)
	}
	return nil
}

// List implements blob.Lister.
func (s *Store) List(ctx context.Context) iter.Seq2[blob.Info, error] {
	return func(yield func(blob.Info, error) bool) {
		p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.o.Bucket, Prefix: aws.String(s.key("objects") + "/")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(blob.Info{}, fmt.Errorf("s3: list: %w", err))
				return
			}
			for _, o := range page.Contents {
				oid := path.Base(aws.ToString(o.Key))
				if blob.CheckOID(oid) != nil {
					continue
				}
				if !yield(blob.Info{OID: oid, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}, nil) {
					return
				}
			}
		}
	}
}

// Sweep aborts multipart uploads and removes temporary objects started
// before the cutoff (clients that never finished).
func (s *Store) Sweep(ctx context.Context, before time.Time) error {
	p := s3.NewListMultipartUploadsPaginator(s.c, &s3.ListMultipartUploadsInput{Bucket: &s.o.Bucket, Prefix: aws.String(s.key("") + "")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3: list uploads: %w", err)
		}
		for _, u := range page.Uploads {
			if u.Initiated != nil && u.Initiated.Before(before) {
				s.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.o.Bucket, Key: u.Key, UploadId: u.UploadId})
			}
		}
	}
	lp := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.o.Bucket, Prefix: aws.String(s.key("uploads") + "/")})
	for lp.HasMorePages() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3: list temporary objects: %w", err)
		}
		for _, o := range page.Contents {
			if o.LastModified != nil && o.LastModified.Before(before) {
				s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.o.Bucket, Key: o.Key})
			}
		}
	}
	return nil
}
