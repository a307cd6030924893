// Package metatest is the conformance suite of meta.Store. Every
// implementation runs it against a real database; a bug found in one
// backend becomes a case here so that every backend is tested for it.
package metatest

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Run runs the suite. open must return a new, empty, migrated store.
func Run(t *testing.T, open func(t *testing.T) meta.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meta.Store)
	}{
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"Repos", testRepos},
		{"RepoWithHead", testRepoWithHead},
		{"RenameAndRedirect", testRename},
		{"DeleteCascades", testDelete},
		{"WritesToVanishedRepo", testVanishedRepo},
		{"Objects", testObjects},
		{"RefsCompareAndSwap", testRefs},
		{"ConcurrentCAS", testConcurrentCAS},
		{"TxRollback", testTxRollback},
		{"LFSLinks", testLFS},
		{"Maintenance", testMaintenance},
		{"RepoMeta", testRepoMeta},
		{"ListRepos", testList},
		{"Secrets", testSecrets},
		{"Downloads", testDownloads},
		{"Likes", testLikes},
		{"Lineage", testLineage},
		{"DiscoveryFilters", testDiscoveryFilters},
		{"Scans", testScans},
		{"SigningKeys", testSigningKeys},
		{"SearchDocs", testSearchDocs},
		{"RateCounters", testRateCounters},
		{"Quotas", testQuotas},
		{"NamespaceUsage", testNamespaceUsage},
		{"Orgs", testOrgs},
		{"TokenScopes", testTokenScopes},
		{"AccessRequests", testAccessRequests},
		{"Audit", testAudit},
		{"ExternalIdentities", testExternalIdentities},
		{"Xet", testXet},
		{"XetConcurrentCollection", testXetConcurrentCollection},
		{"MirrorRepos", testMirrorRepos}, {"MirrorEviction", testMirrorEviction}, {"MirrorFills", testMirrorFills}, {"MirrorFillRace", testMirrorFillRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func mkUser(t *testing.T, s meta.Store, name string) *meta.User {
	t.Helper()
	u := &meta.User{Name: name, Email: name + "@example.org"}
	must(t, s.CreateUser(t.Context(), u))
	return u
}

var repoSeq int

func mkRepo(t *testing.T, s meta.Store, typ, ns, name string, private bool) *meta.Repo {
	t.Helper()
	repoSeq++
	r := &meta.Repo{PublicID: fmt.Sprintf("%024x", repoSeq), Type: typ, Namespace: ns, Name: name, Private: private}
	must(t, s.CreateRepo(t.Context(), r))
	return r
}

func testUsers(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "Alice")
	if u.ID == 0 {
		t.Fatal("no id")
	}
	wantErr(t, s.CreateUser(ctx, &meta.User{Name: "alice"}), meta.ErrConflict)
	got, err := s.UserByName(ctx, "ALICE")
	must(t, err)
	if got.ID != u.ID || got.Name != "Alice" || got.Email != "Alice@example.org" || got.CreatedAt.IsZero() {
		t.Fatalf("UserByName = %+v", got)
	}
	_, err = s.UserByName(ctx, "bob")
	wantErr(t, err, meta.ErrNotFound)
	got.IsAdmin, got.PasswordHash, got.FullName = true, "hash", "Alice A."
	must(t, s.UpdateUser(ctx, got))
	again, err := s.UserByID(ctx, u.ID)
	must(t, err)
	if !again.IsAdmin || again.PasswordHash != "hash" || again.FullName != "Alice A." {
		t.Fatalf("after update: %+v", again)
	}
	_, err = s.UserByID(ctx, 99999)
	wantErr(t, err, meta.ErrNotFound)
}

func testTokens(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "tok")
	t1 := &meta.Token{UserID: u.ID, Name: "a", Hash: []byte("h1"), Role: meta.RoleWrite}
	must(t, s.CreateToken(ctx, t1))
	must(t, s.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "b", Hash: []byte("h2"), Role: meta.RoleRead}))
	wantErr(t, s.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "c", Hash: []byte("h1"), Role: meta.RoleRead}), meta.ErrConflict)
	tok, owner, err := s.TokenByHash(ctx, []byte("h1"))
	must(t, err)
	if tok.ID != t1.ID || owner.ID != u.ID || tok.Role != meta.RoleWrite {
		t.Fatalf("TokenByHash = %+v %+v", tok, owner)
	}
	list, err := s.ListTokens(ctx, u.ID)
	must(t, err)
	if len(list) != 2 || list[0].Name != "a" {
		t.Fatalf("ListTokens = %+v", list)
	}
	must(t, s.DeleteToken(ctx, u.ID, t1.ID))
	wantErr(t, s.DeleteToken(ctx, u.ID, t1.ID), meta.ErrNotFound)
	_, _, err = s.TokenByHash(ctx, []byte("h1"))
	wantErr(t, err, meta.ErrNotFound)
}

func testRepos(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "Org", "Model-1", false)
	if r.ID == 0 || r.DefaultBranch != "main" {
		t.Fatalf("created %+v", r)
	}
	// Same name, other type: allowed. Same type, other case: conflict.
	mkRepo(t, s, meta.TypeDataset, "Org", "Model-1", false)
	wantErr(t, s.CreateRepo(ctx, &meta.Repo{PublicID: "x1", Type: meta.TypeModel, Namespace: "org", Name: "model-1"}), meta.ErrConflict)
	got, err := s.RepoByName(ctx, meta.TypeModel, "ORG", "MODEL-1")
	must(t, err)
	if got.ID != r.ID || got.Name != "Model-1" || got.Namespace != "Org" || got.Private {
		t.Fatalf("RepoByName = %+v", got)
	}
	_, err = s.RepoByName(ctx, meta.TypeModel, "org", "other")
	wantErr(t, err, meta.ErrNotFound)
	got.Private, got.Gated, got.AllowForcePush = true, "auto", true
	got.UpdatedAt = time.UnixMilli(1_800_000_000_000)
	must(t, s.UpdateRepo(ctx, got))
	again, err := s.RepoByID(ctx, r.ID)
	must(t, err)
	if !again.Private || again.Gated != "auto" || !again.AllowForcePush || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("after update %+v", again)
	}
}

