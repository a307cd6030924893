package cas

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/xettest"
)

// reconstruct downloads bytes [start, end) (end -1: to the end) of file
// h as a client does: plan, fetch each range through the file's stored
// xorb bytes, decode, drop offset_into_first_range.
func reconstruct(t *testing.T, e *env, tok *Token, h xet.Hash, br *ByteRange) []byte {
	t.Helper()
	p, err := e.s.Reconstruction(t.Context(), tok, h.String(), br)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	skip := p.OffsetIntoFirstRange
	for _, term := range p.Terms {
		var f *xet.Fetch
		for i, c := range p.Fetches[term.Hash] {
			if c.Chunks.Start <= term.Range.Start && term.Range.End <= c.Chunks.End {
				f = &p.Fetches[term.Hash][i]
			}
		}
		if f == nil {
			t.Fatalf("term %+v in no fetch", term)
		}
		x, _, err := e.s.xorbs.Open(t.Context(), term.Hash.String())
		if err != nil {
			t.Fatal(err)
		}
		cr := xet.NewChunkReader(io.NewSectionReader(x, f.From, f.To-f.From))
		var got []byte
		for i := f.Chunks.Start; i < f.Chunks.End; i++ {
			raw, err := cr.Next()
			if err != nil {
				t.Fatal(err)
			}
			if i >= term.Range.Start && i < term.Range.End {
				got = append(got, raw...)
			}
		}
		x.Close()
		if len(got) != int(term.UnpackedLength) {
			t.Fatalf("term decodes to %d bytes, unpacked_length %d", len(got), term.UnpackedLength)
		}
		n := min(uint64(len(got)), skip)
		out.Write(got[n:])
		skip -= n
	}
	b := out.Bytes()
	if br != nil && br.End >= 0 && br.Start >= 0 {
		if want := br.End - br.Start; int64(len(b)) > want {
			b = b[:want]
		}
	}
	return b
}

func TestUploadAndReconstruct(t *testing.T) {
	e := newEnv(t)
	c := xettest.NewClient(xet.SchemeLZ4)
	c.MaxChunks = 7 // several xorbs, several terms
	data := append(xettest.Compressible(1, 1<<20), xettest.RandomData(2, 700_000)...)
	u := c.Upload(t, data)
	if len(u.Xorbs) < 3 {
		t.Fatalf("fixture has %d xorbs, want several", len(u.Xorbs))
	}
	for h, b := range u.Xorbs {
		added, err := e.s.UploadXorb(t.Context(), e.write, h.String(), int64(len(b)), bytes.NewReader(b))
		if err != nil || !added {
			t.Fatalf("UploadXorb = %v, %v", added, err)
		}
		added, err = e.s.UploadXorb(t.Context(), e.write, h.String(), -1, bytes.NewReader(b))
		if err != nil || added {
			t.Fatalf("UploadXorb again = %v, %v; want false, nil", added, err)
		}
		if ok, _ := e.s.XorbExists(t.Context(), h.String()); !ok {
			t.Fatal("XorbExists = false after upload")
		}
	}
	var calls []int
	res, err := e.s.UploadShard(t.Context(), e.write, bytes.NewReader(u.Shard(t)), func(v, total int) { calls = append(calls, v, total) })
	if err != nil || res != xet.ShardResultRegistered {
		t.Fatalf("UploadShard = %d, %v", res, err)
	}
	if d := cmp.Diff([]int{1, 1}, calls); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
	if res, err := e.s.UploadShard(t.Context(), e.write, bytes.NewReader(u.Shard(t)), nil); err != nil || res != xet.ShardResultExists {
		t.Fatalf("UploadShard again = %d, %v; want exists", res, err)
	}
	sum := sha256.Sum256(data)
	oid := hex.EncodeToString(sum[:])
	if size, err := e.m.LFSObject(t.Context(), e.repo.ID, oid); err != nil || size != int64(len(data)) {
		t.Fatalf("repository link: %d, %v", size, err)
	}
	n := int64(len(data))
	tests := []struct {
		name string
		br   *ByteRange
		want []byte
	}{
		{"whole", nil, data},
		{"first byte", &ByteRange{0, 1}, data[:1]},
		{"middle across terms", &ByteRange{300_000, 1_500_000}, data[300_000:1_500_000]},
		{"open end", &ByteRange{n - 5000, -1}, data[n-5000:]},
		{"suffix", &ByteRange{-70_000, -1}, data[n-70_000:]},
		{"end clamped", &ByteRange{n - 10, n + 1000}, data[n-10:]},
		{"last byte", &ByteRange{n - 1, n}, data[n-1:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, tok := range []*Token{e.read, e.write} {
				if got := reconstruct(t, e, tok, u.File.Hash, tc.br); !bytes.Equal(got, tc.want) {
					t.Fatalf("got %d bytes, want %d (equal prefix %v)", len(got), len(tc.want), bytes.HasPrefix(tc.want, got[:min(len(got), 10)]))
				}
			}
		})
	}
	t.Run("past the end is 416", func(t *testing.T) {
		for _, br := range []*ByteRange{{n, n + 10}, {n + 1000, -1}} {
			_, err := e.s.Reconstruction(t.Context(), e.read, u.File.Hash.String(), br)
			if !errors.Is(err, ErrRange) {
				t.Errorf("range %+v: %v, want ErrRange", br, err)
			}
		}
	})
	t.Run("other repositories do not see it", func(t *testing.T) {
		_, err := e.s.Reconstruction(t.Context(), e.otherW, u.File.Hash.String(), nil)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%v, want ErrNotFound", err)
		}
	})
}

