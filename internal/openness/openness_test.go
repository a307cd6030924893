package openness

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const apacheText = `
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
`

const llama3Text = `META LLAMA 3 COMMUNITY LICENSE AGREEMENT
Meta Llama 3 Version Release Date: April 18, 2024`

const mitText = `MIT License

Copyright (c) 2023 DeepSeek

Permission is hereby granted, free of charge, to any person obtaining a copy`

const deepseekText = `DEEPSEEK LICENSE AGREEMENT
Version 1.0, 23 October 2023`

// prose is filler of n words.
func prose(n int) string {
	return strings.TrimSpace(strings.Repeat("The model was trained carefully. ", n/5+1))
}

// card is the README of a well-documented release: a description, a
// training-data section, an evaluation table and a link to its technical
// report.
var documentedReadme = `
# Acme-7B

` + prose(60) + `

## Training Data

Acme-7B was pretrained on a mixture of web pages, code and books totalling two trillion tokens.

## Evaluation

| Benchmark | Score |
|-----------|-------|
| MMLU      | 61.2  |

Technical report: https://arxiv.org/abs/2401.00001
`

var acmeModelIndex = []any{map[string]any{
	"name": "Acme-7B",
	"results": []any{map[string]any{
		"task":    map[string]any{"type": "text-generation"},
		"dataset": map[string]any{"type": "cais/mmlu", "name": "MMLU"},
		"metrics": []any{map[string]any{"type": "acc", "value": 61.2}},
	}},
}}

var weights = []string{"README.md", ".gitattributes", "config.json", "generation_config.json",
	"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
	"tokenizer.json", "tokenizer_config.json"}

func files(extra ...string) []string { return append(slices.Clone(weights), extra...) }

func apacheCard(extra map[string]any) map[string]any {
	c := map[string]any{"license": "apache-2.0", "library_name": "transformers", "model-index": acmeModelIndex}
	maps.Copy(c, extra)
	return c
}

func status(r Result, id int) string {
	for _, c := range r.Components {
		if c.ID == id {
			return c.Status
		}
	}
	return "absent"
}

func component(r Result, id int) Component {
	for _, c := range r.Components {
		if c.ID == id {
			return c
		}
	}
	return Component{}
}