// testRepoWithHead: the row is RepoByName's and the head GetRef's of the
// default branch, whatever the default branch is and whether it exists.
func testRepoWithHead(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "Heads", "Repo", false)
	c1 := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("one")}
	c2 := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("two")}
	must(t, s.PutObjects(ctx, r.ID, []gitobj.Object{c1, c2}))
	steps := []struct {
		name string
		do   func()
		want gitobj.ID
	}{
		{"no branch yet", func() {}, gitobj.ZeroID},
		{"main", func() { must(t, s.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, c1.ID())) }, c1.ID()},
		{"a tag of the same name is not the branch", func() {
			must(t, s.UpdateRef(ctx, r.ID, "refs/tags/dev", gitobj.ZeroID, c2.ID()))
			r.DefaultBranch = "dev"
			must(t, s.UpdateRepo(ctx, r))
		}, gitobj.ZeroID},
		{"default branch changed", func() { must(t, s.UpdateRef(ctx, r.ID, "refs/heads/dev", gitobj.ZeroID, c2.ID())) }, c2.ID()},
		{"branch moved", func() { must(t, s.UpdateRef(ctx, r.ID, "refs/heads/dev", c2.ID(), c1.ID())) }, c1.ID()},
	}
	for _, st := range steps {
		st.do()
		got, head, err := s.RepoWithHead(ctx, meta.TypeModel, "HEADS", "repo")
		must(t, err)
		byName, err := s.RepoByName(ctx, meta.TypeModel, "heads", "REPO")
		must(t, err)
		if diff := cmp.Diff(byName, got); diff != "" || head != st.want {
			t.Errorf("%s: RepoWithHead head = %s, want %s; row (-RepoByName +RepoWithHead):\n%s", st.name, head, st.want, diff)
		}
	}
	_, _, err := s.RepoWithHead(ctx, meta.TypeDataset, "heads", "repo")
	wantErr(t, err, meta.ErrNotFound)
}

func testRename(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "a", "one", false)
	mkRepo(t, s, meta.TypeModel, "a", "taken", false)
	wantErr(t, s.RenameRepo(ctx, r.ID, "A", "TAKEN"), meta.ErrConflict)
	must(t, s.RenameRepo(ctx, r.ID, "b", "two"))
	got, err := s.RepoByName(ctx, meta.TypeModel, "b", "two")
	must(t, err)
	if got.ID != r.ID {
		t.Fatal("renamed repo not found under its new name")
	}
	_, err = s.RepoByName(ctx, meta.TypeModel, "a", "one")
	wantErr(t, err, meta.ErrNotFound)
	id, err := s.Redirect(ctx, meta.TypeModel, "A", "One")
	must(t, err)
	if id != r.ID {
		t.Fatalf("redirect to %d, want %d", id, r.ID)
	}
	_, err = s.Redirect(ctx, meta.TypeDataset, "a", "one")
	wantErr(t, err, meta.ErrNotFound)
	// A new repo under the old name takes it back.
	mkRepo(t, s, meta.TypeModel, "a", "one", false)
	_, err = s.Redirect(ctx, meta.TypeModel, "a", "one")
	wantErr(t, err, meta.ErrNotFound)
	// Renaming twice keeps both old names pointing at the repo.
	must(t, s.RenameRepo(ctx, r.ID, "c", "three"))
	id, err = s.Redirect(ctx, meta.TypeModel, "b", "two")
	must(t, err)
	if id != r.ID {
		t.Fatal("second redirect lost")
	}
}

func testDelete(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "d", "gone", false)
	blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("x")}
	must(t, s.PutObjects(ctx, r.ID, []gitobj.Object{blob}))
	must(t, s.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, blob.ID()))
	must(t, s.AddLFSObject(ctx, r.ID, strings.Repeat("a", 64), 3))
	must(t, s.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{Tags: []string{"x"}}))
	must(t, s.RenameRepo(ctx, r.ID, "d", "gone2"))
	must(t, s.DeleteRepo(ctx, r.ID))
	wantErr(t, s.DeleteRepo(ctx, r.ID), meta.ErrNotFound)
	_, err := s.RepoByID(ctx, r.ID)
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.GetObject(ctx, r.ID, blob.ID())
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.GetRef(ctx, r.ID, "refs/heads/main")
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.LFSObject(ctx, r.ID, strings.Repeat("a", 64))
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.Redirect(ctx, meta.TypeModel, "d", "gone")
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.GetRepoMeta(ctx, r.ID)
	wantErr(t, err, meta.ErrNotFound)
}

