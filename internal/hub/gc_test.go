package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/blob"
)

// gcWorld is a hub holding LFS content in every state the collector
// distinguishes, each object named by what it is.
type gcWorld struct {
	*upkeepFixture
	oids map[string]string // label → oid
}

const gcGrace = time.Hour

func newGCWorld(t *testing.T) *gcWorld {
	t.Helper()
	u := newUpkeepFixture(t)
	w := &gcWorld{upkeepFixture: u, oids: map[string]string{"committed": u.lfsOID}}
	ctx := t.Context()
	content := func(label string) []byte { return []byte(strings.Repeat(label+" ", 500)) }

	// Uploaded and linked, never committed.
	w.oids["abandoned"] = u.upload(t, modelRef, content("abandoned"))
	// Committed in a repository deleted since.
	gone := RepoRef{Type: TypeModel, Namespace: "alice", Name: "gone"}
	u.create(t, gone, false)
	w.oids["deleted-repo"] = u.upload(t, gone, content("deleted-repo"))
	if _, err := u.s.Commit(ctx, u.alice, gone, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "x.bin", OID: w.oids["deleted-repo"], Size: -1}}}); err != nil {
		t.Fatal(err)
	}
	if err := u.s.DeleteRepo(ctx, u.alice, gone); err != nil {
		t.Fatal(err)
	}
	// Committed, then deleted from the branch and squashed away: the old
	// commit still resolves by id, so its content stays.
	w.oids["squashed"] = u.upload(t, modelRef, content("squashed"))
	for _, op := range []CommitOp{{Kind: OpLFSFile, Path: "s.bin", OID: w.oids["squashed"], Size: -1}, {Kind: OpDeleteFile, Path: "s.bin"}} {
		if _, err := u.s.Commit(ctx, u.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{op}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := u.s.SuperSquash(ctx, u.alice, modelRef, "main", ""); err != nil {
		t.Fatal(err)
	}
	// Published but never linked (a crash between the two), old and new.
	for _, label := range []string{"orphan", "fresh-orphan"} {
		data := content(label)
		oid := sha(data)
		wr, err := u.s.blobs.Create(ctx, oid, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		wr.Write(data)
		if _, err := wr.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		w.oids[label] = oid
	}
	// Everything but the fresh orphan is older than the grace period.
	old := time.Now().Add(-2 * gcGrace)
	for label, oid := range w.oids {
		if label == "fresh-orphan" {
			continue
		}
		if err := os.Chtimes(u.blobPath(oid), old, old); err != nil {
			t.Fatal(err)
		}
	}
	u.exec(t, `UPDATE repo_lfs SET created_at = $1`, old.UnixMilli())
	return w
}

// present returns the labels of the objects still stored and still linked.
func (w *gcWorld) present(t *testing.T) (stored, linked []string) {
	t.Helper()
	for label, oid := range w.oids {
		if _, err := w.s.blobs.Stat(t.Context(), oid); err == nil {
			stored = append(stored, label)
		} else if !errors.Is(err, blob.ErrNotFound) {
			t.Fatal(err)
		}
		if ids, err := w.m.LFSLinkers(t.Context(), oid); err != nil {
			t.Fatal(err)
		} else if len(ids) > 0 {
			linked = append(linked, label)
		}
	}
	slices.Sort(stored)
	slices.Sort(linked)
	return stored, linked
}

func TestGC(t *testing.T) {
	tests := []struct {
		name        string
		before      func(t *testing.T, w *gcWorld)
		opts        GCOptions
		stored      []string
		linked      []string
		deleted     int
		linksRemove int
	}{
		{
			name:        "dry run deletes nothing",
			opts:        GCOptions{Grace: gcGrace, DryRun: true},
			stored:      []string{"abandoned", "committed", "deleted-repo", "fresh-orphan", "orphan", "squashed"},
			linked:      []string{"abandoned", "committed", "squashed"},
			deleted:     3,
			linksRemove: 1,
		},
		{
			name:        "collects what nothing references",
			opts:        GCOptions{Grace: gcGrace},
			stored:      []string{"committed", "fresh-orphan", "squashed"},
			linked:      []string{"committed", "squashed"},
			deleted:     3,
			linksRemove: 1,
		},
		{
			name: "a commit being prepared keeps its object",
			// UseLFSObject is what a commit's preparation calls: the link
			// is fresh again, so neither it nor the object goes.
			before: func(t *testing.T, w *gcWorld) {
				if _, err := w.s.useLFSObject(t.Context(), w.repo.ID, w.oids["abandoned"]); err != nil {
					t.Fatal(err)
				}
			},
			opts:    GCOptions{Grace: gcGrace},
			stored:  []string{"abandoned", "committed", "fresh-orphan", "squashed"},
			linked:  []string{"abandoned", "committed", "squashed"},
			deleted: 2,
		},
		{
			name: "an upload answered present keeps its object",
			before: func(t *testing.T, w *gcWorld) {
				oid := w.oids["abandoned"]
				acts, err := w.s.LFSBatch(t.Context(), w.alice, modelRef, "upload", []LFSObject{{OID: oid, Size: 2500 * 2}}, nil)
				if err != nil || !acts[0].Present {
					t.Fatalf("batch: %+v %v", acts, err)
				}
			},
			opts:    GCOptions{Grace: gcGrace},
			stored:  []string{"abandoned", "committed", "fresh-orphan", "squashed"},
			linked:  []string{"abandoned", "committed", "squashed"},
			deleted: 2,
		},
		{
			name:        "another subsystem's roots are kept",
			opts:        GCOptions{Grace: gcGrace},
			stored:      []string{"committed", "fresh-orphan", "orphan", "squashed"},
			linked:      []string{"committed", "squashed"},
			deleted:     2,
			linksRemove: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newGCWorld(t)
			if tc.before != nil {
				tc.before(t, w)
			}
			if strings.Contains(tc.name, "roots") {
				tc.opts.Roots = []GCRoots{{Name: "test", Live: func(ctx context.Context, keep func(string)) error {
					keep(w.oids["orphan"])
					return nil
				}}}
			}
			var reported []string
			tc.opts.Deleted = func(oid string, size int64) { reported = append(reported, oid) }
			st, err := w.s.GC(t.Context(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			stored, linked := w.present(t)
			if d := cmp.Diff(tc.stored, stored); d != "" {
				t.Errorf("stored (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.linked, linked); d != "" {
				t.Errorf("linked (-want +got):\n%s", d)
			}
			if st.Deleted != tc.deleted || len(reported) != tc.deleted || st.LinksRemoved != tc.linksRemove || st.Blobs != 6 {
				t.Errorf("stats %+v, %d reported; want %d deleted, %d links removed", st, len(reported), tc.deleted, tc.linksRemove)
			}
			if tc.opts.DryRun && st.BytesFreed == 0 {
				t.Error("a dry run reports no bytes to free")
			}
			// What is left is whole: every ref, pointer and link checks out.
			if got := w.fsck(t, FsckOptions{Rehash: true}); len(got) != 0 {
				t.Errorf("fsck after gc: %v", got)
			}
		})
	}
}

// TestGCThenUploadAgain: content collected after its upload was abandoned
// can be uploaded and committed again.
func TestGCThenUploadAgain(t *testing.T) {
	w := newGCWorld(t)
	ctx := t.Context()
	if _, err := w.s.GC(ctx, GCOptions{Grace: gcGrace}); err != nil {
		t.Fatal(err)
	}
	oid := w.oids["abandoned"]
	data := []byte(strings.Repeat("abandoned ", 500))
	_, err := w.s.Commit(ctx, w.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "a.bin", OID: oid, Size: -1}}})
	wantKind(t, err, ErrInvalid) // not linked any more: the client must upload
	if got := w.upload(t, modelRef, data); got != oid {
		t.Fatalf("uploaded %s, want %s", got, oid)
	}
	if _, err := w.s.Commit(ctx, w.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "a.bin", OID: oid, Size: -1}}}); err != nil {
		t.Fatal(err)
	}
	f, _, err := w.s.blobs.Open(ctx, oid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.ReadFrom(f)
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatal("content differs after the upload")
	}
	if got := w.fsck(t, FsckOptions{Rehash: true}); len(got) != 0 {
		t.Errorf("fsck: %v", got)
	}
}

