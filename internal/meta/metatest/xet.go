package metatest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agorahub/agora/internal/meta"
)

// xh returns a distinct 64-hex Xet hash for n (a test value).
func xh(kind byte, n int) string {
	return fmt.Sprintf("%c%063x", kind, n)
}

func testXet(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "xet", "model", false)
	other := mkRepo(t, s, meta.TypeModel, "xet", "other", true)
	x1, x2, x3 := xh('a', 1), xh('a', 2), xh('a', 3)
	put := func(h string) bool {
		t.Helper()
		added, err := s.PutXetXorb(ctx, &meta.XetXorb{Hash: h, Size: 100, RawSize: 200, Chunks: 3, Index: []byte("idx-" + h)})
		must(t, err)
		return added
	}

	t.Run("Xorbs", func(t *testing.T) {
		if !put(x1) || !put(x2) {
			t.Fatal("first PutXetXorb reports an existing xorb")
		}
		got, err := s.XetXorbs(ctx, []string{x1, x3})
		must(t, err)
		if len(got) != 1 || got[x1] == nil {
			t.Fatalf("XetXorbs = %v, want only %s", got, x1)
		}
		first := *got[x1]
		want := meta.XetXorb{Hash: x1, Size: 100, RawSize: 200, Chunks: 3, Index: []byte("idx-" + x1)}
		if d := cmp.Diff(want, first, cmpopts.IgnoreFields(meta.XetXorb{}, "CreatedAt", "UsedAt")); d != "" {
			t.Fatalf("XetXorbs (-want +got):\n%s", d)
		}
		time.Sleep(3 * time.Millisecond)
		if put(x1) {
			t.Fatal("second PutXetXorb reports a new xorb")
		}
		got, err = s.XetXorbs(ctx, []string{x1})
		must(t, err)
		if !got[x1].UsedAt.After(first.UsedAt) || !got[x1].CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("second put: used %v (was %v), created %v (was %v)", got[x1].UsedAt, first.UsedAt, got[x1].CreatedAt, first.CreatedAt)
		}
		later := time.Now().Add(time.Minute)
		must(t, s.TouchXetXorbs(ctx, []string{x1, x3}, later))
		got, err = s.XetXorbs(ctx, []string{x1, x3})
		must(t, err)
		if len(got) != 1 || !got[x1].UsedAt.Equal(later.Truncate(time.Millisecond)) {
			t.Fatalf("after TouchXetXorbs: %+v (want only %s, used at %v)", got, x1, later)
		}
	})

	sha := strings.Repeat("5", 64)
	f1 := meta.XetFile{Hash: xh('f', 1), SHA256: sha, Size: 400, Layout: []byte("layout-1"), Xorbs: []string{x1, x2}, RepoID: r.ID, UserID: 7}
	t.Run("RegisterNeedsEveryXorb", func(t *testing.T) {
		bad := meta.XetFile{Hash: xh('f', 9), SHA256: strings.Repeat("9", 64), Size: 1, Layout: []byte("l"), Xorbs: []string{x1, x3}}
		_, err := s.RegisterXetFiles(ctx, []meta.XetFile{f1, bad}, []meta.XetDedup{{Chunk: xh('c', 9), Xorb: x1}}, time.Now())
		wantErr(t, err, meta.ErrNotFound)
		for _, h := range []string{f1.Hash, bad.Hash} {
			if _, err := s.XetFile(ctx, h); !errors.Is(err, meta.ErrNotFound) {
				t.Fatalf("after a failed registration XetFile(%s) = %v, want ErrNotFound", h, err)
			}
		}
		if _, err := s.XetDedup(ctx, xh('c', 9)); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("after a failed registration the dedup entry exists: %v", err)
		}
	})

	t.Run("RegisterAndRead", func(t *testing.T) {
		before := time.Now().Add(-time.Second)
		n, err := s.RegisterXetFiles(ctx, []meta.XetFile{f1, f1}, []meta.XetDedup{{Chunk: xh('c', 1), Xorb: x1, File: f1.Hash}, {Chunk: xh('c', 2), Xorb: x2}}, time.Now())
		must(t, err)
		if n != 1 {
			t.Fatalf("RegisterXetFiles added %d, want 1 (the same file twice)", n)
		}
		got, err := s.XetFile(ctx, f1.Hash)
		must(t, err)
		if d := cmp.Diff(f1, *got, cmpopts.IgnoreFields(meta.XetFile{}, "CreatedAt", "RegisteredAt")); d != "" {
			t.Fatalf("XetFile (-want +got):\n%s", d)
		}
		if got.CreatedAt.Before(before.Truncate(time.Millisecond)) || got.RegisteredAt.IsZero() {
			t.Fatalf("times %v %v", got.CreatedAt, got.RegisteredAt)
		}
		x, err := s.XetXorbs(ctx, []string{x1})
		must(t, err)
		if x[x1].UsedAt.Before(before) {
			t.Fatal("registration did not refresh the xorbs' use time")
		}
		d, err := s.XetDedup(ctx, xh('c', 1))
		must(t, err)
		if d.Xorb != x1 || d.File != f1.Hash {
			t.Fatalf("XetDedup = %+v", d)
		}
		// Registering again refreshes, adds nothing.
		time.Sleep(3 * time.Millisecond)
		n, err = s.RegisterXetFiles(ctx, []meta.XetFile{f1}, []meta.XetDedup{{Chunk: xh('c', 1), Xorb: x2}}, time.Now())
		must(t, err)
		again, err := s.XetFile(ctx, f1.Hash)
		must(t, err)
		if n != 0 || !again.RegisteredAt.After(got.RegisteredAt) || !again.CreatedAt.Equal(got.CreatedAt) {
			t.Fatalf("second registration: added %d, registered %v (was %v)", n, again.RegisteredAt, got.RegisteredAt)
		}
		if d, _ := s.XetDedup(ctx, xh('c', 1)); d.Xorb != x2 || d.File != "" {
			t.Fatalf("the newest dedup entry should win: %+v", d)
		}
	})

	t.Run("InRepoFollowsLFSLinks", func(t *testing.T) {
		if _, err := s.XetFileInRepo(ctx, r.ID, f1.Hash); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("unlinked: %v, want ErrNotFound", err)
		}
		must(t, s.AddLFSObject(ctx, r.ID, sha, 400))
		got, err := s.XetFileInRepo(ctx, r.ID, f1.Hash)
		must(t, err)
		if string(got.Layout) != "layout-1" || got.Size != 400 {
			t.Fatalf("XetFileInRepo = %+v", got)
		}
		if _, err := s.XetFileInRepo(ctx, other.ID, f1.Hash); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("another repository reads the file: %v", err)
		}
		if _, err := s.XetFileInRepo(ctx, r.ID, xh('f', 404)); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("unknown file: %v", err)
		}
	})

	t.Run("BySHA256AndListing", func(t *testing.T) {
		f2 := meta.XetFile{Hash: xh('f', 2), SHA256: sha, Size: 400, Layout: []byte("layout-2"), Xorbs: []string{x2}}
		time.Sleep(3 * time.Millisecond)
		_, err := s.RegisterXetFiles(ctx, []meta.XetFile{f2}, nil, time.Now())
		must(t, err)
		got, err := s.XetFilesBySHA256(ctx, []string{sha, strings.Repeat("0", 64)})
		must(t, err)
		if len(got) != 1 || got[sha].Hash != f2.Hash || got[sha].Layout != nil {
			t.Fatalf("XetFilesBySHA256 = %+v, want the latest registration %s without layout", got, f2.Hash)
		}
		var all []string
		after := ""
		for {
			page, err := s.XetFilesAfter(ctx, after, 1)
			must(t, err)
			if len(page) == 0 {
				break
			}
			all = append(all, page[0].Hash)
			after = page[0].Hash
		}
		if d := cmp.Diff([]string{f1.Hash, f2.Hash}, all); d != "" {
			t.Fatalf("XetFilesAfter pages (-want +got):\n%s", d)
		}
	})

	t.Run("XorbCollection", func(t *testing.T) {
		var listed []string
		after := ""
		for {
			page, err := s.XetXorbsAfter(ctx, after, 1)
			must(t, err)
			if len(page) == 0 {
				break
			}
			if page[0].Index != nil {
				t.Fatal("XetXorbsAfter returns indexes")
			}
			listed = append(listed, page[0].Hash)
			after = page[0].Hash
		}
		if d := cmp.Diff([]string{x1, x2}, listed); d != "" {
			t.Fatalf("XetXorbsAfter pages (-want +got):\n%s", d)
		}
		future := time.Now().Add(time.Hour)
		// Named by a file: kept, whatever its age.
		gone, err := s.DeleteXetXorb(ctx, x1, future)
		must(t, err)
		if gone {
			t.Fatal("deleted a xorb a file names")
		}
		n, err := s.DeleteXetFiles(ctx, sha)
		must(t, err)
		if n != 2 {
			t.Fatalf("DeleteXetFiles = %d, want 2", n)
		}
		// Used recently: kept.
		gone, err = s.DeleteXetXorb(ctx, x1, time.Now().Add(-time.Hour))
		must(t, err)
		if gone {
			t.Fatal("deleted a xorb used after the cutoff")
		}
		gone, err = s.DeleteXetXorb(ctx, x2, future)
		must(t, err)
		if !gone {
			t.Fatal("kept an unreferenced, old xorb")
		}
		if got, _ := s.XetXorbs(ctx, []string{x2}); len(got) != 0 {
			t.Fatal("xorb record left behind")
		}
		if d, err := s.XetDedup(ctx, xh('c', 2)); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("dedup entry of a deleted xorb left behind: %+v %v", d, err)
		}
		// A registration naming the deleted xorb fails whole.
		_, err = s.RegisterXetFiles(ctx, []meta.XetFile{{Hash: xh('f', 3), SHA256: sha, Size: 1, Layout: []byte("l"), Xorbs: []string{x2}}}, nil, time.Now())
		wantErr(t, err, meta.ErrNotFound)
	})

	t.Run("RepoDeletionKeepsFiles", func(t *testing.T) {
		// Files are global: deleting the repository that registered one
		// removes its link, not the file (another repository may link it).
		f := meta.XetFile{Hash: xh('f', 5), SHA256: strings.Repeat("6", 64), Size: 1, Layout: []byte("l"), Xorbs: []string{x1}, RepoID: other.ID}
		_, err := s.RegisterXetFiles(ctx, []meta.XetFile{f}, nil, time.Now())
		must(t, err)
		must(t, s.AddLFSObject(ctx, other.ID, f.SHA256, 1))
		must(t, s.DeleteRepo(ctx, other.ID))
		if _, err := s.XetFile(ctx, f.Hash); err != nil {
			t.Fatalf("file gone with the repository: %v", err)
		}
		if _, err := s.XetFileInRepo(ctx, other.ID, f.Hash); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("deleted repository still reads the file: %v", err)
		}
	})
}