func TestEmptyFile(t *testing.T) {
	e := newEnv(t)
	u := xettest.NewClient(xet.SchemeNone).Upload(t, nil)
	if !u.File.Hash.IsZero() || len(u.File.Terms) != 0 {
		t.Fatalf("empty file: %+v", u.File)
	}
	e.send(t, e.write, u)
	for _, br := range []*ByteRange{nil, {0, 1}, {0, -1}, {-10, -1}} {
		p, err := e.s.Reconstruction(t.Context(), e.read, u.File.Hash.String(), br)
		if err != nil || len(p.Terms) != 0 {
			t.Fatalf("range %+v: %+v, %v; want no terms", br, p, err)
		}
	}
	if _, err := e.s.Reconstruction(t.Context(), e.read, u.File.Hash.String(), &ByteRange{1, 2}); !errors.Is(err, ErrRange) {
		t.Fatalf("range 1-2 of the empty file: %v, want ErrRange", err)
	}
}

// TestClientShards registers what hf_xet 1.8.0 uploaded (package xet's
// fixtures: five files, one run per compression policy), with the SHA-256
// it claims for each file, and reads the first file back.
func TestClientShards(t *testing.T) {
	var text bytes.Buffer
	for i := range 220 {
		fmt.Fprintf(&text, "line %05d: the quick brown fox jumps over the lazy dog\n", i)
	}
	want := text.Bytes()[:12000]
	dirs, _ := filepath.Glob("../testdata/hf_xet-1.8.0/*")
	if len(dirs) != 3 {
		t.Fatalf("fixtures: %v", dirs)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := newEnv(t)
			xorbs, _ := filepath.Glob(filepath.Join(dir, "*.xorb"))
			for _, p := range xorbs {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.s.UploadXorb(t.Context(), e.write, strings.TrimSuffix(filepath.Base(p), ".xorb"), int64(len(b)), bytes.NewReader(b)); err != nil {
					t.Fatal(err)
				}
			}
			sb, err := os.ReadFile(filepath.Join(dir, "upload.shard"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.UploadShard(t.Context(), e.write, bytes.NewReader(sb), nil); err != nil {
				t.Fatal(err)
			}
			sh, err := xet.ReadShard(bytes.NewReader(sb), int64(len(sb)))
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, f := range sh.Files {
				if f.Size() != uint64(len(want)) {
					continue
				}
				found = true
				if got := reconstruct(t, e, e.read, f.Hash, nil); !bytes.Equal(got, want) {
					t.Fatal("the text file reads back differently")
				}
				ov := e.s.Overlay(e.blobs)
				sum := sha256.Sum256(want)
				fo, info, err := ov.Open(t.Context(), hex.EncodeToString(sum[:]))
				if err != nil || info.Size != int64(len(want)) {
					t.Fatalf("overlay Open: %+v, %v", info, err)
				}
				got, _ := io.ReadAll(fo)
				fo.Close()
				if !bytes.Equal(got, want) {
					t.Fatal("overlay reads the text file differently")
				}
			}
			if !found {
				t.Fatal("no 12000-byte file in the shard")
			}
		})
	}
}