func testObjects(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "o", "objs", false)
	other := mkRepo(t, s, meta.TypeModel, "o", "other", false)
	ptr := gitobj.Pointer{OID: strings.Repeat("b", 64), Size: 1 << 40}
	objs := []gitobj.Object{
		{Kind: gitobj.KindBlob, Data: []byte("hello")},
		{Kind: gitobj.KindBlob, Data: []byte{}},
		{Kind: gitobj.KindBlob, Data: ptr.Encode()},
		{Kind: gitobj.KindBlob, Data: bytes.Repeat([]byte{0, 1, 2}, 100000)},
	}
	must(t, s.PutObjects(ctx, r.ID, objs))
	must(t, s.PutObjects(ctx, r.ID, objs)) // idempotent
	for _, o := range objs {
		got, err := s.GetObject(ctx, r.ID, o.ID())
		must(t, err)
		if got.Kind != o.Kind || !bytes.Equal(got.Data, o.Data) {
			t.Fatalf("GetObject(%s) differs", o.ID())
		}
	}
	// Objects are per repository.
	_, err := s.GetObject(ctx, other.ID, objs[0].ID())
	wantErr(t, err, meta.ErrNotFound)
	// Packed forms: each inflates (or is) the content, of the right kind
	// and size; missing ids and other repositories' objects are absent.
	missing := gitobj.Hash(gitobj.KindBlob, []byte("missing"))
	packed, err := s.PackedObjects(ctx, r.ID, []gitobj.ID{objs[0].ID(), objs[1].ID(), objs[2].ID(), objs[3].ID(), missing})
	must(t, err)
	if len(packed) != len(objs) {
		t.Fatalf("PackedObjects found %d of %d", len(packed), len(objs))
	}
	for _, o := range objs {
		p := packed[o.ID()]
		data := p.Data
		if p.Zlib != nil {
			zr, err := zlib.NewReader(bytes.NewReader(p.Zlib))
			must(t, err)
			data, err = io.ReadAll(zr)
			must(t, err)
		}
		if p.Kind != o.Kind || p.Size != len(o.Data) || !bytes.Equal(data, o.Data) {
			t.Errorf("PackedObjects(%s) = kind %v, size %d, %d bytes; want %v, %d", o.ID(), p.Kind, p.Size, len(data), o.Kind, len(o.Data))
		}
	}
	if packed, err := s.PackedObjects(ctx, other.ID, []gitobj.ID{objs[0].ID()}); err != nil || len(packed) != 0 {
		t.Fatalf("PackedObjects of another repository = %v, %v", packed, err)
	}
	ids := []gitobj.ID{objs[0].ID(), objs[2].ID(), gitobj.Hash(gitobj.KindBlob, []byte("missing"))}
	st, err := s.StatObjects(ctx, r.ID, ids)
	must(t, err)
	if len(st) != 2 || st[ids[0]].Size != 5 || st[ids[0]].LFS != nil || st[ids[2]].Kind != 0 {
		t.Fatalf("StatObjects = %+v", st)
	}
	if p := st[ids[1]].LFS; p == nil || *p != ptr {
		t.Fatalf("pointer not recognised: %+v", st[ids[1]])
	}
	// Many ids (more than one query batch).
	var many []gitobj.Object
	for i := range 1200 {
		many = append(many, gitobj.Object{Kind: gitobj.KindBlob, Data: fmt.Appendf(nil, "blob %d", i)})
	}
	must(t, s.PutObjects(ctx, r.ID, many))
	var manyIDs []gitobj.ID
	for _, o := range many {
		manyIDs = append(manyIDs, o.ID())
	}
	st, err = s.StatObjects(ctx, r.ID, manyIDs)
	must(t, err)
	if len(st) != len(many) {
		t.Fatalf("StatObjects found %d of %d", len(st), len(many))
	}

	// Abbreviated ids: every prefix length, odd ones included, finds the
	// object and only objects of the kind asked for and of this repository.
	target := many[7].ID().String()
	for n := 1; n <= 40; n++ {
		got, err := s.ObjectsByPrefix(ctx, r.ID, gitobj.KindBlob, target[:n], 2000)
		must(t, err)
		found := false
		for _, g := range got {
			if !strings.HasPrefix(g.String(), target[:n]) {
				t.Fatalf("ObjectsByPrefix(%s) returned %s", target[:n], g)
			}
			found = found || g.String() == target
		}
		if !found {
			t.Fatalf("ObjectsByPrefix(%s) misses %s", target[:n], target)
		}
		if n == 40 && len(got) != 1 {
			t.Fatalf("ObjectsByPrefix(full id) = %d ids", len(got))
		}
	}
	if got, err := s.ObjectsByPrefix(ctx, r.ID, gitobj.KindCommit, target[:8], 10); err != nil || len(got) != 0 {
		t.Fatalf("ObjectsByPrefix(commit kind) = %v, %v", got, err)
	}
	if got, err := s.ObjectsByPrefix(ctx, other.ID, gitobj.KindBlob, target, 10); err != nil || len(got) != 0 {
		t.Fatalf("ObjectsByPrefix(other repo) = %v, %v", got, err)
	}
	if _, err := s.ObjectsByPrefix(ctx, r.ID, gitobj.KindBlob, "", 2); err == nil {
		t.Fatal("ObjectsByPrefix(\"\") succeeded")
	}
	if got, err := s.ObjectsByPrefix(ctx, r.ID, gitobj.KindBlob, "0", 3); err != nil || len(got) > 3 {
		t.Fatalf("ObjectsByPrefix limit: %v, %v", got, err)
	}
}

func id(s string) gitobj.ID { return gitobj.Hash(gitobj.KindCommit, []byte(s)) }

func testRefs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "r", "refs", false)
	const main = "refs/heads/main"
	a, b, c := id("a"), id("b"), id("c")
	must(t, s.UpdateRef(ctx, r.ID, main, gitobj.ZeroID, a))
	wantErr(t, s.UpdateRef(ctx, r.ID, main, gitobj.ZeroID, b), meta.ErrConflict)
	wantErr(t, s.UpdateRef(ctx, r.ID, main, c, b), meta.ErrConflict)
	must(t, s.UpdateRef(ctx, r.ID, main, a, b))
	got, err := s.GetRef(ctx, r.ID, main)
	must(t, err)
	if got != b {
		t.Fatalf("ref = %s, want %s", got, b)
	}
	must(t, s.UpdateRef(ctx, r.ID, "refs/heads/feature/x", gitobj.ZeroID, c))
	must(t, s.UpdateRef(ctx, r.ID, "refs/tags/v1", gitobj.ZeroID, a))
	refs, err := s.ListRefs(ctx, r.ID)
	must(t, err)
	if len(refs) != 3 || refs[0].Name != "refs/heads/feature/x" || refs[2].Name != "refs/tags/v1" {
		t.Fatalf("ListRefs = %+v", refs)
	}
	wantErr(t, s.UpdateRef(ctx, r.ID, main, a, gitobj.ZeroID), meta.ErrConflict)
	must(t, s.UpdateRef(ctx, r.ID, main, b, gitobj.ZeroID))
	_, err = s.GetRef(ctx, r.ID, main)
	wantErr(t, err, meta.ErrNotFound)
}

