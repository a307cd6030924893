package gitproto

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
)

// TestWritePack: a pack written from compressed objects, cold or from the
// cache, has the bytes of one written object by object; a missing object
// fails the pack without leaving the workers behind.
func TestWritePack(t *testing.T) {
	th := newTestHub(t, Config{})
	ctx := t.Context()
	who, err := th.svc.Authenticate(ctx, auth.Secret(th.token))
	if err != nil {
		t.Fatal(err)
	}
	head, err := buildRepo(ctx, th.svc, who, 300, 4)
	if err != nil {
		t.Fatal(err)
	}
	g, err := th.svc.OpenGitRepo(ctx, nil, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "pub"}, false)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := g.PlanFetch(ctx, hub.FetchRequest{Wants: []gitobj.ID{head}})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	pw, _ := packfile.NewWriter(&want, uint32(len(plan.Objects)))
	for _, po := range plan.Objects {
		o, err := g.Object(ctx, po.ID)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(o)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	h := New(slog.New(slog.DiscardHandler), nil, th.svc, Config{})
	for _, run := range []string{"cold", "warm"} {
		var got bytes.Buffer
		if err := h.writePack(ctx, g, &got, plan.Objects); err != nil {
			t.Fatalf("%s: %v", run, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%s: the pack differs from one written object by object", run)
		}
	}
	// A missing object early in a long plan: the writer stops with an
	// error, and the feeder and workers end (the test would hang).
	broken := append([]hub.PackObject{plan.Objects[0], {ID: gitobj.ID{1, 2, 3}, Kind: gitobj.KindBlob}}, plan.Objects...)
	for range 3 {
		broken = append(broken, broken...)
	}
	h = New(slog.New(slog.DiscardHandler), nil, th.svc, Config{})
	if err := h.writePack(ctx, g, &bytes.Buffer{}, broken); err == nil {
		t.Fatal("a pack with a missing object was written")
	}
}
