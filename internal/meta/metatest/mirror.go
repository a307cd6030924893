package metatest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/meta"
)

func mkMirror(t *testing.T, s meta.Store, upstream, ns, name string) *meta.Repo {
	t.Helper()
	repoSeq++
	r := &meta.Repo{PublicID: fmt.Sprintf("%024x", repoSeq), Type: meta.TypeModel, Namespace: ns, Name: name}
	m := &meta.MirrorRepo{Upstream: upstream, SyncedAt: time.UnixMilli(1000)}
	must(t, s.CreateMirrorRepo(t.Context(), r, m))
	if r.ID == 0 || m.RepoID != r.ID {
		t.Fatalf("CreateMirrorRepo ids: repo %d mirror %d", r.ID, m.RepoID)
	}
	return r
}

func testMirrorRepos(t *testing.T, s meta.Store) {
	ctx := t.Context()
	t.Run("Upstreams", func(t *testing.T) {
		must(t, s.PutMirrorUpstream(ctx, &meta.MirrorUpstream{Name: "hf", URL: "https://a", Policy: "all", Token: []byte{1, 2}}))
		must(t, s.BackOffMirrorUpstream(ctx, "hf", time.UnixMilli(5000)))
		must(t, s.BackOffMirrorUpstream(ctx, "hf", time.UnixMilli(4000))) // never shortens
		// Reconfiguring keeps the back-off: it is the upstream's state,
		// not the operator's.
		must(t, s.PutMirrorUpstream(ctx, &meta.MirrorUpstream{Name: "hf", URL: "https://b", Policy: "deny:x/*"}))
		wantErr(t, s.BackOffMirrorUpstream(ctx, "nope", time.Now()), meta.ErrNotFound)
		ups, err := s.MirrorUpstreams(ctx)
		must(t, err)
		if len(ups) != 1 || ups[0].URL != "https://b" || ups[0].Policy != "deny:x/*" || ups[0].Token != nil ||
			!ups[0].BackoffUntil.Equal(time.UnixMilli(5000)) {
			t.Fatalf("upstreams = %+v", ups)
		}
	})
	t.Run("Repos", func(t *testing.T) {
		r := mkMirror(t, s, "hf", "org", "model")
		local := mkRepo(t, s, meta.TypeModel, "org", "local", false)
		// The name is taken for local and mirrored repositories alike.
		wantErr(t, s.CreateMirrorRepo(ctx, &meta.Repo{PublicID: "x", Type: meta.TypeModel, Namespace: "ORG", Name: "local"},
			&meta.MirrorRepo{Upstream: "hf"}), meta.ErrConflict)
		if _, err := s.RepoByName(ctx, meta.TypeModel, "org", "model"); err != nil {
			t.Fatal(err)
		}
		_, err := s.MirrorRepo(ctx, local.ID)
		wantErr(t, err, meta.ErrNotFound)
		m, err := s.MirrorRepo(ctx, r.ID)
		must(t, err)
		m.UpstreamPrivate, m.UpstreamGated, m.Pinned, m.SyncedAt = true, "manual", true, time.UnixMilli(7000)
		must(t, s.UpdateMirrorRepo(ctx, m))
		got, err := s.MirrorRepo(ctx, r.ID)
		must(t, err)
		if diff := cmp.Diff(m, got); diff != "" {
			t.Fatalf("after update (-want +got):\n%s", diff)
		}
		wantErr(t, s.UpdateMirrorRepo(ctx, &meta.MirrorRepo{RepoID: local.ID}), meta.ErrNotFound)
		mkMirror(t, s, "other", "org", "model2")
		ls, err := s.ListMirrorRepos(ctx, "hf")
		must(t, err)
		if len(ls) != 1 || ls[0].Repo.ID != r.ID || ls[0].Mirror.Upstream != "hf" || !ls[0].Mirror.Pinned {
			t.Fatalf("ListMirrorRepos(hf) = %+v", ls)
		}
		all, err := s.ListMirrorRepos(ctx, "")
		must(t, err)
		if len(all) != 2 {
			t.Fatalf("ListMirrorRepos() = %d rows", len(all))
		}
		must(t, s.UnmirrorRepo(ctx, r.ID))
		wantErr(t, s.UnmirrorRepo(ctx, r.ID), meta.ErrNotFound)
		if _, err := s.RepoByID(ctx, r.ID); err != nil {
			t.Fatalf("the repository went with its mirror record: %v", err)
		}
		// Deleting a mirrored repository deletes its record.
		r3 := mkMirror(t, s, "hf", "org", "model3")
		must(t, s.DeleteRepo(ctx, r3.ID))
		_, err = s.MirrorRepo(ctx, r3.ID)
		wantErr(t, err, meta.ErrNotFound)
	})
}

