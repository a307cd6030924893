package hub

import (
	"slices"
	"testing"

	"github.com/agorahub/agora/internal/formats/card"
)

func TestDatasetFileTags(t *testing.T) {
	files := func(paths ...string) []Entry {
		var out []Entry
		for _, p := range paths {
			out = append(out, Entry{Type: "file", Path: p})
		}
		return append(out, Entry{Type: "directory", Path: "data"})
	}
	tabular := []string{"library:datasets", "library:pandas", "library:polars"}
	for _, tc := range []struct {
		name  string
		files []Entry
		want  []string
	}{
		{"no data", files("README.md", ".gitattributes", "notes.md"), nil},
		{"push_to_hub", files("README.md", "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"),
			append([]string{"format:parquet"}, tabular...)},
		{"compressed JSON lines", files("train.jsonl.gz", "test.JSONL.gz", "README.md"), append([]string{"format:json"}, tabular...)},
		{"the most common wins", files("a.csv", "b.csv", "c.parquet"), append([]string{"format:csv"}, tabular...)},
		{"a tie goes to the first builder", files("a.csv", "b.parquet"), append([]string{"format:parquet"}, tabular...)},
		{"save_to_disk", files("data-00000-of-00001.arrow", "dataset_info.json", "state.json"), []string{"format:arrow", "library:datasets"}},
		{"images with a metadata table", files("train/a.png", "train/b.JPG", "train/metadata.csv"),
			[]string{"format:imagefolder", "modality:image", "library:datasets"}},
		{"hidden files do not count", files(".cache/x.parquet", "a/.hidden.csv", "x.txt"), []string{"format:text", "library:datasets"}},
		{"shards", files("shard-000.tar", "shard-001.tar"), []string{"format:webdataset", "library:datasets", "library:webdataset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := datasetFileTags(tc.files); !slices.Equal(got, tc.want) {
				t.Errorf("datasetFileTags = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTagVocabularyCoversDerivedTags: every tag derived from a dataset's
// files or row counts is one get_dataset_tags lists, so a client can
// offer it as a filter.
func TestTagVocabularyCoversDerivedTags(t *testing.T) {
	known := map[string]bool{}
	for _, tags := range TagsByType(TypeDataset) {
		for _, tag := range tags {
			known[tag] = true
		}
	}
	for _, b := range dataBuilders {
		for _, ext := range b.exts {
			for _, tag := range datasetFileTags([]Entry{{Type: "file", Path: "data/x" + ext}}) {
				if !known[tag] {
					t.Errorf("%s: tag %q is not in the vocabulary", ext, tag)
				}
			}
		}
	}
	for rows := int64(1); rows < 1e13; rows *= 7 {
		if tag := "size_categories:" + card.SizeCategory(rows); !known[tag] {
			t.Errorf("%d rows: %q is not in the vocabulary", rows, tag)
		}
	}
}
