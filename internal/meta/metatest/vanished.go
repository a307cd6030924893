package metatest

import (
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// testVanishedRepo: a writer that read a repository and then writes to it
// after another transaction deleted it (a commit racing a deletion) gets
// ErrNotFound from every write of its unit of work, never a raw
// foreign-key failure and never ErrConflict (which writers retry).
func testVanishedRepo(t *testing.T, s meta.Store) {
	ctx := t.Context()
	keep := mkRepo(t, s, meta.TypeModel, "v", "kept", false)
	r := mkRepo(t, s, meta.TypeModel, "v", "vanished", false)
	head := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("head")}
	next := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("next")}
	must(t, s.PutObjects(ctx, r.ID, []gitobj.Object{head}))
	must(t, s.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, head.ID()))
	must(t, s.DeleteRepo(ctx, r.ID))

	oid := strings.Repeat("d", 64)
	writes := []struct {
		name string
		fn   func(tx meta.Tx) error
	}{
		{"PutObjects", func(tx meta.Tx) error { return tx.PutObjects(ctx, r.ID, []gitobj.Object{next}) }},
		{"UpdateRefCreate", func(tx meta.Tx) error {
			return tx.UpdateRef(ctx, r.ID, "refs/heads/new", gitobj.ZeroID, next.ID())
		}},
		{"UpdateRefMove", func(tx meta.Tx) error { return tx.UpdateRef(ctx, r.ID, "refs/heads/main", head.ID(), next.ID()) }},
		{"UpdateRefDelete", func(tx meta.Tx) error {
			return tx.UpdateRef(ctx, r.ID, "refs/heads/main", head.ID(), gitobj.ZeroID)
		}},
		{"AddLFSObject", func(tx meta.Tx) error { return tx.AddLFSObject(ctx, r.ID, oid, 4) }},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			// Outside a transaction, and as the first write of one (the
			// shape of hub's land: objects, then refs).
			wantErr(t, w.fn(s), meta.ErrNotFound)
			wantErr(t, s.InTx(ctx, w.fn), meta.ErrNotFound)
		})
	}
	t.Run("LostSwapIsStillAConflict", func(t *testing.T) {
		must(t, s.UpdateRef(ctx, keep.ID, "refs/heads/main", gitobj.ZeroID, head.ID()))
		wantErr(t, s.UpdateRef(ctx, keep.ID, "refs/heads/main", next.ID(), head.ID()), meta.ErrConflict)
		wantErr(t, s.UpdateRef(ctx, keep.ID, "refs/heads/main", gitobj.ZeroID, next.ID()), meta.ErrConflict)
	})
	if _, err := s.GetObject(ctx, r.ID, next.ID()); err == nil {
		t.Error("an object was stored for the deleted repository")
	}
}
