package hubapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// TestListRowMatchesMap: plain listings encode repoRow directly, everything
// else its map form; both must write the same JSON object.
func TestListRowMatchesMap(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	repo := meta.Repo{PublicID: "0123456789abcdef01234567", Type: meta.TypeModel, Namespace: "Org", Name: "Model-7B",
		Downloads: 12, DownloadsAllTime: 40, Trending: 7500, Likes: 3, CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	gatedDataset := repo
	gatedDataset.Type, gatedDataset.Gated, gatedDataset.Private = meta.TypeDataset, "manual", true
	tests := []struct {
		name string
		l    hub.Listing
	}{
		{"model without metadata", hub.Listing{Repo: repo}},
		{"model with metadata", hub.Listing{Repo: repo, Meta: &meta.RepoMeta{Tags: []string{"b", "a"}, PipelineTag: "text-generation", LibraryName: "transformers"}}},
		{"model with empty metadata", hub.Listing{Repo: repo, Meta: &meta.RepoMeta{}}},
		{"gated private dataset", hub.Listing{Repo: gatedDataset, Meta: &meta.RepoMeta{Tags: []string{"x"}, PipelineTag: "ignored"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decode := func(v any) map[string]any {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
			row, m := decode(listRow(&tc.l)), decode(repoJSON(&tc.l))
			if !reflect.DeepEqual(row, m) {
				t.Fatalf("row %v\nmap %v", row, m)
			}
			if _, ok := row["tags"].([]any); !ok {
				t.Fatalf("tags must be a list: %v", row["tags"])
			}
		})
	}
}