// TestDedupAcrossUploads: a second version of a file sends only its new
// chunks, a copy in another repository sends nothing, and the dedup query
// answers with the file's xorbs, chunk hashes keyed.
func TestDedupAcrossUploads(t *testing.T) {
	e := newEnv(t)
	c := xettest.NewClient(xet.SchemeLZ4)
	v1 := xettest.RandomData(10, 3<<20)
	u1 := c.Upload(t, v1)
	e.send(t, e.write, u1)

	v2 := bytes.Clone(v1)
	copy(v2[1<<20:], xettest.RandomData(11, 64<<10))
	u2 := c.Upload(t, v2)
	var sent int
	for _, b := range u2.Xorbs {
		sent += len(b)
	}
	if sent > len(v2)/10 {
		t.Errorf("second version sent %d bytes of %d, want < 10%%", sent, len(v2))
	}
	e.send(t, e.write, u2)
	if got := reconstruct(t, e, e.read, u2.File.Hash, nil); !bytes.Equal(got, v2) {
		t.Fatal("second version reads back differently")
	}

	// Another user's client knows nothing: it asks the dedup index for
	// the first chunk and learns every chunk of the file.
	first := u1.File.Terms[0]
	firstChunk := c.Indexes[first.Xorb].Chunks[first.ChunkStart].Hash
	b, err := e.s.DedupShard(t.Context(), e.otherW, firstChunk.String())
	if err != nil {
		t.Fatal(err)
	}
	sh, err := xet.ReadShard(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if sh.Footer == nil || sh.Footer.ChunkHashKey.IsZero() || sh.Footer.KeyExpiry <= uint64(time.Now().Unix()) || len(sh.Files) != 0 {
		t.Fatalf("dedup answer: footer %+v, %d files", sh.Footer, len(sh.Files))
	}
	keyed := map[xet.Hash]bool{}
	for _, x := range sh.Xorbs {
		for _, ch := range x.Chunks {
			keyed[ch.Hash] = true
		}
	}
	other := xettest.NewClient(xet.SchemeLZ4)
	for _, x := range sh.Xorbs {
		idx := c.Indexes[x.Hash]
		if idx == nil {
			t.Fatalf("answer names unknown xorb %v", x.Hash)
		}
		for i, ch := range idx.Chunks {
			if keyed[ch.Hash] {
				t.Fatal("chunk hash sent in clear")
			}
			if !keyed[xet.HMAC(sh.Footer.ChunkHashKey, ch.Hash)] {
				t.Fatal("chunk missing from the answer")
			}
			other.Known[ch.Hash] = xettest.Loc{Xorb: x.Hash, Index: i}
		}
		other.Indexes[x.Hash] = idx
	}
	u3 := other.Upload(t, v1)
	if len(u3.Xorbs) != 0 {
		t.Fatalf("the copy sends %d xorbs, want none", len(u3.Xorbs))
	}
	e.send(t, e.otherW, u3)
	if got := reconstruct(t, e, e.otherW, u3.File.Hash, nil); !bytes.Equal(got, v1) {
		t.Fatal("the copy reads back differently")
	}
	if _, err := e.s.DedupShard(t.Context(), e.read, xet.ChunkHash([]byte("never uploaded")).String()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown chunk: %v, want ErrNotFound", err)
	}
}

// TestFile reads a reconstructed file like http.ServeContent and the
// header parsers do: seeks, ranges, ReadAt at random places.
func TestFile(t *testing.T) {
	e := newEnv(t)
	c := xettest.NewClient(xet.SchemeBG4LZ4)
	c.MaxChunks = 5
	data := append(xettest.RandomData(3, 900_000), xettest.Compressible(4, 900_000)...)
	u := c.Upload(t, data)
	e.send(t, e.write, u)
	f, err := e.s.OpenFile(t.Context(), e.read, u.File.Hash.String())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != int64(len(data)) {
		t.Fatalf("Size = %d", f.Size())
	}
	all, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("ReadAll: %d bytes, %v", len(all), err)
	}
	for _, off := range []int64{0, 1, 65535, 65536, 100_000, 899_999, 900_000, int64(len(data)) - 1} {
		buf := make([]byte, 70_000)
		n, err := f.ReadAt(buf, off)
		want := data[off:min(off+70_000, int64(len(data)))]
		if n != len(want) || !bytes.Equal(buf[:n], want) || (n < len(buf)) != errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(%d) = %d, %v", off, n, err)
		}
	}
	if _, err := f.Seek(-1000, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(f)
	if !bytes.Equal(tail, data[len(data)-1000:]) {
		t.Fatal("Seek end and read differs")
	}
}

