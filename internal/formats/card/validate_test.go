package card

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// oneOf is the Hub's message for a value outside a closed list.
func oneOf(label string, values []string) string {
	return `"` + label + `" must be one of [` + strings.Join(values, ", ") + `]`
}

func TestValidate(t *testing.T) {
	t.Parallel()
	licenseErr := `"license" must be one of [` + strings.Join(hubLicenseIDs, ", ") + `, array]`
	baseModelErr := func(label, v string) string {
		return `"` + label + `" with value "` + v + `" is not valid. Use a model id from https://hf.co/models.`
	}
	const languageErr = `" must be a language code (ISO 639-1, 639-2 or 639-3, such as "en" or "fra") or one of [code, multilingual]`
	const otherWarn = `"license" is "other": give the license a "license_name" (such as my-license-1.0) and a "license_link" (LICENSE, LICENSE.md or a URL)`
	tests := []struct {
		name      string
		repoType  string
		yaml      string // the metadata block, without the --- lines
		readme    string // the whole README, when yaml is not enough
		wantErrs  []string
		wantWarns []string
	}{
		// Card-level outcomes.
		{name: "no metadata", readme: "# Model\n", wantWarns: []string{MissingMetadata}},
		{name: "empty block", readme: "---\n---\n# Model\n", wantWarns: []string{MissingMetadata}},
		{name: "comments only", yaml: "# license: mit", wantWarns: []string{MissingMetadata}},
		{name: "unclosed block", readme: "---\nlicense: mit\n# Model\n", wantWarns: []string{MissingMetadata}},
		{name: "invalid YAML", yaml: "a: [1, 2", wantErrs: []string{"Invalid YAML in README.md: yaml: line 1: did not find expected ',' or ']'"}},
		{name: "list document", yaml: "- a", wantErrs: []string{"Invalid YAML in README.md: metadata must be a mapping, not a list"}},
		{name: "unknown repo type", repoType: "kernel", yaml: "license: mit", wantErrs: []string{`"repoType" must be one of [model, dataset, space]`}},
		{name: "unknown keys are allowed", yaml: "my_field: {a: 1}\nother: [1, 2]"},
		{
			name: "complete model card",
			yaml: `language: [en, fra]
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
tags: [llm, "chat"]
datasets: [org/data, squad]
metrics: [accuracy]
base_model: [meta-llama/Llama-3.1-8B, gpt2]
base_model_relation: finetune
new_version: org/model-v2
thumbnail: https://example.com/t.png
inference: false
widget:
- text: Hello
  example_title: Greeting
- src: https://example.com/a.wav
extra_gated_prompt: Agree?
extra_gated_fields: {Name: text, Country: country}
extra_gated_eu_disallowed: true
model-index:
- name: my-model
  results:
  - task: {type: text-generation, name: Text Generation}
    dataset: {type: org/data, name: Data, config: default, split: test, revision: abc, args: {lang: en}}
    metrics:
    - {type: accuracy, value: 0.9, name: Accuracy, verified: false}
    - {type: pass@1, value: "12.5"}
    source: {url: https://example.com, name: Leaderboard}`,
		},

		// license, license_name, license_link.
		{name: "license unknown", yaml: "license: apache2", wantErrs: []string{licenseErr}},
		{name: "license null", yaml: "license:", wantErrs: []string{licenseErr}},
		{name: "license number", yaml: "license: 2", wantErrs: []string{licenseErr}},
		{name: "license list", repoType: RepoDataset, yaml: "license: [mit, cc-by-4.0]"},
		{name: "license list with a bad item", yaml: "license: [mit, gpl-2.0-or-later]",
			wantErrs: []string{`"license[1]" must be one of [` + strings.Join(hubLicenseIDs, ", ") + `]`}},
		{name: "license other alone", yaml: "license: other", wantWarns: []string{otherWarn}},
		{name: "license other without link", yaml: "license: other\nlicense_name: my-license", wantWarns: []string{otherWarn}},
		{name: "license other complete", yaml: "license: other\nlicense_name: my-license-1.0\nlicense_link: LICENSE"},
		{name: "license name not a string", yaml: "license: other\nlicense_name: [a]\nlicense_link: 3",
			wantErrs: []string{`"license_name" must be a string`, `"license_link" must be a string`}},

		// Lists of strings.
		{name: "tags as one string", yaml: "tags: llm"},
		{name: "tags with a number", yaml: "tags: [a, 1, b, {x: y}]", wantErrs: []string{`"tags[1]" must be a string`, `"tags[3]" must be a string`}},
		{name: "tags as a mapping", yaml: "tags: {a: b}", wantErrs: []string{`"tags" must be one of [string, array]`}},
		{name: "tags null is absent", yaml: "tags:\nlicense: mit"},
		{name: "datasets null", yaml: "datasets:", wantErrs: []string{`"datasets" must be one of [string, array]`}},
		{name: "datasets with a list item", yaml: "datasets: [[a]]", wantErrs: []string{`"datasets[0]" must be a string`}},
		{name: "metrics number", yaml: "metrics: 1", wantErrs: []string{`"metrics" must be one of [string, array]`}},

		// language.
		{name: "language codes", yaml: "language: [en, fra, code, multilingual]"},
		{name: "language one code", yaml: "language: de"},
		{name: "language regional", yaml: "language: en-US", wantErrs: []string{`"language` + languageErr}},
		{name: "language names", yaml: "language: [en, English, lean4]", wantErrs: []string{`"language[1]` + languageErr, `"language[2]` + languageErr}},
		{name: "language boolean", yaml: "language: [true]", wantErrs: []string{`"language[0]" must be a string`}},

		// Model fields.
		{name: "pipeline tag unknown", yaml: "pipeline_tag: text-gen", wantErrs: []string{oneOf("pipeline_tag", pipelineTypes)}},
		{name: "pipeline tag list", yaml: "pipeline_tag: [text-generation]", wantErrs: []string{oneOf("pipeline_tag", pipelineTypes)}},
		{name: "pipeline tag in a dataset card is not checked", repoType: RepoDataset, yaml: "pipeline_tag: anything"},
		{name: "library name number", yaml: "library_name: 1", wantErrs: []string{`"library_name" must be a string`}},
		{name: "base model one id", yaml: "base_model: gpt2\nbase_model_relation: quantized"},
		{name: "base model local path", yaml: "base_model: /workspace/out/checkpoint-400", wantErrs: []string{baseModelErr("base_model", "/workspace/out/checkpoint-400")}},
		{name: "base model bad item", yaml: "base_model: [a/b, Kokoro 82M, a/b/c, x--y/z]",
			wantErrs: []string{baseModelErr("base_model[1]", "Kokoro 82M"), baseModelErr("base_model[2]", "a/b/c"), baseModelErr("base_model[3]", "x--y/z")}},
		{name: "base model not a string", yaml: "base_model: {id: a/b}", wantErrs: []string{`"base_model" must be one of [string, array]`}},
		{name: "relation unknown", yaml: "base_model: a/b\nbase_model_relation: distilled",
			wantErrs: []string{`"base_model_relation" must be one of [adapter, merge, quantized, finetune]`}},
		{name: "relation without base model", yaml: "base_model_relation: merge", wantWarns: []string{`"base_model_relation" is ignored without "base_model"`}},
		{name: "thumbnail list", yaml: "thumbnail: [a]", wantErrs: []string{`"thumbnail" must be a string`}},
		{name: "inference string", yaml: "inference: yes", wantErrs: []string{`"inference" must be one of [boolean, object]`}},
		{name: "inference parameters", yaml: "inference: {parameters: {temperature: 0.7}}"},
		{name: "widget mapping", yaml: "widget: {text: hi}", wantErrs: []string{`"widget" must be an array`}},
		{name: "widget items", yaml: "widget: [hi, {text: 1, example_title: [x]}]",
			wantErrs: []string{`"widget[0]" must be of type object`, `"widget[1].example_title" must be a string`, `"widget[1].text" must be a string`}},
		{name: "gated fields as a list", yaml: "extra_gated_fields: [Name]", wantErrs: []string{`"extra_gated_fields" must be of type object`}},
		{name: "gated prompt and flag", yaml: "extra_gated_prompt: 1\nextra_gated_eu_disallowed: 'yes'",
			wantErrs: []string{`"extra_gated_prompt" must be a string`, `"extra_gated_eu_disallowed" must be a boolean`}},

		// model-index.
		{name: "model-index mapping", yaml: "model-index: {name: m}", wantErrs: []string{`"model-index" must be an array`}},
		{name: "model-index item not a mapping", yaml: "model-index: [m]", wantErrs: []string{`"model-index[0]" must be of type object`}},
		{name: "model-index without results", yaml: "model-index:\n- name: m", wantErrs: []string{`"model-index[0].results" is required`}},
		{name: "model-index empty results", yaml: "model-index:\n- name: m\n  results: []"},
		{
			name: "model-index result missing parts",
			yaml: "model-index:\n- name: m\n  results:\n  - {}\n  - task: {name: T}\n    dataset: {type: d}\n    metrics: {type: acc}",
			wantErrs: []string{
				`"model-index[0].results[0].task" is required`,
				`"model-index[0].results[0].dataset" is required`,
				`"model-index[0].results[0].metrics" is required`,
				`"model-index[0].results[1].task.type" is required`,
				`"model-index[0].results[1].dataset.name" is required`,
				`"model-index[0].results[1].metrics" must be an array`,
			},
		},
		{
			name: "model-index wrong types",
			yaml: `model-index:
- name: [m]
  results:
  - task: {type: 1}
    dataset: {type: d, name: D, config: {scale: 1-5}, split: 0}
    metrics:
    - {type: wer, config: {a: b}, verified: 'yes'}
    - wer
    source: {name: x}`,
			wantErrs: []string{
				`"model-index[0].name" must be a string`,
				`"model-index[0].results[0].task.type" must be a string`,
				`"model-index[0].results[0].dataset.config" must be a string`,
				`"model-index[0].results[0].dataset.split" must be a string`,
				`"model-index[0].results[0].metrics[0].value" is required`,
				`"model-index[0].results[0].metrics[0].config" must be a string`,
				`"model-index[0].results[0].metrics[0].verified" must be a boolean`,
				`"model-index[0].results[0].metrics[1]" must be of type object`,
				`"model-index[0].results[0].source.url" is required`,
			},
		},
		{name: "model-index in a dataset card is not checked", repoType: RepoDataset, yaml: "model-index: 1"},

		// Dataset fields.
		{
			name:     "complete dataset card",
			repoType: RepoDataset,
			yaml: `license: cc-by-4.0
language: [en]
pretty_name: SQuAD
size_categories: 10K<n<100K
task_categories: [question-answering]
task_ids: [extractive-qa, open-domain-qa]
annotations_creators: [crowdsourced]
language_creators: found
multilinguality: monolingual
source_datasets: [original]
paperswithcode_id: squad
dataset_info: {features: [{name: id, dtype: string}]}
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: [data/test-1.parquet, data/test-2.parquet]
- config_name: raw
  data_dir: raw
- config_name: flat
  data_files: "*.csv"`,
		},
		{name: "task categories unknown", repoType: RepoDataset, yaml: "task_categories: [text-generation, chat]",
			wantErrs: []string{oneOf("task_categories[1]", pipelineTypes)}},
		{name: "task categories one string", repoType: RepoDataset, yaml: "task_categories: chat",
			wantErrs: []string{oneOf("task_categories", pipelineTypes)}},
		{name: "task ids unknown", repoType: RepoDataset, yaml: "task_ids: [extractive-qa, qa]", wantErrs: []string{oneOf("task_ids[1]", subtaskTypes)}},
		{name: "size categories unknown", repoType: RepoDataset, yaml: "size_categories: [1K-10K]", wantErrs: []string{oneOf("size_categories[0]", sizeCategories)}},
		{name: "task categories in a model card are not checked", yaml: "task_categories: [chat]"},
		{name: "pretty name number", repoType: RepoDataset, yaml: "pretty_name: 42", wantErrs: []string{`"pretty_name" must be a string`}},
		{name: "dataset info string", repoType: RepoDataset, yaml: "dataset_info: x", wantErrs: []string{`"dataset_info" must be one of [object, array]`}},
		{name: "configs mapping", repoType: RepoDataset, yaml: "configs: {config_name: default}", wantErrs: []string{`"configs" must be an array`}},
		{
			name:     "configs items",
			repoType: RepoDataset,
			yaml: `configs:
- default
- data_files: a.csv
- config_name: 1
- config_name: a
  default: 'true'
  data_files: 3
- config_name: a
  data_dir: [x]
  data_files:
  - {path: a.csv}
  - {split: train}
  - {split: test, path: [a, 1]}
  - 5`,
			wantErrs: []string{
				`"configs[0]" must be of type object`,
				`"configs[1].config_name" is required`,
				`"configs[2].config_name" must be a string`,
				`"configs[3].default" must be a boolean`,
				`"configs[3].data_files" must be one of [string, array]`,
				`"configs[4]" contains a duplicate value`,
				`"configs[4].data_dir" must be a string`,
				`"configs[4].data_files[0].split" is required`,
				`"configs[4].data_files[1].path" is required`,
				`"configs[4].data_files[2].path[1]" must be a string`,
				`"configs[4].data_files[3]" must be one of [string, object]`,
			},
		},

		// Space fields.
		{name: "space card", repoType: RepoSpace, yaml: "title: Demo\nemoji: 🚀\ncolorFrom: red\ncolorTo: gray\nsdk: gradio\napp_port: 7860\npinned: false\nshort_description: A short one"},
		{
			name:     "space card errors",
			repoType: RepoSpace,
			yaml:     "title: 1\nsdk: flask\ncolorFrom: orange\nshort_description: " + strings.Repeat("é", 61) + "\napp_port: '7860'",
			wantErrs: []string{
				`"title" must be a string`,
				`"sdk" must be one of [gradio, streamlit, docker, static]`,
				`"colorFrom" must be one of [red, yellow, green, blue, indigo, purple, pink, gray]`,
				`"short_description" length must be less than or equal to 60 characters long`,
				`"app_port" must be a number`,
			},
		},
		{name: "space fields in a model card are not checked", yaml: "sdk: flask"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			readme := tc.readme
			if readme == "" {
				readme = "---\n" + tc.yaml + "\n---\n# Card\n"
			}
			errs, warns := Validate(Parse([]byte(readme)), tc.repoType)
			if diff := cmp.Diff(tc.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLicenseMessage pins the start and end of the Hub's message, which
// clients and users match on.
func TestLicenseMessage(t *testing.T) {
	t.Parallel()
	errs, _ := Validate(Parse([]byte("---\nlicense: apache\n---\n")), RepoModel)
	if len(errs) != 1 {
		t.Fatalf("got %q, want one error", errs)
	}
	const start = `"license" must be one of [apache-2.0, mit, openrail, bigscience-openrail-m, creativeml-openrail-m, `
	const end = `, llama4, grok2-community, gemma, unknown, other, array]`
	if !strings.HasPrefix(errs[0], start) || !strings.HasSuffix(errs[0], end) {
		t.Errorf("got %q, want it to start with %q and end with %q", errs[0], start, end)
	}
}

// TestOrderedListsMatchSets keeps the ordered lists Validate prints in
// step with the sets fields.go checks, so the two cannot drift apart.
func TestOrderedListsMatchSets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		list []string
		set  map[string]bool // nil: only check for repeats
	}{
		{"licenses", hubLicenseIDs, hubLicenses},
		{"pipeline types", pipelineTypes, pipelineTags},
		{"subtasks", subtaskTypes, nil},
		{"size categories", sizeCategories, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := make(map[string]bool)
			for _, v := range tc.list {
				if seen[v] {
					t.Errorf("%q is listed twice", v)
				}
				seen[v] = true
			}
			if tc.set == nil {
				return
			}
			got, want := slices.Sorted(maps.Keys(seen)), slices.Sorted(maps.Keys(tc.set))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("list differs from set (-set +list):\n%s", diff)
			}
		})
	}
}