func TestClassify(t *testing.T) {
	classII := Input{
		Files:  files("train.py", "scripts/evaluate.py"),
		Card:   apacheCard(nil),
		Readme: documentedReadme,
	}
	classI := Input{
		Files: files("train.py", "scripts/evaluate.py"),
		Card:  apacheCard(map[string]any{"datasets": []any{"allenai/dolma"}}),
		Readme: documentedReadme + `
Data processing pipeline: https://github.com/allenai/dolma
`,
		Datasets: map[string]Dataset{"allenai/dolma": {License: "ODC-By-1.0", HasCard: true}, "cais/mmlu": {License: "mit", HasCard: true}},
		Branches: []string{"main", "stage1-step1000-tokens4B"},
	}
	nonOpenData := classI
	nonOpenData.Datasets = map[string]Dataset{"allenai/dolma": {License: "cc-by-nc-4.0"}}

	tests := []struct {
		name    string
		in      Input
		class   int
		tags    []string
		statuss map[int]string // expected statuses of some components
	}{
		{
			name:  "empty repository",
			in:    Input{},
			class: 0, tags: []string{"openness:none"},
			statuss: map[int]string{IDFinalParameters: StatusMissing, IDModelCard: StatusMissing, IDArchitecture: StatusMissing},
		},
		{
			name:  "weights only, restrictive license",
			in:    Input{Files: files(), Card: map[string]any{"license": "llama3", "library_name": "transformers"}, Readme: documentedReadme},
			class: 0, tags: []string{"openness:none"},
			statuss: map[int]string{
				IDFinalParameters: StatusNonOpen, IDModelCard: StatusNonOpen,
				// The architecture is in transformers, whatever the weights' license.
				IDArchitecture: StatusPresent,
			},
		},
		{
			name:  "Apache weights with a bare card",
			in:    Input{Files: files(), Card: map[string]any{"license": "apache-2.0"}, Readme: "# Acme\n\nWeights."},
			class: 0, tags: []string{"openness:none"},
			statuss: map[int]string{
				IDFinalParameters: StatusPresent, IDArchitecture: StatusPresent,
				IDModelCard: StatusMissing, IDEvaluationResults: StatusMissing, IDTechnicalReport: StatusMissing,
			},
		},
		{
			name:  "Class III: Apache weights, config, documented card",
			in:    Input{Files: files(), Card: apacheCard(nil), Readme: documentedReadme},
			class: 3, tags: []string{"openness:class-3"},
			statuss: map[int]string{
				IDArchitecture: StatusPresent, IDFinalParameters: StatusPresent, IDEvaluationResults: StatusPresent,
				IDModelCard: StatusPresent, IDDataCard: StatusPresent, IDTechnicalReport: StatusPresent,
				IDTrainingCode: StatusMissing, IDInferenceCode: StatusPresent, IDEvaluationData: StatusPresent,
			},
		},
		{
			name:  "Class II: plus training and evaluation code",
			in:    classII,
			class: 2, tags: []string{"openness:class-2", "openness:class-3"},
			statuss: map[int]string{
				IDTrainingCode: StatusPresent, IDEvaluationCode: StatusPresent, IDInferenceCode: StatusPresent,
				IDEvaluationData: StatusPresent, IDResearchPaper: StatusPresent, IDDatasets: StatusMissing,
			},
		},
		{
			name:  "Class I: plus open datasets, preprocessing code, checkpoints, paper",
			in:    classI,
			class: 1, tags: []string{"openness:class-1", "openness:class-2", "openness:class-3"},
			statuss: map[int]string{
				IDDatasets: StatusPresent, IDPreprocessingCode: StatusPresent, IDIntermediateParams: StatusPresent,
				IDResearchPaper: StatusPresent, IDModelMetadata: StatusMissing,
			},
		},
		{
			name:  "non-commercial training data stops at Class II",
			in:    nonOpenData,
			class: 2, tags: []string{"openness:class-2", "openness:class-3"},
			statuss: map[int]string{IDDatasets: StatusNonOpen, IDDataCard: StatusPresent},
		},
		{
			name: "Class II through links: training code repo, evaluation harness",
			in: Input{
				Files: files(),
				Card:  apacheCard(nil),
				Readme: documentedReadme + `
- Training code: [acme/trainer](https://github.com/acme/trainer)
- We evaluate with [lm-evaluation-harness](https://github.com/EleutherAI/lm-evaluation-harness).
`,
			},
			class:   2,
			tags:    []string{"openness:class-2", "openness:class-3"},
			statuss: map[int]string{IDTrainingCode: StatusPresent, IDEvaluationCode: StatusPresent},
		},
		{
			name: "links to a paper site are not code",
			in: Input{
				Files:  files(),
				Card:   apacheCard(nil),
				Readme: documentedReadme + "\nTraining details: https://acme.ai/blog/training\n",
			},
			class:   3,
			tags:    []string{"openness:class-3"},
			statuss: map[int]string{IDTrainingCode: StatusMissing},
		},
		{
			name: "split licenses: MIT code, restrictive model license",
			in: Input{
				Files:        files("LICENSE-CODE", "LICENSE-MODEL", "modeling_acme.py", "train.py"),
				Card:         map[string]any{"license": "other", "license_name": "deepseek", "model-index": acmeModelIndex},
				Readme:       documentedReadme,
				LicenseTexts: map[string]string{"LICENSE-CODE": mitText, "LICENSE-MODEL": deepseekText},
			},
			class: 0, tags: []string{"openness:none"},
			statuss: map[int]string{
				IDArchitecture: StatusPresent, IDTrainingCode: StatusPresent,
				IDFinalParameters: StatusNonOpen, IDModelCard: StatusNonOpen,
			},
		},
		{
			name: "license from the LICENSE file when the card has none",
			in: Input{
				Files:        files("LICENSE"),
				Card:         map[string]any{"model-index": acmeModelIndex},
				Readme:       documentedReadme,
				LicenseTexts: map[string]string{"LICENSE": apacheText},
			},
			class: 3, tags: []string{"openness:class-3"},
		},
		{
			name: "a restrictive LICENSE file beats an open card license",
			in: Input{
				Files:        files("LICENSE"),
				Card:         apacheCard(nil),
				Readme:       documentedReadme,
				LicenseTexts: map[string]string{"LICENSE": llama3Text},
			},
			class: 0, tags: []string{"openness:none"},
			statuss: map[int]string{IDFinalParameters: StatusNonOpen},
		},
		{
			name: "remote code under a non-open license",
			in: Input{
				Files:  files("modeling_acme.py", "configuration_acme.py"),
				Card:   apacheCard(map[string]any{"license": "cc-by-nc-4.0"}),
				Readme: documentedReadme,
			},
			class:   0,
			tags:    []string{"openness:none"},
			statuss: map[int]string{IDArchitecture: StatusNonOpen, IDInferenceCode: StatusPresent},
		},
		{
			name: "a technical report file stands in for the paper",
			in: Input{
				Files:    files("train.py", "evaluate.py", "prepare_data.py", "acme_technical_report.pdf", "checkpoints/step1000/model.safetensors"),
				Card:     apacheCard(map[string]any{"datasets": []any{"acme/pile"}}),
				Readme:   strings.Replace(documentedReadme, "Technical report: https://arxiv.org/abs/2401.00001", "", 1),
				Datasets: map[string]Dataset{"acme/pile": {License: "cc0-1.0", HasCard: true}},
			},
			class:   1,
			tags:    []string{"openness:class-1", "openness:class-2", "openness:class-3"},
			statuss: map[int]string{IDResearchPaper: StatusPresent, IDTechnicalReport: StatusPresent, IDIntermediateParams: StatusPresent},
		},
		{
			name: "GGUF quantization under MIT",
			in: Input{
				Files:  []string{"README.md", "acme-7b.Q4_K_M.gguf", "acme-7b.Q8_0.gguf"},
				Card:   map[string]any{"license": "mit", "model-index": acmeModelIndex},
				Readme: documentedReadme,
			},
			class:   3,
			tags:    []string{"openness:class-3"},
			statuss: map[int]string{IDArchitecture: StatusPresent, IDFinalParameters: StatusPresent},
		},
		{
			name: "the Hub's unfilled card template is no model card",
			in: Input{
				Files:  files(),
				Card:   map[string]any{"license": "apache-2.0", "library_name": "transformers"},
				Readme: hubTemplate(t),
			},
			class:   0,
			tags:    []string{"openness:none"},
			statuss: map[int]string{IDModelCard: StatusMissing, IDDataCard: StatusMissing, IDEvaluationResults: StatusMissing, IDResearchPaper: StatusMissing},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Classify(tt.in)
			if r.Class != tt.class || r.Label != labels[tt.class] {
				t.Errorf("class %d (%s), want %d", r.Class, r.Label, tt.class)
			}
			if diff := cmp.Diff(tt.tags, r.Tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			for id, want := range tt.statuss {
				if got := status(r, id); got != want {
					t.Errorf("%s: %s, want %s (%+v)", component(r, id).Name, got, want, component(r, id))
				}
			}
			if len(r.Components) != 17 {
				t.Errorf("%d components", len(r.Components))
			}
			if t.Failed() {
				b, _ := json.MarshalIndent(r, "", "  ")
				t.Logf("result:\n%s", b)
			}
		})
	}
}