func TestOverlay(t *testing.T) {
	e := newEnv(t)
	ov := e.s.Overlay(e.blobs)
	ctx := t.Context()
	data := xettest.RandomData(20, 500_000)
	u := xettest.NewClient(xet.SchemeLZ4).Upload(t, data)
	sum := sha256.Sum256(data)
	oid := hex.EncodeToString(sum[:])
	if _, err := ov.Stat(ctx, oid); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("before upload: %v", err)
	}
	e.send(t, e.write, u)
	info, err := ov.Stat(ctx, oid)
	if err != nil || info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	if u, err := blob.RedirectURL(ctx, ov, oid, time.Minute, "x"); err != nil || u != "" {
		t.Fatalf("a Xet file has no redirect URL: %q, %v", u, err)
	}
	// An LFS object is untouched, and listed with the Xet files.
	lfs, lfsOID := []byte("plain lfs"), ""
	s := sha256.Sum256(lfs)
	lfsOID = hex.EncodeToString(s[:])
	w, _ := ov.Create(ctx, lfsOID, int64(len(lfs)))
	w.Write(lfs)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for info, err := range ov.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, info.OID)
	}
	slices.Sort(listed)
	want := []string{oid, lfsOID}
	slices.Sort(want)
	if d := cmp.Diff(want, listed); d != "" {
		t.Fatalf("List (-want +got):\n%s", d)
	}
	if err := ov.Delete(ctx, oid); err != nil {
		t.Fatal(err)
	}
	if _, err := ov.Stat(ctx, oid); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if err := ov.Delete(ctx, oid); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestCollectXorbs(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := xettest.NewClient(xet.SchemeNone)
	keep := c.Upload(t, xettest.RandomData(30, 200_000))
	e.send(t, e.write, keep)
	drop := c.Upload(t, xettest.RandomData(31, 200_000))
	e.send(t, e.write, drop)
	// Forget the second file, as the hub's collection would once nothing
	// references its SHA-256.
	if _, err := e.m.DeleteXetFiles(ctx, hex.EncodeToString(drop.File.SHA256[:])); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CollectXorbs(ctx, time.Hour, false); err == nil {
		t.Fatal("a grace shorter than the dedup answers' life was accepted")
	}
	// Recent: nothing goes.
	st, err := e.s.CollectXorbs(ctx, DefaultXorbGrace, false)
	if err != nil || st.Deleted != 0 {
		t.Fatalf("recent xorbs: %+v, %v", st, err)
	}
	// Pretend the grace passed: age every xorb.
	var all []string
	for h := range keep.Xorbs {
		all = append(all, h.String())
	}
	for h := range drop.Xorbs {
		all = append(all, h.String())
	}
	if err := e.m.TouchXetXorbs(ctx, all, time.Now().Add(-2*DefaultXorbGrace)); err != nil {
		t.Fatal(err)
	}
	dry, err := e.s.CollectXorbs(ctx, DefaultXorbGrace, true)
	if err != nil || dry.Deleted != len(all) {
		t.Fatalf("dry run: %+v, %v (candidates are all old xorbs)", dry, err)
	}
	st, err = e.s.CollectXorbs(ctx, DefaultXorbGrace, false)
	if err != nil || st.Deleted != len(drop.Xorbs) {
		t.Fatalf("collection: %+v, %v; want %d deleted", st, err, len(drop.Xorbs))
	}
	for h := range drop.Xorbs {
		if _, err := e.s.xorbs.Stat(ctx, h.String()); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("xorb %v of the forgotten file still stored: %v", h, err)
		}
	}
	if got := reconstruct(t, e, e.read, keep.File.Hash, nil); !bytes.Equal(got, keep.Data) {
		t.Fatal("the kept file no longer reads")
	}
	// An orphan object (stored, never recorded) goes once old.
	orphan := xet.ChunkHash([]byte("orphan")).String()
	w, _ := e.s.xorbs.Create(ctx, orphan, 3)
	w.Write([]byte("abc"))
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * DefaultXorbGrace)
	agePath(t, e, orphan, old)
	st, err = e.s.CollectXorbs(ctx, DefaultXorbGrace, false)
	if err != nil || st.Orphans != 1 {
		t.Fatalf("orphans: %+v, %v", st, err)
	}
}

