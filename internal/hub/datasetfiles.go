package hub

import (
	"path"
	"strings"
)

// dataBuilders maps a data file's extension to the loader the datasets
// library picks for it, in the order that breaks a tie.
var dataBuilders = []struct {
	builder string
	exts    []string
}{
	{"parquet", []string{".parquet"}},
	{"csv", []string{".csv", ".tsv"}},
	{"json", []string{".json", ".jsonl", ".ndjson"}},
	{"arrow", []string{".arrow"}},
	{"text", []string{".txt"}},
	{"imagefolder", []string{".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}},
	{"audiofolder", []string{".wav", ".mp3", ".flac", ".ogg", ".m4a"}},
	{"videofolder", []string{".mp4", ".webm", ".mov", ".avi", ".mkv"}},
	{"webdataset", []string{".tar"}},
}

// datasetFileTags returns the tags a dataset's data files give it: the
// format the datasets library would load them with ("format:<builder>",
// the most common one, as the library infers it), the modality a folder
// format implies, and the libraries that read that format.
func datasetFileTags(files []Entry) []string {
	counts := make([]int, len(dataBuilders))
	for _, e := range files {
		if e.Type != "file" || hiddenOrCard(e.Path) {
			continue
		}
		ext := strings.ToLower(path.Ext(e.Path))
		switch ext {
		case ".gz", ".bz2", ".xz", ".zst", ".lz4":
			// Compressed data files load through the inner extension.
			ext = strings.ToLower(path.Ext(strings.TrimSuffix(e.Path, path.Ext(e.Path))))
		}
		for i, b := range dataBuilders {
			for _, x := range b.exts {
				if ext == x {
					counts[i]++
				}
			}
		}
	}
	best := -1
	for i, n := range counts {
		if n > 0 && (best < 0 || n > counts[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := dataBuilders[best].builder
	tags := []string{"format:" + b}
	switch b {
	case "imagefolder":
		tags = append(tags, "modality:image")
	case "audiofolder":
		tags = append(tags, "modality:audio")
	case "videofolder":
		tags = append(tags, "modality:video")
	}
	tags = append(tags, "library:datasets")
	switch b {
	case "parquet", "csv", "json":
		tags = append(tags, "library:pandas", "library:polars")
	case "webdataset":
		tags = append(tags, "library:webdataset")
	}
	return tags
}

// notData are files beside the data that describe it: what
// save_to_disk writes next to its Arrow files, and the metadata tables of
// folder datasets.
var notData = map[string]bool{"dataset_info.json": true, "dataset_infos.json": true, "state.json": true,
	"dataset_dict.json": true, "metadata.csv": true, "metadata.jsonl": true, "metadata.parquet": true}

// hiddenOrCard reports files that are not data: the card, description
// files, and anything in or named as a hidden path (.gitattributes,
// .cache/…).
func hiddenOrCard(p string) bool {
	if p == "README.md" || notData[path.Base(p)] {
		return true
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
