package hub

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// upkeepFixture is a hub whose blob directory and database the test can
// damage directly.
type upkeepFixture struct {
	*fixture
	blobDir string
	db      *sql.DB
	repo    *meta.Repo
	lfsOID  string // committed at w.bin
	lfsData []byte
}

func newUpkeepFixture(t *testing.T) *upkeepFixture {
	t.Helper()
	f := newFixture(t)
	dir := t.TempDir()
	b, err := fsblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.s.blobs = b
	u := &upkeepFixture{fixture: f, blobDir: dir, db: f.m.(interface{ DB() *sql.DB }).DB()}
	ctx := t.Context()
	f.create(t, modelRef, false)
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{
		put("README.md", "---\nlicense: mit\n---\n# M\n"), put("dir/a.txt", "a"), put(".gitmodules", "")}}); err != nil {
		t.Fatal(err)
	}
	u.lfsData = bytes.Repeat([]byte("weights "), 4096)
	u.lfsOID = u.upload(t, modelRef, u.lfsData)
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Ops: []CommitOp{{Kind: OpLFSFile, Path: "w.bin", OID: u.lfsOID, Size: -1}}}); err != nil {
		t.Fatal(err)
	}
	if u.repo, err = f.m.RepoByName(ctx, TypeModel, "alice", "m"); err != nil {
		t.Fatal(err)
	}
	return u
}