// hubTemplate is the Hub's model card template (huggingface_hub
// templates/modelcard_template.md) rendered with every field unfilled.
func hubTemplate(t testing.TB) string {
	b, err := os.ReadFile("testdata/hub_card_template.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestComponentDetails(t *testing.T) {
	r := Classify(Input{Files: files("train.py"), Card: apacheCard(nil), Readme: documentedReadme})
	want := map[int]Component{
		IDArchitecture: {ID: 9, Name: "Model architecture", Class: 3, Type: Code, Required: true, Status: StatusPresent,
			License: "Apache-2.0", Evidence: "library: transformers (card: library_name)", Note: "implemented by the transformers library, under its license"},
		IDFinalParameters: {ID: 10, Name: "Model parameters (Final)", Class: 3, Type: Data, Required: true, Status: StatusPresent,
			License: "Apache-2.0", Evidence: "file: model-00001-of-00002.safetensors",
			Note: "Apache-2.0 is open, but not a license MOF recommends for data; license of the release (card: license: apache-2.0)"},
		IDEvaluationResults: {ID: 12, Name: "Evaluation results", Class: 3, Type: Document, Required: true, Status: StatusPresent,
			License: "Apache-2.0", Evidence: "card: model-index", Note: "license of the release (card: license: apache-2.0)"},
		IDDataCard: {ID: 14, Name: "Data card", Class: 3, Type: Document, Required: true, Status: StatusPresent,
			License: "Apache-2.0", Evidence: "README § Training Data", Note: "license of the release (card: license: apache-2.0)"},
		IDTechnicalReport: {ID: 11, Name: "Technical report", Class: 3, Type: Document, Required: true, Status: StatusPresent,
			License: "Apache-2.0", Evidence: "link: https://arxiv.org/abs/2401.00001", Note: "license of the release (card: license: apache-2.0)"},
		IDTrainingCode: {ID: 7, Name: "Training code", Class: 2, Type: Code, Required: true, Status: StatusPresent,
			License: "Apache-2.0", Evidence: "file: train.py", Note: "license of the release (card: license: apache-2.0)"},
		IDSampleOutputs: {ID: 20, Name: "Sample model outputs", Class: 3, Type: Document, Status: StatusMissing},
	}
	for id, w := range want {
		if diff := cmp.Diff(w, component(r, id)); diff != "" {
			t.Errorf("component %d (-want +got):\n%s", id, diff)
		}
	}
	wantProgress := []ClassProgress{{3, 6, 6}, {2, 3, 4}, {1, 1, 4}}
	if diff := cmp.Diff(wantProgress, r.Progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if r.License != "Apache-2.0" {
		t.Errorf("License %q", r.License)
	}
	var ids []int
	for _, c := range r.Components {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]int{9, 10, 12, 13, 14, 11, 20, 7, 8, 18, 19, 22, 21, 15, 16, 24, 17}, ids); diff != "" {
		t.Errorf("component order (-want +got):\n%s", diff)
	}
}

func TestDistributionLicense(t *testing.T) {
	tests := []struct {
		name  string
		card  map[string]any
		texts map[string]string
		want  string
		open  bool
	}{
		{"card", map[string]any{"license": "mit"}, nil, "MIT", true},
		{"card list, most restrictive", map[string]any{"license": []any{"apache-2.0", "llama2"}}, nil, "llama2", false},
		{"other", map[string]any{"license": "other", "license_name": "acme"}, nil, "other", false},
		{"other with an Apache LICENSE", map[string]any{"license": "other"}, map[string]string{"LICENSE": apacheText}, "Apache-2.0", true},
		{"unknown id", map[string]any{"license": "acme-1.0"}, nil, "acme-1.0", false},
		{"not a string", map[string]any{"license": 3}, nil, "", false},
		{"none", nil, nil, "", false},
		{"LICENSE.md", nil, map[string]string{"LICENSE.md": "  Apache License\n  Version 2.0, January 2004"}, "Apache-2.0", true},
		{"unrecognised text", nil, map[string]string{"LICENSE": deepseekText}, "other", false},
		{"open card, restrictive text", map[string]any{"license": "apache-2.0"}, map[string]string{"LICENSE": llama3Text}, "llama3", false},
		{"open card, unrecognised text", map[string]any{"license": "apache-2.0"}, map[string]string{"LICENSE": "Copyright Acme. All rights reserved?"}, "Apache-2.0", true},
		{"code license is not the release's", nil, map[string]string{"LICENSE-CODE": mitText}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClassifier(Input{Card: tt.card, LicenseTexts: tt.texts})
			if c.dist.lic.SPDX != tt.want || c.dist.lic.Open != tt.open {
				t.Errorf("distribution license %q open %v, want %q %v", c.dist.lic.SPDX, c.dist.lic.Open, tt.want, tt.open)
			}
		})
	}
}