// testConcurrentCAS runs many read-modify-write loops on one ref; every
// increment must land exactly once.
func testConcurrentCAS(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "c", "cas", false)
	const ref = "refs/heads/main"
	must(t, s.UpdateRef(ctx, r.ID, ref, gitobj.ZeroID, id("0")))
	// The chain of values is 0, 1, 2, … encoded as ids; each writer moves
	// the ref from n to n+1.
	val := map[gitobj.ID]int{id("0"): 0}
	var mu sync.Mutex
	idOf := func(n int) gitobj.ID {
		v := id(fmt.Sprint(n))
		mu.Lock()
		val[v] = n
		mu.Unlock()
		return v
	}
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				for {
					err := s.InTx(ctx, func(tx meta.Tx) error {
						cur, err := tx.GetRef(ctx, r.ID, ref)
						if err != nil {
							return err
						}
						mu.Lock()
						n := val[cur]
						mu.Unlock()
						return tx.UpdateRef(ctx, r.ID, ref, cur, idOf(n+1))
					})
					if err == nil {
						break
					}
					if !errors.Is(err, meta.ErrConflict) {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cur, err := s.GetRef(ctx, r.ID, ref)
	must(t, err)
	mu.Lock()
	defer mu.Unlock()
	if val[cur] != workers*each {
		t.Fatalf("final value %d, want %d: updates were lost", val[cur], workers*each)
	}
}

func testTxRollback(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "t", "tx", false)
	blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("rolled back")}
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx meta.Tx) error {
		must(t, tx.PutObjects(ctx, r.ID, []gitobj.Object{blob}))
		must(t, tx.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, blob.ID()))
		return boom
	})
	wantErr(t, err, boom)
	_, err = s.GetObject(ctx, r.ID, blob.ID())
	wantErr(t, err, meta.ErrNotFound)
	_, err = s.GetRef(ctx, r.ID, "refs/heads/main")
	wantErr(t, err, meta.ErrNotFound)
}

func testLFS(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "l", "lfs", false)
	other := mkRepo(t, s, meta.TypeModel, "l", "other", false)
	oid := strings.Repeat("c", 64)
	must(t, s.AddLFSObject(ctx, r.ID, oid, 10))
	must(t, s.AddLFSObject(ctx, r.ID, oid, 10))
	size, err := s.LFSObject(ctx, r.ID, oid)
	must(t, err)
	if size != 10 {
		t.Fatalf("size %d", size)
	}
	_, err = s.LFSObject(ctx, other.ID, oid)
	wantErr(t, err, meta.ErrNotFound)
}

func testRepoMeta(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "m", "meta", false)
	_, err := s.GetRepoMeta(ctx, r.ID)
	wantErr(t, err, meta.ErrNotFound)
	m := &meta.RepoMeta{Sha: id("x"), CardData: []byte(`{"license":"mit"}`), PipelineTag: "text-generation",
		LibraryName: "transformers", Tags: []string{"transformers", "license:mit", "en", "transformers"}, NumParameters: 7e9,
		Info: []byte(`{"a":1}`)}
	must(t, s.PutRepoMeta(ctx, r.ID, m))
	got, err := s.GetRepoMeta(ctx, r.ID)
	must(t, err)
	if got.Sha != m.Sha || string(got.CardData) != string(m.CardData) || got.PipelineTag != m.PipelineTag ||
		got.NumParameters != m.NumParameters || string(got.Info) != `{"a":1}` || strings.Join(got.Tags, ",") != "transformers,license:mit,en" {
		t.Fatalf("GetRepoMeta = %+v", got)
	}
	must(t, s.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{Sha: id("y"), CardError: "bad yaml"}))
	got, err = s.GetRepoMeta(ctx, r.ID)
	must(t, err)
	if got.CardData != nil || got.CardError != "bad yaml" || len(got.Tags) != 0 {
		t.Fatalf("after replace: %+v", got)
	}
}

