package metatest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

func testMaintenance(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "m", "main", false)
	other := mkRepo(t, s, meta.TypeModel, "m", "other", false)
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	ptr := func(oid string, size int64) gitobj.Object {
		return gitobj.Object{Kind: gitobj.KindBlob, Data: gitobj.Pointer{OID: oid, Size: size}.Encode()}
	}
	// Two pointer blobs naming b (different text, same object) count once.
	bAgain := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("version https://hawser.github.com/spec/v1\noid sha256:" + b + "\nsize 2\n")}
	must(t, s.PutObjects(ctx, r.ID, []gitobj.Object{ptr(b, 2), ptr(a, 1), bAgain, {Kind: gitobj.KindBlob, Data: []byte("plain")}}))
	must(t, s.PutObjects(ctx, other.ID, []gitobj.Object{ptr(c, 3)}))

	t.Run("LFSPointers", func(t *testing.T) {
		got, err := s.LFSPointers(ctx, r.ID)
		must(t, err)
		want := []meta.LFSLink{{OID: a, Size: 1}, {OID: b, Size: 2}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("LFSPointers (-want +got):\n%s", d)
		}
	})

	t.Run("UseRefreshesAndUnlinkIsConditional", func(t *testing.T) {
		start := time.Now().Add(-time.Millisecond)
		must(t, s.AddLFSObject(ctx, r.ID, a, 1))
		links, err := s.LFSLinks(ctx, r.ID)
		must(t, err)
		if len(links) != 1 || links[0].OID != a || links[0].Size != 1 || links[0].UsedAt.Before(start.Truncate(time.Millisecond)) {
			t.Fatalf("LFSLinks = %+v, want one link of %s used after %v", links, a, start)
		}
		first := links[0].UsedAt
		time.Sleep(3 * time.Millisecond)
		size, err := s.UseLFSObject(ctx, r.ID, a)
		must(t, err)
		if size != 1 {
			t.Fatalf("UseLFSObject size = %d, want 1", size)
		}
		links, err = s.LFSLinks(ctx, r.ID)
		must(t, err)
		if !links[0].UsedAt.After(first) {
			t.Fatalf("UseLFSObject kept the use time %v (first %v)", links[0].UsedAt, first)
		}
		used := links[0].UsedAt
		time.Sleep(3 * time.Millisecond)
		must(t, s.AddLFSObject(ctx, r.ID, a, 1))
		links, err = s.LFSLinks(ctx, r.ID)
		must(t, err)
		if !links[0].UsedAt.After(used) {
			t.Fatalf("AddLFSObject of a linked object kept the use time %v", links[0].UsedAt)
		}

		_, err = s.UseLFSObject(ctx, other.ID, a)
		wantErr(t, err, meta.ErrNotFound)

		// A link used at or after the cutoff stays.
		gone, err := s.UnlinkLFSObject(ctx, r.ID, a, links[0].UsedAt)
		must(t, err)
		if gone {
			t.Fatal("UnlinkLFSObject removed a link used at the cutoff")
		}
		if got, err := s.LFSLinkers(ctx, a); err != nil || len(got) != 1 || got[0] != r.ID {
			t.Fatalf("LFSLinkers = %v, %v; want [%d]", got, err, r.ID)
		}
		gone, err = s.UnlinkLFSObject(ctx, r.ID, a, time.Now().Add(time.Second))
		must(t, err)
		if !gone {
			t.Fatal("UnlinkLFSObject kept a link used before the cutoff")
		}
		if got, err := s.LFSLinkers(ctx, a); err != nil || len(got) != 0 {
			t.Fatalf("LFSLinkers after unlink = %v, %v; want none", got, err)
		}
		_, err = s.UseLFSObject(ctx, r.ID, a)
		wantErr(t, err, meta.ErrNotFound)

		must(t, s.AddLFSObject(ctx, other.ID, c, 3))
		gone, err = s.UnlinkLFSObject(ctx, other.ID, c, time.Time{})
		must(t, err)
		if !gone {
			t.Fatal("UnlinkLFSObject with a zero cutoff kept the link")
		}
	})

	t.Run("DeleteRepoDropsLinks", func(t *testing.T) {
		gone := mkRepo(t, s, meta.TypeModel, "m", "gone", false)
		must(t, s.AddLFSObject(ctx, gone.ID, b, 2))
		must(t, s.DeleteRepo(ctx, gone.ID))
		if got, err := s.LFSLinkers(ctx, b); err != nil || len(got) != 0 {
			t.Fatalf("LFSLinkers after the repository was deleted = %v, %v", got, err)
		}
	})

	t.Run("QueuedScans", func(t *testing.T) {
		must(t, s.EnqueueScans(ctx, []meta.ScanJob{{Key: "lfs:" + a, RepoID: r.ID, Path: "a.bin", Size: 1}}))
		got, err := s.QueuedScans(ctx, []string{"lfs:" + a, "lfs:" + b})
		must(t, err)
		if d := cmp.Diff(map[string]bool{"lfs:" + a: true}, got); d != "" {
			t.Errorf("QueuedScans (-want +got):\n%s", d)
		}
	})
}