func TestValidRepoID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"gpt2", true},
		{"meta-llama/Llama-3.1-8B", true},
		{"org_1/model.v2", true},
		{"", false},
		{"a/", false},
		{"/a", false},
		{"a/b/c", false},
		{"-a/b", false},
		{"a/b.", false},
		{"a/b--c", false},
		{"a/b..c", false},
		{"a/b.git", false},
		{"a/b c", false},
		{"https://hf.co/a/b", false},
		{"a/" + strings.Repeat("x", 97), false},
	}
	for _, tc := range tests {
		if got := validRepoID(tc.id); got != tc.want {
			t.Errorf("validRepoID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte("---\nlicense: other\nbase_model: [a/b, ./c]\nmodel-index:\n- results:\n  - task: {type: 1}\n    metrics: [{value: 1}]\n---\n"), uint8(0))
	f.Add([]byte("---\nconfigs:\n- config_name: a\n  data_files: [{split: t, path: [x, 1]}, 3]\n- config_name: a\ntask_ids: x\n---\n"), uint8(1))
	f.Add([]byte("---\ncolorFrom: 1\nshort_description: x\n---\n"), uint8(2))
	f.Add([]byte("---\n- a\n---\n"), uint8(0))
	f.Add([]byte("# no metadata\n"), uint8(1))
	types := []string{RepoModel, RepoDataset, RepoSpace, ""}
	f.Fuzz(func(t *testing.T, in []byte, typ uint8) {
		c := Parse(in)
		errs, warns := Validate(c, types[int(typ)%len(types)])
		switch {
		case c.Err != nil:
			if len(errs) != 1 || len(warns) != 0 {
				t.Fatalf("unreadable metadata gave errors %q, warnings %q; want one error", errs, warns)
			}
		case len(c.Data) == 0:
			if len(errs) != 0 || !slices.Equal(warns, []string{MissingMetadata}) {
				t.Fatalf("no metadata gave errors %q, warnings %q", errs, warns)
			}
		}
		for _, m := range slices.Concat(errs, warns) {
			if !strings.HasPrefix(m, `"`) && !strings.HasPrefix(m, "Invalid YAML in README.md: ") && m != MissingMetadata {
				t.Fatalf("message %q does not name a field", m)
			}
		}
	})
}