// racingStore links an object to a repository just as it is deleted,
// like an upload that found it present in the instant before.
type racingStore struct {
	blob.Store
	link func(oid string)
}

func (r racingStore) Delete(ctx context.Context, oid string) error {
	r.link(oid)
	return r.Store.Delete(ctx, oid)
}

// TestGCDropsLinkOfRacingUpload: the link an upload made while its object
// was being deleted is removed, so the client uploads again instead of
// committing a pointer to nothing.
func TestGCDropsLinkOfRacingUpload(t *testing.T) {
	w := newGCWorld(t)
	ctx := t.Context()
	w.s.blobs = racingStore{Store: w.s.blobs, link: func(oid string) {
		if oid == w.oids["orphan"] {
			if err := w.m.AddLFSObject(ctx, w.repo.ID, oid, 1); err != nil {
				t.Error(err)
			}
		}
	}}
	if _, err := w.s.GC(ctx, GCOptions{Grace: gcGrace}); err != nil {
		t.Fatal(err)
	}
	stored, linked := w.present(t)
	if slices.Contains(stored, "orphan") || slices.Contains(linked, "orphan") {
		t.Fatalf("after the race: stored %v, linked %v", stored, linked)
	}
	_, err := w.s.Commit(ctx, w.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "o.bin", OID: w.oids["orphan"], Size: -1}}})
	wantKind(t, err, ErrInvalid)
}
