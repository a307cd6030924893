package gitproto

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
)

var coldPacks = flag.Bool("clone.cold", false, "BenchmarkClone: compress every object of every pack")

func buildRepo(ctx context.Context, svc *hub.Service, who *auth.Identity, files, commits int) (gitobj.ID, error) {
	ref := hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "pub"}
	g, err := svc.OpenGitRepo(ctx, who, ref, true)
	if err != nil {
		return gitobj.ZeroID, err
	}
	_, refs, err := g.Refs(ctx)
	if err != nil {
		return gitobj.ZeroID, err
	}
	parent := refs[0].ID
	objs := map[gitobj.ID]gitobj.Object{}
	add := func(o gitobj.Object) gitobj.ID { objs[o.ID()] = o; return o.ID() }
	content := make([][]byte, files)
	dirs := make([][]gitobj.TreeEntry, (files+99)/100)
	for i := range content {
		content[i] = fmt.Appendf(nil, "file %d %0400d\n", i, i*7919)
	}
	for c := 0; c < commits; c++ {
		if c > 0 {
			for k := 0; k < 5; k++ {
				i := (c*37 + k*1013) % files
				content[i] = fmt.Appendf(content[i], "commit %d\n", c)
			}
		}
		var root []gitobj.TreeEntry
		for d := range dirs {
			var ents []gitobj.TreeEntry
			for i := d * 100; i < min(files, d*100+100); i++ {
				ents = append(ents, gitobj.TreeEntry{Mode: gitobj.ModeFile, Name: fmt.Sprintf("f%05d.txt", i), ID: add(gitobj.Object{Kind: gitobj.KindBlob, Data: content[i]})})
			}
			data, _ := gitobj.EncodeTree(ents)
			root = append(root, gitobj.TreeEntry{Mode: gitobj.ModeTree, Name: fmt.Sprintf("d%03d", d), ID: add(gitobj.Object{Kind: gitobj.KindTree, Data: data})})
		}
		data, _ := gitobj.EncodeTree(root)
		tree := add(gitobj.Object{Kind: gitobj.KindTree, Data: data})
		sig := gitobj.Signature{Name: "b", Email: "b@x", When: time.Unix(1_700_000_000+int64(c), 0).UTC()}
		parent = add(gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: tree, Parents: []gitobj.ID{parent}, Author: sig, Committer: sig, Message: "c\n"}).Encode()})
	}
	reasons, err := g.Push(ctx, []hub.RefUpdate{{Name: "refs/heads/main", Old: refs[0].ID, New: parent}}, &hub.PushPack{Objects: objs})
	if err != nil {
		return gitobj.ZeroID, err
	}
	if reasons[0] != "" {
		return gitobj.ZeroID, fmt.Errorf("push: %s", reasons[0])
	}
	return parent, nil
}

// BenchmarkClone plans and writes (to io.Discard) the pack of a clone of
// a repository of 10,000 small files and 200 commits, as bench/gitclone.sh
// makes, with warm caches (objects and compressed objects); with
// -clone.cold each pack starts with an empty cache of compressed objects.
func BenchmarkClone(b *testing.B) {
	th := newTestHub(b, Config{})
	who, _ := th.svc.Authenticate(b.Context(), auth.Secret(th.token))
	head, err := buildRepo(b.Context(), th.svc, who, 10000, 200)
	if err != nil {
		b.Fatal(err)
	}
	g, err := th.svc.OpenGitRepo(b.Context(), nil, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "pub"}, false)
	if err != nil {
		b.Fatal(err)
	}
	h := New(slog.New(slog.DiscardHandler), nil, th.svc, Config{})
	for b.Loop() {
		plan, err := g.PlanFetch(b.Context(), hub.FetchRequest{Wants: []gitobj.ID{head}})
		if err != nil {
			b.Fatal(err)
		}
		if *coldPacks {
			h.packs = newPackCache(DefaultPackCacheBytes)
		}
		if err := h.writePack(b.Context(), g, io.Discard, plan.Objects); err != nil {
			b.Fatal(err)
		}
	}
}
