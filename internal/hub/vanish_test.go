package hub

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// vanishingStore deletes its victim repository right before the first
// call of one method (hook): the shape of a write racing a deletion that
// commits between the writer's reads and its own transaction.
type vanishingStore struct {
	meta.Store
	hook   string
	victim atomic.Int64
}

func (v *vanishingStore) fire(ctx context.Context, method string) {
	if method != v.hook {
		return
	}
	if id := v.victim.Swap(0); id != 0 {
		if err := v.Store.DeleteRepo(ctx, id); err != nil {
			panic(err)
		}
	}
}

func (v *vanishingStore) InTx(ctx context.Context, fn func(meta.Tx) error) error {
	v.fire(ctx, "InTx")
	return v.Store.InTx(ctx, fn)
}

func (v *vanishingStore) GetRef(ctx context.Context, repoID int64, name string) (gitobj.ID, error) {
	v.fire(ctx, "GetRef")
	return v.Store.GetRef(ctx, repoID, name)
}

func (v *vanishingStore) GetObject(ctx context.Context, repoID int64, id gitobj.ID) (gitobj.Object, error) {
	v.fire(ctx, "GetObject")
	return v.Store.GetObject(ctx, repoID, id)
}

func (v *vanishingStore) UpdateRef(ctx context.Context, repoID int64, name string, old, new gitobj.ID) error {
	v.fire(ctx, "UpdateRef")
	return v.Store.UpdateRef(ctx, repoID, name, old, new)
}

func (v *vanishingStore) PutObjects(ctx context.Context, repoID int64, objs []gitobj.Object) error {
	v.fire(ctx, "PutObjects")
	return v.Store.PutObjects(ctx, repoID, objs)
}

func (v *vanishingStore) AddLFSObject(ctx context.Context, repoID int64, oid string, size int64) error {
	v.fire(ctx, "AddLFSObject")
	return v.Store.AddLFSObject(ctx, repoID, oid, size)
}