func TestIdentifyText(t *testing.T) {
	tests := map[string]string{
		apacheText:                              "apache-2.0",
		mitText:                                 "mit",
		llama3Text:                              "llama3",
		deepseekText:                            "other",
		"":                                      "",
		"LLAMA 3.1 COMMUNITY LICENSE AGREEMENT": "llama3.1",
		"Llama 2 Community License Agreement":   "llama2",
		"Gemma Terms of Use\nLast modified: February 21, 2024":                      "gemma",
		"CreativeML Open RAIL-M License\n... Responsible AI License":                "openrail",
		"Attribution-NonCommercial 4.0 International\nCreative Commons Corporation": "cc-by-nc-4.0",
		"Creative Commons Attribution 4.0 International Public License":             "cc-by-4.0",
		"Creative Commons Attribution-ShareAlike 4.0 International Public License":  "cc-by-sa-4.0",
		"Creative Commons Legal Code\n\nCC0 1.0 Universal":                          "cc0-1.0",
		"Community Data License Agreement – Permissive – Version 2.0":               "cdla-permissive-2.0",
		"ODC Attribution License (ODC-By)\nOpen Data Commons Attribution License":   "odc-by",
		"GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007":                       "gpl-3.0",
		"GNU GENERAL PUBLIC LICENSE\nVersion 2, June 1991":                          "gpl-2.0",
		"GNU LESSER GENERAL PUBLIC LICENSE\nVersion 2.1, February 1999":             "lgpl-2.1",
		"Redistribution and use in source and binary forms, with or without modification, are permitted. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products": "bsd-3-clause",
		"The OpenMDW License Agreement, version 1.0": "openmdw-1.0",
	}
	for text, want := range tests {
		if got := identifyText(text); got != want {
			t.Errorf("identifyText(%.40q) = %q, want %q", text, got, want)
		}
	}
}