// testXetConcurrentCollection races registrations against the collector
// on one xorb: whatever the order, a registered file never names a xorb
// whose record is gone. What protects the xorb is the use time that the
// registration refreshes (PostgreSQL re-checks the delete's condition on
// the row the registration wrote, not the files it inserted).
func testXetConcurrentCollection(t *testing.T, s meta.Store) {
	ctx := t.Context()
	for round := 0; round < 20; round++ {
		x := xh('b', round)
		_, err := s.PutXetXorb(ctx, &meta.XetXorb{Hash: x, Size: 1, RawSize: 1, Chunks: 1, Index: []byte("i")})
		must(t, err)
		f := meta.XetFile{Hash: xh('e', round), SHA256: fmt.Sprintf("%064x", round), Size: 1, Layout: []byte("l"), Xorbs: []string{x}}
		// The collector's cutoff is older than any registration it races
		// with (it is the start of the collection minus a grace period).
		cutoff := time.Now()
		time.Sleep(2 * time.Millisecond)
		var wg sync.WaitGroup
		var regErr error
		var deleted bool
		wg.Go(func() { _, regErr = s.RegisterXetFiles(ctx, []meta.XetFile{f}, nil, time.Now()) })
		wg.Go(func() {
			var err error
			deleted, err = s.DeleteXetXorb(ctx, x, cutoff)
			must(t, err)
		})
		wg.Wait()
		_, fileErr := s.XetFile(ctx, f.Hash)
		xorbs, err := s.XetXorbs(ctx, []string{x})
		must(t, err)
		switch {
		case regErr == nil && (deleted || xorbs[x] == nil):
			t.Fatalf("round %d: file registered and its xorb deleted", round)
		case regErr != nil && !errors.Is(regErr, meta.ErrNotFound):
			t.Fatalf("round %d: RegisterXetFiles: %v", round, regErr)
		case regErr != nil && fileErr == nil:
			t.Fatalf("round %d: failed registration left the file", round)
		}
	}
}