func testList(t *testing.T, s meta.Store) {
	ctx := t.Context()
	base := time.UnixMilli(1_700_000_000_000)
	type spec struct {
		ns, name string
		private  bool
		tags     []string
		pipe     string
		dl       int64
	}
	specs := []spec{
		{"alice", "llama-small", false, []string{"transformers", "license:mit"}, "text-generation", 5},
		{"alice", "secret-model", true, []string{"transformers"}, "", 50},
		{"bob", "Llama-Big", false, []string{"transformers", "license:apache-2.0"}, "text-generation", 7},
		{"bob", "vision", false, []string{"timm"}, "image-classification", 7},
		{"carol", "x_y", false, nil, "", 1},
		{"carol", "xzy", false, nil, "", 0},
	}
	for i, sp := range specs {
		r := &meta.Repo{PublicID: fmt.Sprintf("list%02d", i), Type: meta.TypeModel, Namespace: sp.ns, Name: sp.name, Private: sp.private,
			CreatedAt: base.Add(time.Duration(i) * time.Hour), UpdatedAt: base.Add(time.Duration(10-i) * time.Hour)}
		must(t, s.CreateRepo(ctx, r))
		if sp.tags != nil || sp.pipe != "" {
			must(t, s.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{Tags: sp.tags, PipelineTag: sp.pipe}))
		}
		r.Downloads = sp.dl
		if sp.dl > 0 {
			// Downloads are set directly: counting them is the hub's job.
			setDownloads(t, s, r, sp.dl)
		}
	}
	mkRepo(t, s, meta.TypeDataset, "alice", "data", false)

	names := func(ls []meta.Listing) string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Repo.FullName())
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		name string
		q    meta.RepoQuery
		want string
	}{
		{"anonymous by id", meta.RepoQuery{Type: meta.TypeModel}, "alice/llama-small bob/Llama-Big bob/vision carol/x_y carol/xzy"},
		{"owner sees private", meta.RepoQuery{Type: meta.TypeModel, ViewerNamespaces: []string{"ALICE"}, Author: "alice"}, "alice/llama-small alice/secret-model"},
		{"a namespace's _ is no LIKE wildcard", meta.RepoQuery{Type: meta.TypeModel, ViewerNamespaces: []string{"alic_"}, Author: "alice"}, "alice/llama-small"},
		{"admin sees all", meta.RepoQuery{Type: meta.TypeModel, ViewerAll: true, Author: "Alice"}, "alice/llama-small alice/secret-model"},
		{"search is case-insensitive substring", meta.RepoQuery{Type: meta.TypeModel, Search: "LLAMA"}, "alice/llama-small bob/Llama-Big"},
		{"search matches namespace", meta.RepoQuery{Type: meta.TypeModel, Search: "bob/"}, "bob/Llama-Big bob/vision"},
		{"search escapes LIKE wildcards", meta.RepoQuery{Type: meta.TypeModel, Search: "x_y"}, "carol/x_y"},
		{"tags are ANDed", meta.RepoQuery{Type: meta.TypeModel, Tags: []string{"transformers", "license:mit"}}, "alice/llama-small"},
		{"pipeline tag", meta.RepoQuery{Type: meta.TypeModel, PipelineTag: "image-classification"}, "bob/vision"},
		{"sort downloads desc, ties by id", meta.RepoQuery{Type: meta.TypeModel, Sort: meta.SortDownloads, Desc: true, Limit: 3}, "bob/vision bob/Llama-Big alice/llama-small"},
		{"sort created asc", meta.RepoQuery{Type: meta.TypeModel, Sort: meta.SortCreatedAt, Limit: 2}, "alice/llama-small bob/Llama-Big"},
		{"sort lastModified desc", meta.RepoQuery{Type: meta.TypeModel, Sort: meta.SortLastModified, Desc: true, Limit: 2}, "alice/llama-small bob/Llama-Big"},
		{"datasets", meta.RepoQuery{Type: meta.TypeDataset}, "alice/data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListRepos(ctx, tc.q)
			must(t, err)
			if names(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", names(got), tc.want)
			}
			n, err := s.CountRepos(ctx, tc.q)
			must(t, err)
			if tc.q.Limit == 0 && int(n) != len(got) {
				t.Fatalf("CountRepos = %d, listed %d", n, len(got))
			}
		})
	}
	// Paging with the cursor visits every row once, for each sort.
	for _, sort := range []string{meta.SortID, meta.SortDownloads, meta.SortCreatedAt, meta.SortLastModified, meta.SortLikes} {
		for _, desc := range []bool{false, true} {
			q := meta.RepoQuery{Type: meta.TypeModel, Sort: sort, Desc: desc, Limit: 2}
			all, err := s.ListRepos(ctx, meta.RepoQuery{Type: meta.TypeModel, Sort: sort, Desc: desc})
			must(t, err)
			var paged []meta.Listing
			for {
				page, err := s.ListRepos(ctx, q)
				must(t, err)
				paged = append(paged, page...)
				if len(page) < q.Limit {
					break
				}
				c := meta.CursorOf(sort, &page[len(page)-1])
				q.After = &c
			}
			if names(paged) != names(all) {
				t.Fatalf("sort %s desc=%v: paged %s, all %s", sort, desc, names(paged), names(all))
			}
		}
	}
	// Tags and metadata come back with the listing.
	got, err := s.ListRepos(ctx, meta.RepoQuery{Type: meta.TypeModel, Search: "llama-small"})
	must(t, err)
	if len(got) != 1 || got[0].Meta == nil || strings.Join(got[0].Meta.Tags, ",") != "transformers,license:mit" {
		t.Fatalf("listing meta: %+v", got)
	}
}

func setDownloads(t *testing.T, s meta.Store, r *meta.Repo, n int64) {
	t.Helper()
	must(t, s.RecordDownloads(t.Context(), 20000, map[int64]int64{r.ID: n}))
}

func testSecrets(t *testing.T, s meta.Store) {
	ctx := t.Context()
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Go(func() {
			got[i], errs[i] = s.Secret(ctx, "signing", func() []byte { return fmt.Appendf(nil, "secret-%d", i) })
		})
	}
	wg.Wait()
	for i := range got {
		must(t, errs[i])
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("secrets differ: %q vs %q", got[i], got[0])
		}
	}
	v, err := s.Secret(ctx, "other", func() []byte { return []byte("o") })
	must(t, err)
	if string(v) != "o" {
		t.Fatalf("other secret %q", v)
	}
}