func TestLookupLicense(t *testing.T) {
	tests := []struct {
		id   string
		spdx string
		open bool
	}{
		{"apache-2.0", "Apache-2.0", true},
		{"Apache-2.0", "Apache-2.0", true},
		{"ODC-By-1.0", "ODC-By-1.0", true},
		{"ODbL-1.0", "ODbL-1.0", true},
		{"GPL-3.0-or-later", "GPL-3.0", true},
		{"GPL-3.0-only", "GPL-3.0", true},
		{"cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0", false},
		{"bigscience-openrail-m", "bigscience-openrail-m", false},
		{"gemma", "gemma", false},
		{"llama3.1", "llama3.1", false},
		{"openmdw-1.0", "OpenMDW-1.0", true},
		{"acme-research", "acme-research", false},
	}
	for _, tt := range tests {
		l, _ := lookupLicense(tt.id)
		if l.SPDX != tt.spdx || l.Open != tt.open {
			t.Errorf("lookupLicense(%q) = %q open %v, want %q %v", tt.id, l.SPDX, l.Open, tt.spdx, tt.open)
		}
	}
}

func TestMatchAny(t *testing.T) {
	tests := []struct {
		patterns []string
		path     string
		want     bool
	}{
		{[]string{"*.safetensors"}, "model.safetensors", true},
		{[]string{"*.safetensors"}, "sub/model.safetensors", true},
		{[]string{"train*"}, "scripts/train_lora.py", true},
		{[]string{"training/*"}, "training/run.py", true},
		{[]string{"training/*"}, "src/training/deep/run.py", true},
		{[]string{"training/*"}, "training", false},
		{[]string{"training/*"}, "pretraining/run.py", false},
		{[]string{"checkpoint*/*.bin"}, "checkpoint-500/pytorch_model.bin", true},
		{[]string{"checkpoint*/*.bin"}, "pytorch_model.bin", false},
		{[]string{"[bad"}, "x", false},
	}
	for _, tt := range tests {
		f := newFile(tt.path)
		if got := f.matchAny(compilePatterns(tt.patterns)); got != tt.want {
			t.Errorf("matchAny(%q, %q) = %v, want %v", tt.patterns, tt.path, got, tt.want)
		}
	}
}