// seedXetForCopy and verifyXetCopy extend SeedForCopy and VerifyCopy.
func seedXetForCopy(t *testing.T, s meta.Store, repoID int64) {
	ctx := t.Context()
	_, err := s.PutXetXorb(ctx, &meta.XetXorb{Hash: xh('a', 100), Size: 10, RawSize: 20, Chunks: 2, Index: []byte{0, 1, 2}})
	must(t, err)
	_, err = s.RegisterXetFiles(ctx, []meta.XetFile{{Hash: xh('f', 100), SHA256: strings.Repeat("d", 64), Size: 77,
		Layout: []byte{9, 8}, Xorbs: []string{xh('a', 100)}, RepoID: repoID, UserID: 1}},
		[]meta.XetDedup{{Chunk: xh('c', 100), Xorb: xh('a', 100), File: xh('f', 100)}}, time.Now())
	must(t, err)
}

func verifyXetCopy(t *testing.T, dst meta.Store, repoID int64) {
	ctx := t.Context()
	f, err := dst.XetFileInRepo(ctx, repoID, xh('f', 100))
	must(t, err)
	if f.Size != 77 || string(f.Layout) != "\x09\x08" {
		t.Fatalf("xet file after copy: %+v", f)
	}
	if x, _ := dst.XetXorbs(ctx, []string{xh('a', 100)}); x[xh('a', 100)] == nil || string(x[xh('a', 100)].Index) != "\x00\x01\x02" {
		t.Fatalf("xorb after copy: %+v", x)
	}
	if d, err := dst.XetDedup(ctx, xh('c', 100)); err != nil || d.File != xh('f', 100) {
		t.Fatalf("dedup entry after copy: %+v %v", d, err)
	}
	if full, _ := dst.XetFile(ctx, xh('f', 100)); full == nil || len(full.Xorbs) != 1 {
		t.Fatalf("file xorbs after copy: %+v", full)
	}
}