// upload sends data through the LFS batch and basic transfer.
func (u *upkeepFixture) upload(t *testing.T, ref RepoRef, data []byte) string {
	t.Helper()
	oid := sha(data)
	acts, err := u.s.LFSBatch(t.Context(), u.alice, ref, "upload", []LFSObject{{OID: oid, Size: int64(len(data))}}, []string{"basic"})
	if err != nil {
		t.Fatal(err)
	}
	if acts[0].Upload != nil {
		if err := u.s.UploadLFS(t.Context(), acts[0].Upload.Token, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	return oid
}

func (u *upkeepFixture) blobPath(oid string) string {
	return filepath.Join(u.blobDir, "objects", oid[0:2], oid[2:4], oid)
}

func (u *upkeepFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := u.db.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatal(err)
	}
}

func (u *upkeepFixture) head(t *testing.T) gitobj.ID {
	t.Helper()
	id, err := u.m.GetRef(t.Context(), u.repo.ID, "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fsck runs a check and returns the problems' codes and whether each was
// repaired, as "code" or "code (repaired)".
func (u *upkeepFixture) fsck(t *testing.T, o FsckOptions) []string {
	t.Helper()
	var got []string
	_, err := u.s.Fsck(t.Context(), o, func(p FsckProblem) {
		t.Log(p)
		s := p.Code
		if p.Repaired {
			s += " (repaired)"
		}
		got = append(got, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestFsckClean(t *testing.T) {
	u := newUpkeepFixture(t)
	// A squash keeps the tree, and so the derived metadata.
	if _, err := u.s.SuperSquash(t.Context(), u.alice, modelRef, "main", ""); err != nil {
		t.Fatal(err)
	}
	st, err := u.s.Fsck(t.Context(), FsckOptions{Rehash: true}, func(p FsckProblem) { t.Errorf("problem: %s", p) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Repos != 1 || st.LFSObjects != 1 || st.Blobs != 1 || st.Objects < 8 {
		t.Errorf("stats = %+v", st)
	}
	st, err = u.s.Fsck(t.Context(), FsckOptions{Repos: []RepoRef{modelRef}}, func(p FsckProblem) { t.Errorf("problem: %s", p) })
	if err != nil || st.Repos != 1 {
		t.Fatalf("named repository: %+v, %v", st, err)
	}
	if _, err := u.s.Fsck(t.Context(), FsckOptions{Repos: []RepoRef{{Type: TypeModel, Namespace: "alice", Name: "nope"}}}, nil); !strings.Contains(errString(err), "not found") {
		t.Fatalf("unknown repository: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestFsckFindsAndRepairs(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, u *upkeepFixture)
		opts   FsckOptions
		want   []string // with Repair
		after  []string // problems left after the repair
	}{
		{
			name: "LFS content deleted",
			damage: func(t *testing.T, u *upkeepFixture) {
				if err := u.s.blobs.Delete(t.Context(), u.lfsOID); err != nil {
					t.Fatal(err)
				}
			},
			// The link is dropped so that clients upload the content again.
			want:  []string{FsckDanglingLink + " (repaired)", FsckMissingLFS},
			after: []string{FsckMissingLFS},
		},
		{
			name: "LFS content damaged, same size",
			damage: func(t *testing.T, u *upkeepFixture) {
				bad := bytes.ToUpper(u.lfsData)
				if err := os.WriteFile(u.blobPath(u.lfsOID), bad, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			opts:  FsckOptions{Rehash: true},
			want:  []string{FsckLFSHash},
			after: []string{FsckLFSHash},
		},
		{
			name: "LFS content truncated",
			damage: func(t *testing.T, u *upkeepFixture) {
				if err := os.Truncate(u.blobPath(u.lfsOID), 10); err != nil {
					t.Fatal(err)
				}
			},
			want:  []string{FsckLFSSize},
			after: []string{FsckLFSSize},
		},
		{
			name: "a partial blob nobody references",
			damage: func(t *testing.T, u *upkeepFixture) {
				oid := sha([]byte("whole"))
				p := u.blobPath(oid)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte("wh"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			opts:  FsckOptions{Rehash: true},
			want:  []string{FsckCorruptBlob},
			after: []string{FsckCorruptBlob},
		},
		{
			name: "tree missing",
			damage: func(t *testing.T, u *upkeepFixture) {
				c, err := u.s.objectsOf(u.repo.ID).commit(t.Context(), u.head(t))
				if err != nil {
					t.Fatal(err)
				}
				ents, _ := u.s.objectsOf(u.repo.ID).tree(t.Context(), c.Tree)
				for _, e := range ents {
					if e.Name == "dir" {
						u.exec(t, `DELETE FROM objects WHERE repo_id = $1 AND oid = $2`, u.repo.ID, e.ID[:])
					}
				}
			},
			want:  []string{FsckMissingObject},
			after: []string{FsckMissingObject},
		},
		{
			name: "object content replaced",
			damage: func(t *testing.T, u *upkeepFixture) {
				id := gitobj.Hash(gitobj.KindBlob, []byte("a"))
				u.exec(t, `UPDATE objects SET data = $3 WHERE repo_id = $1 AND oid = $2`, u.repo.ID, id[:], []byte("b"))
			},
			want:  []string{FsckCorruptObject},
			after: []string{FsckCorruptObject},
		},
		{
			name: "tree git refuses",
			damage: func(t *testing.T, u *upkeepFixture) {
				blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("x")}
				data, err := gitobj.EncodeTree([]gitobj.TreeEntry{{Mode: gitobj.ModeFile, Name: ".GIT", ID: blob.ID()}})
				if err != nil {
					t.Fatal(err)
				}
				tree := gitobj.Object{Kind: gitobj.KindTree, Data: data}
				sig := gitobj.Signature{Name: "x", Email: "x@example.org", When: time.Unix(1700000000, 0).UTC()}
				c := gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: tree.ID(), Author: sig, Committer: sig, Message: "m\n"}).Encode()}
				if err := u.m.PutObjects(t.Context(), u.repo.ID, []gitobj.Object{blob, tree, c}); err != nil {
					t.Fatal(err)
				}
				if err := u.m.UpdateRef(t.Context(), u.repo.ID, "refs/heads/evil", gitobj.ZeroID, c.ID()); err != nil {
					t.Fatal(err)
				}
			},
			// The branch's file is not scanned either; the scan is queued.
			want:  []string{FsckBadObject, FsckUnscanned + " (repaired)"},
			after: []string{FsckBadObject},
		},
		{
			name: "metadata of an older commit",
			damage: func(t *testing.T, u *upkeepFixture) {
				m, err := u.m.GetRepoMeta(t.Context(), u.repo.ID)
				if err != nil {
					t.Fatal(err)
				}
				c, _ := u.s.objectsOf(u.repo.ID).commit(t.Context(), u.head(t))
				m.Sha = c.Parents[0]
				if err := u.m.PutRepoMeta(t.Context(), u.repo.ID, m); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{FsckMetadata + " (repaired)"},
		},
		{
			name: "metadata missing",
			damage: func(t *testing.T, u *upkeepFixture) {
				u.exec(t, `DELETE FROM repo_meta WHERE repo_id = $1`, u.repo.ID)
			},
			want: []string{FsckMetadata + " (repaired)"},
		},
		{
			name: "scan neither done nor queued",
			damage: func(t *testing.T, u *upkeepFixture) {
				u.exec(t, `DELETE FROM scan_queue`)
			},
			// Every file at main: .gitattributes, .gitmodules, README.md,
			// dir/a.txt, w.bin.
			want: slices.Repeat([]string{FsckUnscanned + " (repaired)"}, 5),
		},
		{
			name: "referenced object not linked",
			damage: func(t *testing.T, u *upkeepFixture) {
				if _, err := u.m.UnlinkLFSObject(t.Context(), u.repo.ID, u.lfsOID, time.Time{}); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{FsckMissingLink + " (repaired)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpkeepFixture(t)
			if got := u.fsck(t, tc.opts); len(got) != 0 {
				t.Fatalf("before the damage: %v", got)
			}
			tc.damage(t, u)
			o := tc.opts
			o.Repair = true
			if d := cmp.Diff(tc.want, u.fsck(t, o)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.after, u.fsck(t, tc.opts)); d != "" {
				t.Errorf("after the repair (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseRepoArg(t *testing.T) {
	tests := []struct {
		in   string
		want RepoRef
		bad  bool
	}{
		{in: "alice/m", want: RepoRef{Type: TypeModel, Namespace: "alice", Name: "m"}},
		{in: "models/alice/m", want: RepoRef{Type: TypeModel, Namespace: "alice", Name: "m"}},
		{in: "datasets/alice/d", want: RepoRef{Type: TypeDataset, Namespace: "alice", Name: "d"}},
		{in: "gpt2", want: RepoRef{Type: TypeModel, Name: "gpt2"}},
		{in: "a/b/c", bad: true},
		{in: "alice/", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseRepoArg(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseRepoArg(%q) = %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRepoArg(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