func testDownloads(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "dl", "counted", false)
	other := mkRepo(t, s, meta.TypeModel, "dl", "other", false)
	const today = 20000
	must(t, s.RecordDownloads(ctx, today-40, map[int64]int64{r.ID: 100}))
	must(t, s.RecordDownloads(ctx, today-10, map[int64]int64{r.ID: 5, other.ID: 1}))
	must(t, s.RecordDownloads(ctx, today, map[int64]int64{r.ID: 3}))
	must(t, s.RecordDownloads(ctx, today, map[int64]int64{r.ID: 4, 999999: 7})) // a deleted repo is skipped
	got, err := s.RepoByID(ctx, r.ID)
	must(t, err)
	if got.DownloadsAllTime != 112 || got.Downloads != 12 || got.Trending != 7000 {
		t.Fatalf("counters: all=%d 30d=%d trending=%d", got.DownloadsAllTime, got.Downloads, got.Trending)
	}
	// Two days later the trending score decays; the 30-day window keeps all.
	must(t, s.RefreshDownloads(ctx, today+2))
	got, _ = s.RepoByID(ctx, r.ID)
	if got.Downloads != 12 || got.Trending != 5000 {
		t.Fatalf("after refresh: 30d=%d trending=%d", got.Downloads, got.Trending)
	}
	// A refresh that moves nothing stamps nothing: every replica's search
	// index re-reads the rows stamped since it last looked.
	stampOf := func() int64 {
		docs, err := s.SearchDocs(ctx, 0, meta.DocCursor{}, 100000)
		must(t, err)
		for _, d := range docs {
			if d.Repo.ID == r.ID {
				return d.ChangedAt
			}
		}
		t.Fatal("repo missing from SearchDocs")
		return 0
	}
	before := stampOf()
	time.Sleep(5 * time.Millisecond)
	must(t, s.RefreshDownloads(ctx, today+2))
	if after := stampOf(); after != before {
		t.Fatalf("an unchanged refresh moved the stamp %d -> %d", before, after)
	}
	must(t, s.RefreshDownloads(ctx, today+20))
	got, _ = s.RepoByID(ctx, r.ID)
	if got.Downloads != 7 || got.Trending != 0 {
		t.Fatalf("after 20 days: 30d=%d trending=%d", got.Downloads, got.Trending)
	}
	if after := stampOf(); after <= before {
		t.Fatalf("a refresh that changed counts kept the stamp %d", after)
	}
}

func testLikes(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u1, u2 := mkUser(t, s, "liker1"), mkUser(t, s, "liker2")
	r := mkRepo(t, s, meta.TypeModel, "lk", "liked", false)
	r2 := mkRepo(t, s, meta.TypeDataset, "lk", "data", false)
	for _, step := range []struct {
		user    int64
		repo    int64
		on      bool
		changed bool
	}{{u1.ID, r.ID, true, true}, {u1.ID, r.ID, true, false}, {u2.ID, r.ID, true, true}, {u1.ID, r2.ID, true, true}, {u2.ID, r.ID, false, true}, {u2.ID, r.ID, false, false}} {
		changed, err := s.SetLike(ctx, step.user, step.repo, step.on)
		must(t, err)
		if changed != step.changed {
			t.Fatalf("SetLike(%d,%d,%v) changed=%v", step.user, step.repo, step.on, changed)
		}
	}
	got, _ := s.RepoByID(ctx, r.ID)
	if got.Likes != 1 {
		t.Fatalf("likes = %d", got.Likes)
	}
	liked, err := s.LikedBy(ctx, u1.ID, 10)
	must(t, err)
	if len(liked) != 2 {
		t.Fatalf("LikedBy = %+v", liked)
	}
	likers, err := s.Likers(ctx, r.ID, 10)
	must(t, err)
	if len(likers) != 1 || likers[0].Name != "liker1" {
		t.Fatalf("Likers = %+v", likers)
	}
	ok, err := s.HasLiked(ctx, u2.ID, r.ID)
	must(t, err)
	if ok {
		t.Fatal("unliked repo still liked")
	}
	must(t, s.DeleteRepo(ctx, r2.ID))
	liked, _ = s.LikedBy(ctx, u1.ID, 10)
	if len(liked) != 1 {
		t.Fatalf("deleted repo still liked: %+v", liked)
	}
}

func testLineage(t *testing.T, s meta.Store) {
	ctx := t.Context()
	base := mkRepo(t, s, meta.TypeModel, "org", "Base", false)
	ft := mkRepo(t, s, meta.TypeModel, "u", "ft", false)
	ad := mkRepo(t, s, meta.TypeModel, "u", "adapter", true)
	mg := mkRepo(t, s, meta.TypeModel, "u", "merged", false)
	must(t, s.PutRepoMeta(ctx, ft.ID, &meta.RepoMeta{Bases: []meta.Edge{{Base: "org/Base", Relation: meta.RelFinetune}}}))
	must(t, s.PutRepoMeta(ctx, ad.ID, &meta.RepoMeta{Bases: []meta.Edge{{Base: "ORG/base", Relation: meta.RelAdapter}}}))
	must(t, s.PutRepoMeta(ctx, mg.ID, &meta.RepoMeta{Bases: []meta.Edge{{Base: "org/base", Relation: meta.RelMerge}, {Base: "other/x", Relation: meta.RelMerge}}}))
	parents, err := s.Parents(ctx, mg.ID)
	must(t, err)
	if len(parents) != 2 || parents[1].Base != "other/x" {
		t.Fatalf("Parents = %+v", parents)
	}
	q := meta.ChildQuery{Type: meta.TypeModel, Bases: []string{meta.LowerName(base.Namespace, base.Name)}}
	counts, err := s.ChildCounts(ctx, q)
	must(t, err)
	if counts[meta.RelFinetune] != 1 || counts[meta.RelMerge] != 1 || counts[meta.RelAdapter] != 0 {
		t.Fatalf("anonymous counts %v (the private adapter must not count)", counts)
	}
	q.ViewerNamespaces = []string{"u"}
	counts, _ = s.ChildCounts(ctx, q)
	if counts[meta.RelAdapter] != 1 {
		t.Fatalf("owner counts %v", counts)
	}
	q.Relation = meta.RelMerge
	kids, err := s.Children(ctx, q)
	must(t, err)
	if len(kids) != 1 || kids[0].Repo.ID != mg.ID || kids[0].Relation != meta.RelMerge {
		t.Fatalf("Children = %+v", kids)
	}
	// A card change replaces the edges.
	must(t, s.PutRepoMeta(ctx, ft.ID, &meta.RepoMeta{}))
	q.Relation, q.ViewerNamespaces = "", nil
	counts, _ = s.ChildCounts(ctx, q)
	if counts[meta.RelFinetune] != 0 {
		t.Fatalf("stale edge after card change: %v", counts)
	}
	// Renaming the base keeps its old name as a redirect: the children
	// under the former name count with the current one's.
	must(t, s.RenameRepo(ctx, base.ID, "org", "base-v2"))
	q = meta.ChildQuery{Type: meta.TypeModel, Bases: []string{"org/base-v2"}}
	if counts, _ = s.ChildCounts(ctx, q); counts[meta.RelMerge] != 0 {
		t.Fatalf("counts under the new name alone %v", counts)
	}
	q.FormerNamesOf = base.ID
	if counts, _ = s.ChildCounts(ctx, q); counts[meta.RelMerge] != 1 {
		t.Fatalf("counts with the former names %v", counts)
	}
	kids, err = s.Children(ctx, q)
	must(t, err)
	if len(kids) != 1 || kids[0].Repo.ID != mg.ID {
		t.Fatalf("Children with the former names = %+v", kids)
	}
}