func testMirrorEviction(t *testing.T, s meta.Store) {
	ctx := t.Context()
	oid := func(c byte) string { return strings.Repeat(string(c), 64) }
	mirror := mkMirror(t, s, "hf", "m", "mirror")
	pinned := mkMirror(t, s, "hf", "m", "pinned")
	pm, err := s.MirrorRepo(ctx, pinned.ID)
	must(t, err)
	pm.Pinned = true
	must(t, s.UpdateMirrorRepo(ctx, pm))
	local := mkRepo(t, s, meta.TypeModel, "m", "local", false)
	for i, c := range []byte("abcd") {
		must(t, s.TouchMirrorObject(ctx, "hf", oid(c), int64(10*(i+1)), time.UnixMilli(int64(100*(i+1)))))
		must(t, s.AddLFSObject(ctx, mirror.ID, oid(c), int64(10*(i+1))))
	}
	must(t, s.TouchMirrorObject(ctx, "hf", oid('a'), 10, time.UnixMilli(1000))) // a is now the most recent
	must(t, s.AddLFSObject(ctx, pinned.ID, oid('b'), 20))
	must(t, s.AddLFSObject(ctx, local.ID, oid('c'), 30))
	must(t, s.TouchMirrorObject(ctx, "other", oid('d'), 40, time.UnixMilli(1)))

	if size, err := s.UseMirrorObject(ctx, "hf", oid('c'), time.UnixMilli(50)); err != nil || size != 30 {
		t.Fatalf("UseMirrorObject = %d, %v", size, err)
	}
	_, err = s.UseMirrorObject(ctx, "other", oid('a'), time.Now())
	wantErr(t, err, meta.ErrNotFound)
	bytes, n, err := s.MirrorCacheUsage(ctx, "hf")
	must(t, err)
	if bytes != 100 || n != 4 {
		t.Fatalf("usage = %d bytes, %d objects", bytes, n)
	}
	cands, err := s.EvictionCandidates(ctx, "hf", 10)
	must(t, err)
	var got []string
	for _, c := range cands {
		got = append(got, c.OID[:1])
	}
	// b is pinned, c a local repository's; d then a, by last use.
	if diff := cmp.Diff([]string{"d", "a"}, got); diff != "" {
		t.Fatalf("candidates (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		oid    string
		orphan bool
	}{
		{oid('a'), true},
		{oid('d'), false}, // the other upstream still accounts for it
		{oid('b'), false}, // the pinned mirror keeps its link
	} {
		orphan, err := s.DropMirrorObject(ctx, "hf", tc.oid)
		must(t, err)
		if orphan != tc.orphan {
			t.Errorf("DropMirrorObject(%s) orphan = %v, want %v", tc.oid[:1], orphan, tc.orphan)
		}
	}
	if _, err := s.LFSObject(ctx, mirror.ID, oid('a')); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("the mirror still links a dropped object: %v", err)
	}
	if _, err := s.LFSObject(ctx, pinned.ID, oid('b')); err != nil {
		t.Errorf("the pinned mirror lost its link: %v", err)
	}
	if bytes, n, _ := s.MirrorCacheUsage(ctx, "hf"); bytes != 30 || n != 1 {
		t.Fatalf("usage after drops = %d bytes, %d objects", bytes, n)
	}
}