func TestFileRules(t *testing.T) {
	tests := []struct {
		file string
		id   int // component the file is evidence of, 0 for none checked
		not  []int
	}{
		{"training_args.bin", IDModelMetadata, []int{IDFinalParameters, IDTrainingCode}},
		{"optimizer.pt", IDModelMetadata, []int{IDFinalParameters, IDIntermediateParams}},
		{"checkpoint-500/model.safetensors", IDIntermediateParams, []int{IDFinalParameters}},
		{"pytorch_model.bin", IDFinalParameters, []int{IDIntermediateParams}},
		{"eval_results.json", IDEvaluationResults, []int{IDEvaluationCode}},
		{"evaluate.py", IDEvaluationCode, nil},
		{"train.sh", IDTrainingCode, nil},
		{"trainer_state.json", IDModelMetadata, []int{IDTrainingCode}},
		{"handler.py", IDInferenceCode, nil},
		{"requirements.txt", IDSupportingLibraries, nil},
		{"data/train.jsonl", IDDatasets, []int{IDPreprocessingCode}},
		{"data/prepare.py", IDPreprocessingCode, nil},
		{"samples/cat.png", IDSampleOutputs, nil},
		{"paper.pdf", IDResearchPaper, nil},
		{"modeling_acme.py", IDArchitecture, nil},
		{"tokenizer.json", 0, []int{IDFinalParameters, IDDatasets, IDEvaluationResults}},
	}
	for _, tt := range tests {
		c := newClassifier(Input{Files: []string{tt.file}})
		for _, r := range rules {
			_, found := c.matchFiles(r)
			if r.ID == tt.id && !found {
				t.Errorf("%s is not evidence of %s", tt.file, r.Name)
			}
			if slices.Contains(tt.not, r.ID) && found {
				t.Errorf("%s is evidence of %s", tt.file, r.Name)
			}
		}
	}
}

func TestProseWords(t *testing.T) {
	if n := proseWords(hubTemplate(t)); n != 0 {
		t.Errorf("the unfilled Hub template has %d words of prose, want 0", n)
	}
	filled := strings.Replace(hubTemplate(t), "<!-- Provide a longer summary of what this model is. -->",
		"Acme-7B is a decoder-only transformer trained by the Acme lab on two trillion tokens of public text.", 1)
	filled = strings.Replace(filled, "- **License:** [More Information Needed]", "- **License:** Apache 2.0", 1)
	if n := proseWords(filled); n != 21 {
		t.Errorf("the template with a description has %d words of prose, want 21", n)
	}
}

func TestSections(t *testing.T) {
	got := sections("intro\n# A\none\n## B\ntwo\n```\n# not a heading\n```\n### C ###\nthree\n## D\nfour\n# E\nfive")
	var titles []string
	bodies := map[string]string{}
	for _, s := range got {
		titles = append(titles, s.title)
		bodies[s.title] = s.body
	}
	if diff := cmp.Diff([]string{"C", "B", "D", "A", "E"}, titles); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}
	if want := "two\n```\n# not a heading\n```\nthree"; bodies["B"] != want {
		t.Errorf("body of B = %q, want %q", bodies["B"], want)
	}
	if s := (section{norm: normalize("📊 Evaluation Results!")}); !s.matches([]string{"evaluation"}) || s.matches([]string{"eval"}) {
		t.Errorf("heading matching of %q", s.norm)
	}
}