func testDiscoveryFilters(t *testing.T, s meta.Store) {
	ctx := t.Context()
	mk := func(name string, params int64, gated string) *meta.Repo {
		r := mkRepo(t, s, meta.TypeModel, "disc", name, false)
		must(t, s.PutRepoMeta(ctx, r.ID, &meta.RepoMeta{NumParameters: params}))
		if gated != "" {
			r.Gated = gated
			must(t, s.UpdateRepo(ctx, r))
		}
		return r
	}
	mk("tiny", 1e6, "")
	mk("seven-b", 7e9, "auto")
	mk("seventy-b", 70e9, "")
	names := func(q meta.RepoQuery) string {
		q.Type, q.Author = meta.TypeModel, "disc"
		ls, err := s.ListRepos(ctx, q)
		must(t, err)
		var out []string
		for _, l := range ls {
			out = append(out, l.Repo.Name)
		}
		return strings.Join(out, " ")
	}
	yes, no := true, false
	for _, tc := range []struct {
		q    meta.RepoQuery
		want string
	}{
		{meta.RepoQuery{MinParams: 1e9}, "seven-b seventy-b"},
		{meta.RepoQuery{MinParams: 1e9, MaxParams: 10e9}, "seven-b"},
		{meta.RepoQuery{MaxParams: 1e9}, "tiny"},
		{meta.RepoQuery{Gated: &yes}, "seven-b"},
		{meta.RepoQuery{Gated: &no}, "seventy-b tiny"},
		{meta.RepoQuery{Search: "VEN"}, "seven-b seventy-b"},
		{meta.RepoQuery{Search: "ny"}, "tiny"},
		{meta.RepoQuery{Search: "disc/s"}, "seven-b seventy-b"},
	} {
		if got := names(tc.q); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.q, got, tc.want)
		}
	}
	// Renames keep the search index current.
	r := mk("renamed-from", 0, "")
	must(t, s.RenameRepo(ctx, r.ID, "disc", "zzz-new-name"))
	if got := names(meta.RepoQuery{Search: "zzz-new"}); got != "zzz-new-name" {
		t.Errorf("search after rename: %q", got)
	}
	if got := names(meta.RepoQuery{Search: "renamed-from"}); got != "" {
		t.Errorf("old name still found: %q", got)
	}
}

