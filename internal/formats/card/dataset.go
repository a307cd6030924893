package card

import "slices"

// DatasetTags returns the tags the Hub derives from a dataset card, in
// this order, without duplicates:
//
//  1. "task_categories:<c>" and "task_ids:<id>" as written;
//  2. "size_categories:<c>": the card's own, or else the bucket of the
//     largest configuration's row count in dataset_info (what
//     `push_to_hub` writes);
//  3. "modality:<m>" from dataset_info's features, outermost types
//     first: image, audio and video columns give their modality, a
//     string column "text", and two or more numeric columns "tabular".
//
// Tags from the data files (format:, library:) are the caller's: they
// need the file list, not the card.
func DatasetTags(c Card) []string {
	var tags []string
	seen := map[string]bool{}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	for _, t := range c.list("task_categories") {
		add("task_categories:" + t)
	}
	for _, t := range c.list("task_ids") {
		add("task_ids:" + t)
	}
	infos := datasetInfos(c.Data["dataset_info"])
	if stated := c.list("size_categories"); len(stated) > 0 {
		for _, s := range stated {
			add("size_categories:" + s)
		}
	} else if rows, ok := largestRowCount(infos); ok {
		add("size_categories:" + SizeCategory(rows))
	}
	for _, m := range modalities(infos) {
		add("modality:" + m)
	}
	return tags
}

// SizeCategory is the size_categories bucket of a row count.
func SizeCategory(rows int64) string {
	bounds := []struct {
		below int64
		name  string
	}{
		{1e3, "n<1K"}, {1e4, "1K<n<10K"}, {1e5, "10K<n<100K"}, {1e6, "100K<n<1M"},
		{1e7, "1M<n<10M"}, {1e8, "10M<n<100M"}, {1e9, "100M<n<1B"}, {1e10, "1B<n<10B"},
		{1e11, "10B<n<100B"}, {1e12, "100B<n<1T"},
	}
	for _, b := range bounds {
		if rows < b.below {
			return b.name
		}
	}
	return "n>1T"
}

// datasetInfos returns the configurations of dataset_info: one map, or a
// list of them (one per config_name).
func datasetInfos(v any) []map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return []map[string]any{x}
	case []any:
		var out []map[string]any
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// largestRowCount sums each configuration's num_examples over its splits
// and returns the largest sum.
func largestRowCount(infos []map[string]any) (int64, bool) {
	var best int64
	found := false
	for _, info := range infos {
		splits, _ := info["splits"].([]any)
		var sum int64
		counted := false
		for _, s := range splits {
			sm, _ := s.(map[string]any)
			if n, ok := count(sm["num_examples"]); ok {
				sum += n
				counted = true
			}
		}
		if counted && (!found || sum > best) {
			best, found = sum, true
		}
	}
	return best, found
}

// count reads a non-negative integer as the YAML decoder gives it.
func count(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, n >= 0
	case uint64:
		return int64(min(n, 1<<62)), true
	case float64:
		if n >= 0 && n < 1<<62 && n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

// modalities reads the features of every configuration. A feature is a
// map with "name" and one of "dtype" (a string, or a map such as
// {class_label: …}), "sequence", "list" or "struct" (nested features).
func modalities(infos []map[string]any) []string {
	found := map[string]bool{}
	numeric := 0
	var walk func(v any, top bool)
	walk = func(v any, top bool) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, top)
			}
		case map[string]any:
			if d, ok := x["dtype"].(string); ok {
				switch d {
				case "image", "audio", "video":
					found[d] = true
				case "string", "large_string":
					found["text"] = true
				case "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
					"float16", "float32", "float64":
					if top {
						numeric++
					}
				}
				return
			}
			for _, k := range []string{"sequence", "list", "struct", "dtype", "feature"} {
				if sub, ok := x[k]; ok {
					walk(sub, false)
				}
			}
		case string:
			// The short form of a nested type ("sequence: string").
			walk(map[string]any{"dtype": x}, false)
		}
	}
	for _, info := range infos {
		walk(info["features"], true)
	}
	if numeric >= 2 {
		found["tabular"] = true
	}
	var out []string
	for _, m := range []string{"image", "audio", "video", "tabular", "text"} {
		if found[m] {
			out = append(out, m)
		}
	}
	return out
}

// Vocabulary returns the tag values the Hub knows for a card field, in
// the Hub's order: "pipeline_tag" and "task_categories" (the tasks),
// "task_ids", "size_categories" and "license". Nil for other fields.
func Vocabulary(field string) []string {
	switch field {
	case "pipeline_tag", "task_categories":
		return slices.Clone(pipelineTypes)
	case "task_ids":
		return slices.Clone(subtaskTypes)
	case "size_categories":
		return slices.DeleteFunc(slices.Clone(sizeCategories), func(s string) bool { return s == "other" })
	case "license":
		return slices.Clone(hubLicenseIDs)
	}
	return nil
}
