package hub

import "github.com/agorahub/agora/internal/formats/card"

// TagsByType is the vocabulary listings filter on, by tag type, as the
// tags themselves (what get_model_tags and get_dataset_tags return): the
// Hub's tasks, licenses and dataset categories, and the tags this hub
// derives from files.
func TagsByType(repoType string) map[string][]string {
	prefixed := func(prefix string, vals []string) []string {
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = prefix + v
		}
		return out
	}
	if repoType == TypeModel {
		return map[string][]string{
			"pipeline_tag": card.Vocabulary("pipeline_tag"),
			"license":      prefixed("license:", card.Vocabulary("license")),
			"library":      {"transformers", "peft", "safetensors", "gguf"},
		}
	}
	var formats []string
	for _, b := range dataBuilders {
		formats = append(formats, "format:"+b.builder)
	}
	return map[string][]string{
		"task_categories": prefixed("task_categories:", card.Vocabulary("task_categories")),
		"task_ids":        prefixed("task_ids:", card.Vocabulary("task_ids")),
		"size_categories": prefixed("size_categories:", card.Vocabulary("size_categories")),
		"license":         prefixed("license:", card.Vocabulary("license")),
		"modality":        {"modality:image", "modality:audio", "modality:video", "modality:tabular", "modality:text"},
		"format":          formats,
		"library":         {"library:datasets", "library:pandas", "library:polars", "library:webdataset"},
	}
}