// TestWriteRacingDeletion: every write whose repository is deleted while
// it runs answers RepoNotFound (404), whichever step meets the hole first,
// never an internal error, RevisionNotFound or a retried conflict.
func TestWriteRacingDeletion(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MultipartThreshold = 1 << 20; c.MultipartChunk = 5 << 20 })
	vs := &vanishingStore{Store: f.m}
	s, err := New(t.Context(), testLogger(t), f.s.cfg, vs, f.s.blobs)
	if err != nil {
		t.Fatal(err)
	}
	commitTo := func(ctx context.Context, ref RepoRef, _ any) error {
		_, err := s.Commit(ctx, f.alice, ref, CommitRequest{Revision: "main", Ops: []CommitOp{put("b.txt", "b")}})
		return err
	}
	lfsData := bytes.Repeat([]byte("lfs!"), 2000)
	bigData := bytes.Repeat([]byte("0123456789abcdef"), (6<<20)/16)
	tests := []struct {
		name, hook string
		// setup runs before the victim is armed (with the plain service);
		// it returns what run needs.
		setup func(t *testing.T, ref RepoRef) any
		run   func(ctx context.Context, ref RepoRef, v any) error
	}{
		{"commit: head", "GetRef", nil, commitTo},
		{"commit: parent object", "GetObject", nil, commitTo},
		{"commit: landing", "InTx", nil, commitTo},
		{"commit to a PR: landing", "InTx", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			_, err := s.Commit(ctx, f.alice, ref, CommitRequest{Revision: "main", CreatePR: true, Ops: []CommitOp{put("pr.txt", "x")}})
			return err
		}},
		{"create branch: start point", "GetRef", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			return s.CreateBranch(ctx, f.alice, ref, "dev", BranchOptions{})
		}},
		{"create branch: ref", "UpdateRef", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			return s.CreateBranch(ctx, f.alice, ref, "dev", BranchOptions{})
		}},
		{"create empty branch: objects", "PutObjects", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			return s.CreateBranch(ctx, f.alice, ref, "dev", BranchOptions{Empty: true})
		}},
		{"delete branch", "UpdateRef", func(t *testing.T, ref RepoRef) any {
			if err := f.s.CreateBranch(t.Context(), f.alice, ref, "dev", BranchOptions{}); err != nil {
				t.Fatal(err)
			}
			return nil
		}, func(ctx context.Context, ref RepoRef, _ any) error { return s.DeleteBranch(ctx, f.alice, ref, "dev") }},
		{"create tag", "UpdateRef", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			return s.CreateTag(ctx, f.alice, ref, "main", "v1", "")
		}},
		{"create annotated tag", "PutObjects", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			return s.CreateTag(ctx, f.alice, ref, "main", "v1", "release")
		}},
		{"super-squash", "InTx", nil, func(ctx context.Context, ref RepoRef, _ any) error {
			_, err := s.SuperSquash(ctx, f.alice, ref, "main", "squash")
			return err
		}},
		{"push", "InTx", func(t *testing.T, ref RepoRef) any {
			if err := f.s.CreateBranch(t.Context(), f.alice, ref, "dev", BranchOptions{}); err != nil {
				t.Fatal(err)
			}
			head, err := f.m.GetRef(t.Context(), mustRepo(t, f, ref).ID, "refs/heads/dev")
			if err != nil {
				t.Fatal(err)
			}
			return head
		}, func(ctx context.Context, ref RepoRef, v any) error {
			g, err := s.OpenGitRepo(ctx, f.alice, ref, true)
			if err != nil {
				return err
			}
			_, err = g.Push(ctx, []RefUpdate{{Name: "refs/heads/dev", Old: v.(gitobj.ID)}}, nil)
			return err
		}},
		{"lfs upload", "AddLFSObject", func(t *testing.T, ref RepoRef) any {
			acts, err := f.s.LFSBatch(t.Context(), f.alice, ref, "upload", []LFSObject{{OID: sha(lfsData), Size: int64(len(lfsData))}}, nil)
			if err != nil || acts[0].Upload == nil {
				t.Fatalf("batch: %+v %v", acts, err)
			}
			return acts[0].Upload.Token
		}, func(ctx context.Context, _ RepoRef, v any) error {
			return s.UploadLFS(ctx, v.(string), int64(len(lfsData)), bytes.NewReader(lfsData))
		}},
		{"lfs multipart completion", "AddLFSObject", func(t *testing.T, ref RepoRef) any {
			acts, err := f.s.LFSBatch(t.Context(), f.alice, ref, "upload", []LFSObject{{OID: sha(bigData), Size: int64(len(bigData))}}, []string{"multipart"})
			if err != nil || acts[0].Upload == nil || acts[0].Upload.Parts != 2 {
				t.Fatalf("batch: %+v %v", acts, err)
			}
			up := acts[0].Upload
			var parts []Part
			for n := 1; n <= up.Parts; n++ {
				chunk := bigData[(n-1)*(5<<20) : min(n*(5<<20), len(bigData))]
				etag, err := f.s.UploadLFSPart(t.Context(), up.PartToken, n, int64(len(chunk)), bytes.NewReader(chunk))
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, Part{Number: n, ETag: etag})
			}
			return func(ctx context.Context) error { return s.CompleteLFS(ctx, up.Token, sha(bigData), parts) }
		}, func(ctx context.Context, _ RepoRef, v any) error {
			return v.(func(context.Context) error)(ctx)
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := RepoRef{Type: TypeModel, Namespace: "alice", Name: fmt.Sprintf("vanish-%d", i)}
			f.create(t, ref, false)
			if _, err := f.s.Commit(t.Context(), f.alice, ref, CommitRequest{Revision: "main", Ops: []CommitOp{put("a.txt", "a")}}); err != nil {
				t.Fatal(err)
			}
			var v any
			if tc.setup != nil {
				v = tc.setup(t, ref)
			}
			vs.hook = tc.hook
			vs.victim.Store(mustRepo(t, f, ref).ID)
			err := tc.run(t.Context(), ref, v)
			if vs.victim.Load() != 0 {
				t.Fatalf("the deletion never happened (no %s call): err = %v", tc.hook, err)
			}
			wantKind(t, err, ErrRepoNotFound)
		})
	}
}