func BenchmarkClassifyLargeRepo(b *testing.B) {
	var fs []string
	for i := range 100_000 {
		fs = append(fs, fmt.Sprintf("shards/part-%06d/chunk.arrow", i))
	}
	in := Input{Files: fs, Card: apacheCard(nil), Readme: documentedReadme}
	for b.Loop() {
		Classify(in)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(strings.Join(files("train.py"), "\n"), documentedReadme, `{"license":"apache-2.0","model-index":[{"results":[{"dataset":{"type":"x"}}]}],"datasets":["d"]}`, apacheText)
	f.Add("", hubTemplate(f), `{"license":["mit",3]}`, "")
	f.Fuzz(func(t *testing.T, fileList, readme, cardJSON, licenseText string) {
		var card map[string]any
		_ = json.Unmarshal([]byte(cardJSON), &card)
		in := Input{
			Files:        strings.Split(fileList, "\n"),
			Card:         card,
			Readme:       readme,
			LicenseTexts: map[string]string{"LICENSE": licenseText},
			Datasets:     map[string]Dataset{"d": {License: licenseText, HasCard: true}},
			Branches:     strings.Split(fileList, "\n"),
		}
		r := Classify(in)
		if r.Class < 0 || r.Class > 3 || len(r.Components) != len(rules) || len(r.Tags) == 0 || r.Label == "" {
			t.Fatalf("result %+v", r)
		}
		for _, c := range r.Components {
			if c.Status != StatusPresent && c.Status != StatusMissing && c.Status != StatusNonOpen {
				t.Fatalf("status %q", c.Status)
			}
			if (c.Status == StatusMissing) != (c.Evidence == "") {
				t.Fatalf("component %+v", c)
			}
		}
		for _, p := range r.Progress {
			if p.Class >= r.Class && r.Class != 0 && p.Met != p.Total {
				t.Fatalf("class %d with progress %+v", r.Class, p)
			}
		}
	})
}

func FuzzGlob(f *testing.F) {
	f.Add("modeling_*.py", "modeling_acme.py")
	f.Add("*eval*results*.json", "my_eval_results.json")
	f.Add("a*a*a", "aaa")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pat, name string) {
		if strings.ContainsAny(pat, "/?[\\") || strings.Contains(name, "/") {
			return
		}
		want, err := path.Match(pat, name)
		if err != nil {
			return
		}
		g := compileGlob(pat)
		if got := g.match(name); got != want {
			t.Fatalf("glob %q on %q = %v, path.Match says %v", pat, name, got, want)
		}
	})
}

// TestREADMEMatchesRules checks that README.md documents every rule,
// pattern, library, tool and license of the code.
func TestREADMEMatchesRules(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	has := func(what string, alts ...string) {
		t.Helper()
		for _, a := range alts {
			if strings.Contains(doc, a) {
				return
			}
		}
		t.Errorf("README.md does not mention %s (%q)", what, alts)
	}
	for _, r := range rules {
		has("component", fmt.Sprintf("| %d | %s | %s |", r.ID, r.Name, r.Type))
		for _, p := range append(slices.Clone(r.Files), r.Except...) {
			d, base, nested := strings.Cut(p, "/")
			if !nested {
				has("pattern of "+r.Name, "`"+p+"`")
				continue
			}
			if strings.Contains(doc, "`"+p+"`") {
				continue
			}
			has("pattern of "+r.Name, "`"+d+"/`", "`"+d+"`")
			if base != "*" {
				has("pattern of "+r.Name, "`"+base+"`")
			}
		}
		for _, h := range r.Headings {
			has("heading of "+r.Name, h)
		}
		for _, l := range r.Links {
			has("link phrase of "+r.Name, l)
		}
		for _, k := range r.Card {
			has("card field of "+r.Name, "`"+k+"`")
		}
	}
	for lib := range openLibraries {
		has("library", " "+lib+",", " "+lib+" |", " "+lib+" (")
	}
	low := strings.ToLower(doc)
	for tool := range knownTools {
		if !strings.Contains(low, strings.TrimPrefix(tool, "github.com/")) {
			t.Errorf("README.md does not mention tool %s", tool)
		}
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(low, func(r rune) bool { return strings.ContainsRune(" \t\n,;()`|", r) }) {
		words[strings.TrimRight(w, ".:")] = true
	}
	for id := range licenses {
		if !words[id] {
			t.Errorf("README.md does not list license %q", id)
		}
	}
}
