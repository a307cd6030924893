package card

import (
	"slices"
	"testing"
)

func TestDatasetTags(t *testing.T) {
	for _, tc := range []struct {
		name, card string
		want       []string
	}{
		{"no card", "", nil},
		{"push_to_hub, one config", `---
dataset_info:
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
  splits:
  - name: train
    num_bytes: 120
    num_examples: 800
  - name: test
    num_examples: 300
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
`, []string{"size_categories:1K<n<10K", "modality:text"}},
		{"stated categories win over row counts", `---
task_categories: [text-classification]
task_ids: [sentiment-classification]
size_categories: [n<1K]
dataset_info:
  splits:
  - name: train
    num_examples: 5000000
---
`, []string{"task_categories:text-classification", "task_ids:sentiment-classification", "size_categories:n<1K"}},
		{"several configs: the largest counts", `---
dataset_info:
- config_name: small
  features:
  - name: img
    dtype: image
  - name: x
    dtype: float32
  splits:
  - name: train
    num_examples: 10
- config_name: big
  features:
  - name: clip
    dtype: audio
  - name: y
    dtype: int64
  splits:
  - name: train
    num_examples: 150000
---
`, []string{"size_categories:100K<n<1M", "modality:image", "modality:audio", "modality:tabular"}},
		{"nested text in a chat list", `---
dataset_info:
  features:
  - name: messages
    list:
    - name: role
      dtype: string
    - name: content
      dtype: string
  - name: tokens
    sequence: int32
---
`, []string{"modality:text"}},
		{"malformed values are skipped", `---
dataset_info:
  features: 7
  splits:
  - name: train
    num_examples: -4
  - 12
---
`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DatasetTags(Parse([]byte(tc.card))); !slices.Equal(got, tc.want) {
				t.Errorf("DatasetTags = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSizeCategory(t *testing.T) {
	for rows, want := range map[int64]string{0: "n<1K", 999: "n<1K", 1000: "1K<n<10K", 999_999: "100K<n<1M",
		1_000_000: "1M<n<10M", 5e11: "100B<n<1T", 2e12: "n>1T"} {
		if got := SizeCategory(rows); got != want || !sizeCategorySet[got] {
			t.Errorf("SizeCategory(%d) = %q, want %q (a valid category)", rows, got, want)
		}
	}
}
