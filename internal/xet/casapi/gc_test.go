package casapi_test

import (
	"errors"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/cas"
	"github.com/agorahub/agora/internal/xet/xettest"
)

// TestGarbageCollection: the hub's collection sees Xet files as LFS
// objects (through the overlay) and forgets those nothing references; the
// xorbs of forgotten files go once unused for the xorb grace period, and
// not before; files still committed keep theirs.
func TestGarbageCollection(t *testing.T) {
	e := newEnv(t, options{})
	ctx := t.Context()
	e.createRepo("keep", false)
	e.createRepo("drop", false)
	keep := xettest.NewClient(xet.SchemeLZ4).Upload(t, xettest.RandomData(1, 300_000))
	drop := xettest.NewClient(xet.SchemeLZ4).Upload(t, xettest.RandomData(2, 300_000))
	e.sendXet("alice/keep", "k.bin", keep)
	e.sendXet("alice/drop", "d.bin", drop)
	e.ok(e.do("DELETE", "/api/repos/delete", e.alice, map[string]any{"name": "drop", "organization": "alice", "type": "model"}))

	st, err := e.hub.GC(ctx, hub.GCOptions{Grace: 0})
	if err != nil {
		t.Fatal(err)
	}
	if st.Deleted != 1 {
		t.Fatalf("hub GC: %+v, want the dropped file forgotten", st)
	}
	// Its xorbs stay while recently used.
	xs, err := e.cas.CollectXorbs(ctx, cas.DefaultXorbGrace, false)
	if err != nil || xs.Deleted != 0 {
		t.Fatalf("xorb GC within the grace period: %+v, %v", xs, err)
	}
	var all []string
	for h := range keep.Xorbs {
		all = append(all, h.String())
	}
	for h := range drop.Xorbs {
		all = append(all, h.String())
	}
	if err := e.meta.TouchXetXorbs(ctx, all, time.Now().Add(-2*cas.DefaultXorbGrace)); err != nil {
		t.Fatal(err)
	}
	xs, err = e.cas.CollectXorbs(ctx, cas.DefaultXorbGrace, false)
	if err != nil || xs.Deleted != len(drop.Xorbs) {
		t.Fatalf("xorb GC after the grace period: %+v, %v; want %d deleted", xs, err, len(drop.Xorbs))
	}
	for h := range drop.Xorbs {
		if _, err := e.xorbs.Stat(ctx, h.String()); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("dropped xorb still stored: %v", err)
		}
	}
	// The kept file still downloads, through Xet and plain resolve.
	ct := e.casToken("alice/keep", "read", e.alice)
	if got, r := e.download(ct.CasURL, ct.AccessToken, keep.File.Hash.String(), 2, ""); r.status != 200 || string(got) != string(keep.Data) {
		t.Fatalf("kept file through Xet: %d", r.status)
	}
	if r := e.ok(e.do("GET", "/alice/keep/resolve/main/k.bin", "", nil)); string(r.body) != string(keep.Data) {
		t.Fatal("kept file through resolve differs")
	}
}