func testMirrorFills(t *testing.T, s meta.Store) {
	ctx := t.Context()
	oid := strings.Repeat("f", 64)
	now := time.UnixMilli(1_000_000)
	l1, got, err := s.AcquireFill(ctx, oid, "a", time.Minute, now)
	must(t, err)
	if !got || l1.Holder != "a" || l1.Fence == 0 {
		t.Fatalf("first acquire = %+v, %v", l1, got)
	}
	l2, got, err := s.AcquireFill(ctx, oid, "b", time.Minute, now.Add(time.Second))
	must(t, err)
	if got || l2.Fence != l1.Fence || l2.Holder != "a" {
		t.Fatalf("acquire of a held lease = %+v, %v", l2, got)
	}
	_, _, err = s.FillChunks(ctx, strings.Repeat("e", 64))
	wantErr(t, err, meta.ErrNotFound)
	wantErr(t, s.WantFill(ctx, strings.Repeat("e", 64), now), meta.ErrNotFound)
	must(t, s.WantFill(ctx, oid, now.Add(2*time.Second)))
	must(t, s.AddFillChunk(ctx, oid, l1.Fence, meta.FillChunk{Index: 0, OID: strings.Repeat("1", 64), Size: 8}))
	must(t, s.AddFillChunk(ctx, oid, l1.Fence, meta.FillChunk{Index: 0, OID: strings.Repeat("1", 64), Size: 8})) // idempotent
	must(t, s.AddFillChunk(ctx, oid, l1.Fence, meta.FillChunk{Index: 1, OID: strings.Repeat("2", 64), Size: 8}))
	lease, chunks, err := s.FillChunks(ctx, oid)
	must(t, err)
	if lease.Fence != l1.Fence || !lease.WantedAt.Equal(now.Add(2*time.Second)) || len(chunks) != 2 || chunks[1].Index != 1 {
		t.Fatalf("FillChunks = %+v %+v", lease, chunks)
	}
	renewed, err := s.RenewFill(ctx, oid, l1.Fence, time.Minute, now.Add(30*time.Second))
	must(t, err)
	if !renewed.ExpiresAt.Equal(now.Add(90 * time.Second)) {
		t.Fatalf("renewed = %+v", renewed)
	}

	// The holder stops renewing: after expiry another takes over with a
	// higher fence, and the old holder can neither add chunks nor renew
	// nor release the new lease.
	l3, got, err := s.AcquireFill(ctx, oid, "b", time.Minute, now.Add(2*time.Minute))
	must(t, err)
	if !got || l3.Fence <= l1.Fence || l3.Holder != "b" || !l3.WantedAt.IsZero() {
		t.Fatalf("takeover = %+v, %v", l3, got)
	}
	if _, chunks, _ := s.FillChunks(ctx, oid); len(chunks) != 0 {
		t.Fatalf("the new holder sees the old holder's chunks: %+v", chunks)
	}
	wantErr(t, s.AddFillChunk(ctx, oid, l1.Fence, meta.FillChunk{Index: 2, OID: strings.Repeat("3", 64), Size: 8}), meta.ErrConflict)
	_, err = s.RenewFill(ctx, oid, l1.Fence, time.Minute, now.Add(2*time.Minute))
	wantErr(t, err, meta.ErrConflict)
	must(t, s.ReleaseFill(ctx, oid, l1.Fence))
	if lease, _, err := s.FillChunks(ctx, oid); err != nil || lease.Fence != l3.Fence {
		t.Fatalf("a stale release ended the new lease: %+v %v", lease, err)
	}
	must(t, s.ReleaseFill(ctx, oid, l3.Fence))
	_, _, err = s.FillChunks(ctx, oid)
	wantErr(t, err, meta.ErrNotFound)
	l4, got, err := s.AcquireFill(ctx, oid, "c", time.Minute, now.Add(3*time.Minute))
	must(t, err)
	if !got || l4.Fence <= l3.Fence {
		t.Fatalf("acquire after release = %+v, %v (fences must keep growing)", l4, got)
	}
}

// testMirrorFillRace has many replicas acquire one lease at once: exactly
// one wins.
func testMirrorFillRace(t *testing.T, s meta.Store) {
	oid := strings.Repeat("9", 64)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, got, err := s.AcquireFill(t.Context(), oid, fmt.Sprint("r", i), time.Minute, now)
			if err != nil {
				t.Error(err)
				return
			}
			if got {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d holders of one lease", winners)
	}
}

// seedMirrorForCopy and verifyMirrorCopy extend SeedForCopy and VerifyCopy.
func seedMirrorForCopy(t *testing.T, s meta.Store) {
	ctx := t.Context()
	must(t, s.PutMirrorUpstream(ctx, &meta.MirrorUpstream{Name: "hf", URL: "https://hf.example", Policy: "all", Token: []byte("sealed")}))
	r := mkMirror(t, s, "hf", "up", "mirrored")
	must(t, s.TouchMirrorObject(ctx, "hf", strings.Repeat("c", 64), 5, time.UnixMilli(9)))
	_, _, err := s.AcquireFill(ctx, strings.Repeat("c", 64), "x", time.Hour, time.Now())
	must(t, err)
	_ = r
}

func verifyMirrorCopy(t *testing.T, dst meta.Store) {
	ctx := t.Context()
	ups, err := dst.MirrorUpstreams(ctx)
	must(t, err)
	if len(ups) != 1 || string(ups[0].Token) != "sealed" {
		t.Fatalf("upstreams after copy: %+v", ups)
	}
	ls, err := dst.ListMirrorRepos(ctx, "hf")
	must(t, err)
	if len(ls) != 1 || ls[0].Repo.Name != "mirrored" {
		t.Fatalf("mirrors after copy: %+v", ls)
	}
	if bytes, _, _ := dst.MirrorCacheUsage(ctx, "hf"); bytes != 5 {
		t.Fatalf("cache usage after copy: %d", bytes)
	}
	// Leases are not copied, and the copy hands out fences of its own.
	if _, got, err := dst.AcquireFill(ctx, strings.Repeat("c", 64), "y", time.Hour, time.Now()); err != nil || !got {
		t.Fatalf("acquire after copy: %v %v", got, err)
	}
}