func testScans(t *testing.T, s meta.Store) {
	ctx := t.Context()
	r := mkRepo(t, s, meta.TypeModel, "sc", "scanned", false)
	jobs := []meta.ScanJob{{Key: "lfs:" + strings.Repeat("a", 64), RepoID: r.ID, Path: "a.bin", Size: 10}, {Key: "git:x", RepoID: r.ID, Path: "b.pkl", Size: 3}}
	must(t, s.EnqueueScans(ctx, jobs))
	must(t, s.EnqueueScans(ctx, jobs[:1])) // duplicate: ignored
	// Two workers racing never get the same job.
	var wg sync.WaitGroup
	got := make([][]meta.ScanJob, 4)
	for i := range got {
		wg.Go(func() {
			js, err := s.ClaimScans(ctx, 10, time.Minute)
			if err != nil {
				t.Error(err)
			}
			got[i] = js
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, js := range got {
		for _, j := range js {
			seen[j.Key]++
		}
	}
	if len(seen) != 2 || seen[jobs[0].Key] != 1 || seen["git:x"] != 1 {
		t.Fatalf("claims %v", seen)
	}
	// Leased jobs are not handed out again until the lease ends.
	if js, _ := s.ClaimScans(ctx, 10, time.Minute); len(js) != 0 {
		t.Fatalf("re-claimed leased jobs: %v", js)
	}
	must(t, s.PutScan(ctx, &meta.ScanRecord{Key: jobs[0].Key, RepoID: r.ID, Version: 1, Level: "unsafe", Result: []byte(`{"x":1}`)}))
	must(t, s.PutScan(ctx, &meta.ScanRecord{Key: jobs[0].Key, RepoID: r.ID, Version: 2, Level: "safe", Result: []byte(`{}`)}))
	must(t, s.FinishScan(ctx, jobs[0].Key))
	recs, err := s.GetScans(ctx, []string{jobs[0].Key, "git:missing"})
	must(t, err)
	if len(recs) != 1 || recs[jobs[0].Key].Level != "safe" || recs[jobs[0].Key].Version != 2 {
		t.Fatalf("GetScans %+v", recs)
	}
	// Rescan candidates: results older than the version, and LFS objects
	// never scanned.
	must(t, s.AddLFSObject(ctx, r.ID, strings.Repeat("b", 64), 5))
	rj, err := s.RescanJobs(ctx, 3, "", 10)
	must(t, err)
	if len(rj) != 2 || rj[0].Key != jobs[0].Key || rj[1].Key != "lfs:"+strings.Repeat("b", 64) || rj[1].Size != 5 {
		t.Fatalf("RescanJobs %+v", rj)
	}
	rj, _ = s.RescanJobs(ctx, 2, "", 10)
	if len(rj) != 1 {
		t.Fatalf("RescanJobs at the current version %+v", rj)
	}
}

func testSigningKeys(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "signer")
	k := &meta.SigningKey{UserID: u.ID, Name: "laptop", PEM: "-----BEGIN PUBLIC KEY-----\n…"}
	must(t, s.AddSigningKey(ctx, k))
	list, err := s.ListSigningKeys(ctx, u.ID)
	must(t, err)
	all, err := s.AllSigningKeys(ctx)
	must(t, err)
	if len(list) != 1 || list[0].Name != "laptop" || len(all) != 1 || all[0].User != "signer" {
		t.Fatalf("keys %+v %+v", list, all)
	}
	wantErr(t, s.DeleteSigningKey(ctx, u.ID+1, k.ID), meta.ErrNotFound)
	must(t, s.DeleteSigningKey(ctx, u.ID, k.ID))
	if all, _ := s.AllSigningKeys(ctx); len(all) != 0 {
		t.Fatalf("after delete: %+v", all)
	}
}

func testSearchDocs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	pub := mkRepo(t, s, meta.TypeModel, "sd", "public", false)
	priv := mkRepo(t, s, meta.TypeModel, "sd", "private", true)
	must(t, s.PutRepoMeta(ctx, pub.ID, &meta.RepoMeta{PipelineTag: "fill-mask", NumParameters: 42, Tags: []string{"y", "x"}})) // kept in this order
	all, err := s.SearchDocs(ctx, 0, meta.DocCursor{}, 10)
	must(t, err)
	// The order follows change stamps; put pub first for the checks.
	if len(all) == 2 && all[0].Repo.ID != pub.ID {
		all[0], all[1] = all[1], all[0]
	}
	if len(all) != 2 || all[0].Repo.ID != pub.ID || all[0].PipelineTag != "fill-mask" || all[0].NumParameters != 42 ||
		strings.Join(all[0].Tags, ",") != "y,x" || all[0].ChangedAt == 0 {
		t.Fatalf("SearchDocs %+v", all)
	}
	first, _ := s.SearchDocs(ctx, 0, meta.DocCursor{}, 1)
	page, _ := s.SearchDocs(ctx, 0, meta.DocCursor{ChangedAt: first[0].ChangedAt, ID: first[0].Repo.ID}, 10)
	if len(first) != 1 || len(page) != 1 || page[0].Repo.ID == first[0].Repo.ID {
		t.Fatalf("paging %+v %+v", first, page)
	}
	// Only what changed since a stamp comes back.
	stamp := max(all[0].ChangedAt, all[1].ChangedAt) + 1
	time.Sleep(5 * time.Millisecond)
	_, err = s.SetLike(ctx, mkUser(t, s, "sdliker").ID, priv.ID, true)
	must(t, err)
	changed, _ := s.SearchDocs(ctx, stamp, meta.DocCursor{}, 10)
	if len(changed) != 1 || changed[0].Repo.ID != priv.ID || changed[0].Repo.Likes != 1 {
		t.Fatalf("changed since %d: %+v", stamp, changed)
	}
	ls, err := s.ReposByIDs(ctx, []int64{pub.ID, priv.ID, 99999}, false, nil)
	must(t, err)
	if len(ls) != 1 || ls[0].Repo.ID != pub.ID || strings.Join(ls[0].Meta.Tags, ",") != "y,x" {
		t.Fatalf("ReposByIDs anonymous %+v", ls)
	}
	ls, _ = s.ReposByIDs(ctx, []int64{pub.ID, priv.ID}, false, []string{"SD"})
	if len(ls) != 2 {
		t.Fatalf("ReposByIDs owner %+v", ls)
	}
	// A listing row carries the stamp the feed has for it.
	for _, l := range ls {
		if want := map[int64]int64{all[0].Repo.ID: all[0].ChangedAt, changed[0].Repo.ID: changed[0].ChangedAt}[l.Repo.ID]; l.ChangedAt != want {
			t.Fatalf("ReposByIDs %d: stamp %d, want %d", l.Repo.ID, l.ChangedAt, want)
		}
	}
	// A deletion comes back as a tombstone, in stamp order, and paging
	// goes past it.
	stamp = changed[0].ChangedAt + 1
	time.Sleep(5 * time.Millisecond)
	must(t, s.DeleteRepo(ctx, pub.ID))
	time.Sleep(5 * time.Millisecond)
	_, err = s.SetLike(ctx, mkUser(t, s, "sdliker2").ID, priv.ID, true)
	must(t, err)
	changed, err = s.SearchDocs(ctx, stamp, meta.DocCursor{}, 10)
	must(t, err)
	if len(changed) != 2 || !changed[0].Deleted || changed[0].Repo.ID != pub.ID || changed[1].Deleted || changed[1].Repo.ID != priv.ID {
		t.Fatalf("changes after a delete: %+v", changed)
	}
	rest, err := s.SearchDocs(ctx, stamp, meta.DocCursor{ChangedAt: changed[0].ChangedAt, ID: changed[0].Repo.ID}, 1)
	must(t, err)
	if len(rest) != 1 || rest[0].Repo.ID != priv.ID {
		t.Fatalf("page after the tombstone: %+v", rest)
	}
	// Recreating the repository (SQLite may reuse its id) clears it.
	again := mkRepo(t, s, meta.TypeModel, "sd", "public", false)
	all, err = s.SearchDocs(ctx, 0, meta.DocCursor{}, 100)
	must(t, err)
	for _, d := range all {
		if d.Deleted && d.Repo.ID == again.ID {
			t.Fatalf("tombstone kept for a live repository: %+v", d)
		}
	}
}
