package hubapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/wire"
)

// mapInfoJSON is how model_info was encoded before infojson.go: one map
// given to json.Marshal. The pairs must give the same bytes.
func mapInfoJSON(info *hub.RepoInfo, blobs, model bool, children int64) []byte {
	l := hub.Listing{Repo: *info.Repo, Meta: info.Meta}
	m := repoJSON(&l)
	addDerived(m, info.Meta)
	m["sha"] = info.Revision.Commit.String()
	m["lastModified"] = isoTime(info.Commit.Committer.When)
	sib := make([]wire.Sibling, 0, len(info.Siblings))
	var used int64
	for _, e := range info.Siblings {
		s := wire.Sibling{RFilename: e.Path}
		if blobs {
			size := e.Size
			s.Size, s.BlobID = &size, e.OID.String()
			if e.LFS != nil {
				s.LFS = &wire.SiblingLFS{Size: e.LFS.Size, SHA256: e.LFS.OID, PointerSize: e.PointerSize}
			}
		}
		used += e.Size
		sib = append(sib, s)
	}
	m["siblings"] = sib
	m["usedStorage"] = used
	if model {
		m["spaces"] = []string{}
		m["childrenModelCount"] = children
	}
	b, _ := json.Marshal(m)
	return b
}

func TestInfoPairsMatchMap(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	commit := &gitobj.Commit{Committer: gitobj.Signature{When: when}}
	lfs := &gitobj.Pointer{OID: "ab", Size: 1 << 40}
	repo := func(typ, gated string, private bool) *hub.Repo {
		return &hub.Repo{ID: 7, PublicID: "0123", Type: typ, Namespace: "Org<&>", Name: "m", Private: private, Gated: gated,
			Downloads: 5, Likes: 2, Trending: 12345, CreatedAt: when, UpdatedAt: when.Add(time.Hour)}
	}
	tests := []struct {
		name  string
		info  hub.RepoInfo
		blobs bool
		model bool
	}{
		{"no metadata", hub.RepoInfo{Repo: repo(hub.TypeModel, "", false), Commit: commit}, false, true},
		{"dataset, gated, private", hub.RepoInfo{Repo: repo(hub.TypeDataset, "manual", true), Commit: commit,
			Meta: &hub.RepoMeta{Tags: []string{"a", "<b>"}, CardError: "bad <yaml> & more"}}, true, false},
		{"derived fields override the row", hub.RepoInfo{Repo: repo(hub.TypeModel, "auto", false), Commit: commit,
			Meta: &hub.RepoMeta{PipelineTag: "text-generation", LibraryName: "transformers", Tags: []string{"x"},
				CardData: []byte(`{ "license": "mit", "html": "<b>&</b>" }`),
				Info:     []byte(`{"config": {"model_type": "llama"}, "downloads": 99, "tags": ["y"], "gguf": null}`)},
			Siblings: []hub.Entry{{Type: "file", Path: "README.md", Size: 10}, {Type: "file", Path: "w.bin", Size: 1 << 40, LFS: lfs, PointerSize: 130}}},
			true, true},
		{"strings that need escaping, odd keys", hub.RepoInfo{Repo: &hub.Repo{ID: 8, PublicID: "x\"y", Type: hub.TypeModel, Namespace: "ns\u2028é",
			Name: "tab\there", CreatedAt: when, UpdatedAt: when}, Commit: commit,
			Meta: &hub.RepoMeta{Tags: []string{"\x01", "ünï", "a\\b"}, Info: []byte(`{"Zeta": 1, "_a": 2, "\u00e9": 3, "a<b": 4, "spaces": ["s"]}`)}},
			true, true},
		{"siblings without blobs", hub.RepoInfo{Repo: repo(hub.TypeModel, "", false), Commit: commit,
			Siblings: []hub.Entry{{Type: "file", Path: "a/b.json", Size: 3}}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{}
			want := mapInfoJSON(&tt.info, tt.blobs, tt.model, 3)
			l := hub.Listing{Repo: *tt.info.Repo, Meta: tt.info.Meta}
			row := listRow(&l)
			for range 2 { // the second time from the cache
				p := rowPairs(nil, &row)
				p = append(p, h.commitPairs(&tt.info, tt.blobs)...)
				if tt.model {
					p = append(p, pair{"spaces", []byte("[]")}, pair{"childrenModelCount", []byte("3")})
				}
				if got := appendObject(nil, p); string(got) != string(want) {
					t.Fatalf("pairs:\n%s\nmap:\n%s", got, want)
				}
			}
		})
	}
}
