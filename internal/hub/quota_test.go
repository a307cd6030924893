package hub

import (
	"bytes"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
)

// TestQuota: a namespace's quota refuses the uploads that would exceed it
// where they start (preupload for regular files, the LFS batch for LFS
// objects), counts only what is new, and binds every uploader.
func TestQuota(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	bobRef := RepoRef{Type: TypeModel, Namespace: "bob", Name: "b"}
	if _, err := f.s.CreateRepo(ctx, f.bob, bobRef, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := f.s.NamespaceStorage(ctx, f.alice, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.Limit != -1 || st.Git == 0 || st.LFS != 0 {
		t.Fatalf("before any quota: %+v", st)
	}
	if err := f.m.SetQuota(ctx, "alice", st.Used()+10_000); err != nil {
		t.Fatal(err)
	}
	blob := func(seed byte, n int) ([]byte, LFSObject) {
		data := bytes.Repeat([]byte{seed, 0}, n/2)
		return data, LFSObject{OID: sha(data), Size: int64(len(data))}
	}
	stored, storedObj := blob(1, 8000)
	_, big := blob(2, 12_000)
	_, small := blob(3, 3000)

	batch := func(who *auth.Identity, ref RepoRef, objs ...LFSObject) error {
		_, err := f.s.LFSBatch(ctx, who, ref, "upload", objs, []string{"basic"})
		return err
	}
	preupload := func(sizes ...int64) error {
		var files []PreuploadFile
		for i, n := range sizes {
			// Text below the LFS threshold (1 KiB here): regular files.
			files = append(files, PreuploadFile{Path: strings.Repeat("f", i+1) + ".txt", Sample: []byte("text"), Size: n})
		}
		_, _, err := f.s.Preupload(ctx, f.alice, modelRef, "main", files, nil, nil)
		return err
	}
	steps := []struct {
		name string
		do   func() error
		want error // nil or ErrQuotaExceeded
	}{
		{"LFS batch within the quota", func() error { return batch(f.alice, modelRef, storedObj) }, nil},
		{"LFS batch past the quota", func() error { return batch(f.alice, modelRef, big) }, ErrQuotaExceeded},
		{"an administrator uploading there is bound too", func() error { return batch(f.admin, modelRef, big) }, ErrQuotaExceeded},
		{"other namespaces are not", func() error { return batch(f.bob, bobRef, big) }, nil},
		{"upload the 8000 bytes", func() error {
			acts, err := f.s.LFSBatch(ctx, f.alice, modelRef, "upload", []LFSObject{storedObj}, nil)
			if err != nil {
				return err
			}
			if err := f.s.UploadLFS(ctx, acts[0].Upload.Token, storedObj.Size, bytes.NewReader(stored)); err != nil {
				return err
			}
			return f.s.VerifyLFS(ctx, f.alice, modelRef, storedObj.OID, storedObj.Size)
		}, nil},
		{"an object the repository holds costs nothing", func() error { return batch(f.alice, modelRef, storedObj, storedObj) }, nil},
		{"what is left is 2000 bytes", func() error { return batch(f.alice, modelRef, small) }, ErrQuotaExceeded},
		{"preupload of regular files within it", func() error { return preupload(900, 900) }, nil},
		{"preupload of regular files past it", func() error { return preupload(900, 900, 900) }, ErrQuotaExceeded},
		{"preupload of an LFS file counts at its batch", func() error {
			_, _, err := f.s.Preupload(ctx, f.alice, modelRef, "main", []PreuploadFile{{Path: "w.bin", Sample: []byte{0}, Size: 1 << 30}}, nil, nil)
			return err
		}, nil},
		{"quota removed", func() error {
			if err := f.m.SetQuota(ctx, "ALICE", -1); err != nil {
				return err
			}
			return batch(f.alice, modelRef, big)
		}, nil},
	}
	for _, s := range steps {
		err := s.do()
		if s.want == nil {
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			continue
		}
		wantKind(t, err, s.want)
		wantKind(t, err, ErrForbidden) // the Hub answers 403
		if he, ok := AsError(err); !ok || !strings.Contains(he.Msg, "Storage quota of alice reached") {
			t.Fatalf("%s: message %v", s.name, err)
		}
	}

	st, err = f.s.NamespaceStorage(ctx, f.admin, "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if st.LFS != 8000 || st.Limit != -1 {
		t.Errorf("admin's view of alice: %+v", st)
	}
	_, err = f.s.NamespaceStorage(ctx, f.bob, "alice")
	wantKind(t, err, ErrForbidden)
	_, err = f.s.NamespaceStorage(ctx, nil, "alice")
	wantKind(t, err, ErrUnauthenticated)
}