// agePath sets the modification time of a stored xorb object.
func agePath(t *testing.T, e *env, key string, at time.Time) {
	t.Helper()
	p := filepath.Join(e.dir, "blobs", XorbSpace, key[0:2], key[2:4], key)
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	raw, exp := e.s.IssueToken(e.repo.ID, 9, true)
	if !strings.HasPrefix(raw, TokenPrefix) || time.Until(exp) > e.s.cfg.TokenTTL || time.Until(exp) < e.s.cfg.TokenTTL-2*time.Second {
		t.Fatalf("token %q expires %v", raw, exp)
	}
	tok, err := e.s.ParseToken(raw)
	if err != nil || tok.RepoID != e.repo.ID || tok.UserID != 9 || !tok.Write {
		t.Fatalf("ParseToken = %+v, %v", tok, err)
	}
	p, sig, _ := strings.Cut(strings.TrimPrefix(raw, TokenPrefix), ".")
	expired := *e.s
	expired.cfg.TokenTTL = -time.Minute
	old, _ := expired.IssueToken(e.repo.ID, 9, true)
	other := *e.s
	other.key = []byte("another key")
	forged, _ := other.IssueToken(e.repo.ID, 9, true)
	for name, bad := range map[string]string{
		"empty":     "",
		"hub token": "hf_abcdef",
		"no prefix": strings.TrimPrefix(raw, TokenPrefix),
		"altered":   TokenPrefix + p + "x." + sig,
		"expired":   old,
		"forged":    forged,
		"too long":  raw + strings.Repeat("a", 2000),
	} {
		if _, err := e.s.ParseToken(bad); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
	}
}

// TestMetaIsOneRead checks that a reconstruction reads the file's layout
// and nothing else of the metadata store.
func TestMetaIsOneRead(t *testing.T) {
	e := newEnv(t)
	c := xettest.NewClient(xet.SchemeLZ4)
	c.MaxChunks = 3
	u := c.Upload(t, xettest.RandomData(40, 1<<20))
	e.send(t, e.write, u)
	counting := &countingStore{Store: e.m.(Store)}
	e.s.meta = counting
	if _, err := e.s.Reconstruction(t.Context(), e.read, u.File.Hash.String(), &ByteRange{1000, 900_000}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"XetFileInRepo"}, counting.calls); d != "" {
		t.Fatalf("metadata calls (-want +got):\n%s", d)
	}
}

type countingStore struct {
	Store
	calls []string
}

func (c *countingStore) XetFileInRepo(ctx context.Context, repoID int64, hash string) (*meta.XetFile, error) {
	c.calls = append(c.calls, "XetFileInRepo")
	return c.Store.XetFileInRepo(ctx, repoID, hash)
}

func (c *countingStore) XetXorbs(ctx context.Context, hashes []string) (map[string]*meta.XetXorb, error) {
	c.calls = append(c.calls, "XetXorbs")
	return c.Store.XetXorbs(ctx, hashes)
}

func (c *countingStore) XetFile(ctx context.Context, hash string) (*meta.XetFile, error) {
	c.calls = append(c.calls, "XetFile")
	return c.Store.XetFile(ctx, hash)
}

// TestWriteRange checks the fast path of plain downloads against the
// content, for chunks stored uncompressed (sent with ReadFrom) and
// compressed (decoded), at every kind of boundary.
func TestWriteRange(t *testing.T) {
	e := newEnv(t)
	c := xettest.NewClient(xet.SchemeLZ4)
	c.MaxChunks = 6
	data := append(xettest.RandomData(50, 700_000), xettest.Compressible(51, 700_000)...)
	data = append(data, xettest.RandomData(52, 300_000)...)
	u := c.Upload(t, data)
	e.send(t, e.write, u)
	f, err := e.s.OpenFile(t.Context(), e.read, u.File.Hash.String())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := int64(len(data))
	for _, r := range [][2]int64{{0, n}, {0, 1}, {1, 65536}, {65535, 2}, {100_000, 1_000_000}, {699_999, 2}, {n - 1, 1}, {n, 0}, {123_456, 1_400_000}} {
		for _, w := range []struct {
			name string
			fn   func() (io.Writer, func() []byte)
		}{
			{"ReaderFrom", func() (io.Writer, func() []byte) { var b bytes.Buffer; return &b, b.Bytes }},
			{"plain", func() (io.Writer, func() []byte) {
				var b bytes.Buffer
				return struct{ io.Writer }{&b}, b.Bytes
			}},
		} {
			dst, got := w.fn()
			m, err := f.WriteRange(dst, r[0], r[1])
			if err != nil || m != r[1] || !bytes.Equal(got(), data[r[0]:r[0]+r[1]]) {
				t.Fatalf("%s WriteRange(%d, %d) = %d, %v; content equal %v", w.name, r[0], r[1], m, err, bytes.Equal(got(), data[r[0]:r[0]+r[1]]))
			}
		}
		// Reads still work after the fast path moved the files' offsets.
		buf := make([]byte, 1000)
		if _, err := f.ReadAt(buf, 5000); err != nil || !bytes.Equal(buf, data[5000:6000]) {
			t.Fatalf("ReadAt after WriteRange: %v", err)
		}
	}
	if _, err := f.WriteRange(io.Discard, n-1, 2); err == nil {
		t.Fatal("a range past the end was written")
	}
}
