package card

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		wantJSON string // of Data; "null" for nil
		wantBody string
		wantErr  string // substring of Err; "" means nil
		problem  string // substring of some Problem, if set
	}{
		{
			name:     "no front matter",
			in:       "# Title\n\ntext\n",
			wantJSON: "null",
			wantBody: "# Title\n\ntext\n",
		},
		{
			name:     "typical",
			in:       "---\nlicense: mit\ntags:\n- a\n- b\n---\n# Model\n",
			wantJSON: `{"license":"mit","tags":["a","b"]}`,
			wantBody: "# Model\n",
		},
		{
			name:     "BOM and CRLF",
			in:       "\ufeff---\r\nlicense: mit\r\nlanguage: en\r\n---\r\nbody\r\n",
			wantJSON: `{"language":"en","license":"mit"}`,
			wantBody: "body\r\n",
		},
		{
			name:     "leading blank lines and spaces",
			in:       "\n\n  ---\nx: 1\n---\nbody",
			wantJSON: `{"x":1}`,
			wantBody: "body",
		},
		{
			name:     "closing at end of file",
			in:       "---\nx: 1\n---",
			wantJSON: `{"x":1}`,
			wantBody: "",
		},
		{
			name:     "empty block",
			in:       "---\n---\nbody",
			wantJSON: `{}`,
			wantBody: "body",
		},
		{
			name:     "comments only",
			in:       "---\n# nothing\n\n---\nbody",
			wantJSON: `{}`,
			wantBody: "body",
		},
		{
			name:     "null document",
			in:       "---\n~\n---\nbody",
			wantJSON: `{}`,
			wantBody: "body",
		},
		{
			name:     "rule in body is not a delimiter",
			in:       "---\na: 1\n---\ntext\n---\nmore",
			wantJSON: `{"a":1}`,
			wantBody: "text\n---\nmore",
		},
		{
			name:     "dashes inside a block scalar end the block",
			in:       "---\na: |\n  x\n---\n  y\n---\n",
			wantJSON: `{"a":"x"}`,
			wantBody: "  y\n---\n",
		},
		{
			name:     "unclosed",
			in:       "---\nlicense: mit\n# text",
			wantJSON: "null",
			wantBody: "---\nlicense: mit\n# text",
			problem:  "no closing ---",
		},
		{
			name:     "four dashes is a rule",
			in:       "----\na: 1\n---\n",
			wantJSON: "null",
			wantBody: "----\na: 1\n---\n",
		},
		{
			name:     "opening with trailing space is not a block",
			in:       "--- \na: 1\n---\n",
			wantJSON: "null",
			wantBody: "--- \na: 1\n---\n",
		},
		{
			name:     "closing with trailing space does not close",
			in:       "---\na: 1\n--- \nb",
			wantJSON: "null",
			wantBody: "---\na: 1\n--- \nb",
			problem:  "no closing ---",
		},
		{
			name:     "invalid YAML",
			in:       "---\na: [1, 2\n---\nbody",
			wantJSON: "null",
			wantBody: "---\na: [1, 2\n---\nbody",
			wantErr:  "invalid card metadata: yaml: line",
		},
		{name: "list at top level", in: "---\n- a\n---\n", wantJSON: "null", wantBody: "---\n- a\n---\n", wantErr: "must be a mapping, not a list"},
		{name: "scalar at top level", in: "---\nhello\n---\n", wantJSON: "null", wantBody: "---\nhello\n---\n", wantErr: "must be a mapping, not a scalar"},
		{name: "two documents", in: "---\na: 1\n...\nb: 2\n---\n", wantJSON: "null", wantBody: "---\na: 1\n...\nb: 2\n---\n", wantErr: "more than one YAML document"},
		{name: "duplicate key", in: "---\na: 1\nb: 2\na: 3\n---\n", wantJSON: "null", wantBody: "---\na: 1\nb: 2\na: 3\n---\n", wantErr: `line 4: duplicated mapping key "a"`},
		{name: "duplicate key after conversion", in: "---\n1: a\n\"1\": b\n---\n", wantJSON: "null", wantBody: "---\n1: a\n\"1\": b\n---\n", wantErr: `duplicated mapping key "1"`},
		{name: "complex key", in: "---\n? [a]\n: 1\n---\n", wantJSON: "null", wantBody: "---\n? [a]\n: 1\n---\n", wantErr: "list cannot be a mapping key"},
		{name: "python tag", in: "---\na: !!python/object:os.system x\n---\n", wantJSON: "null", wantBody: "---\na: !!python/object:os.system x\n---\n", wantErr: "unsupported tag"},
		{name: "local tag", in: "---\na: !secret x\n---\n", wantJSON: "null", wantBody: "---\na: !secret x\n---\n", wantErr: "unsupported tag !secret"},
		{name: "bad explicit int", in: "---\na: !!int abc\n---\n", wantJSON: "null", wantBody: "---\na: !!int abc\n---\n", wantErr: "line 2: yaml: cannot decode"},
		{name: "self-referencing alias", in: "---\na: &x [*x]\n---\n", wantJSON: "null", wantBody: "---\na: &x [*x]\n---\n", wantErr: "refers to itself"},
		{
			name:     "scalars",
			in:       "---\ns: hello\nq: '123'\ni: 42\nneg: -7\nbig: 18446744073709551615\nhex: 0x1F\nf: 1.5\nt: true\nn: null\nnone:\nyes: yes\nd: 2024-01-31\nts: 2001-12-14t21:59:43.10-05:00\nbin: !!binary aGk=\n---\n",
			wantJSON: `{"big":18446744073709551615,"bin":"aGk=","d":"2024-01-31","f":1.5,"hex":31,"i":42,"n":null,"neg":-7,"none":null,"q":"123","s":"hello","t":true,"ts":"2001-12-14t21:59:43.10-05:00","yes":"yes"}`,
		},
		{
			name:     "non-finite floats",
			in:       "---\na: .nan\nb: -.inf\n---\n",
			wantJSON: `{"a":null,"b":null}`,
			problem:  "-.inf is not a JSON number",
		},
		{
			name:     "keys become strings",
			in:       "---\n1: a\ntrue: b\n~: c\n1.5: d\n---\n",
			wantJSON: `{"1":"a","1.5":"d","null":"c","true":"b"}`,
		},
		{
			name:     "aliases and merge keys",
			in:       "---\nbase: &b {x: 1, y: 2}\nother: &o {z: 3}\nd:\n  <<: [*b, *o]\n  y: 9\nl: [*b, *b]\n---\n",
			wantJSON: `{"base":{"x":1,"y":2},"d":{"x":1,"y":9,"z":3},"l":[{"x":1,"y":2},{"x":1,"y":2}],"other":{"z":3}}`,
		},
		{
			name:     "set",
			in:       "---\ns: !!set {a, b}\n---\n",
			wantJSON: `{"s":{"a":null,"b":null}}`,
		},
		{
			name:     "model-index",
			in:       "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-generation}\n    metrics:\n    - {type: acc, value: 0.5}\n---\n",
			wantJSON: `{"model-index":[{"name":"m","results":[{"metrics":[{"type":"acc","value":0.5}],"task":{"type":"text-generation"}}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Parse([]byte(tt.in))
			got, err := json.Marshal(c.Data)
			if err != nil {
				t.Fatalf("json.Marshal(Data): %v", err)
			}
			if string(got) != tt.wantJSON {
				t.Errorf("Data = %s, want %s", got, tt.wantJSON)
			}
			if tt.wantBody != "" || tt.wantErr == "" && tt.wantJSON != "null" {
				if c.Body != tt.wantBody {
					t.Errorf("Body = %q, want %q", c.Body, tt.wantBody)
				}
			}
			switch {
			case tt.wantErr == "" && c.Err != nil:
				t.Errorf("Err = %v, want nil", c.Err)
			case tt.wantErr != "":
				if c.Err == nil || !errors.Is(c.Err, ErrInvalid) || !strings.Contains(c.Err.Error(), tt.wantErr) {
					t.Errorf("Err = %v, want ErrInvalid containing %q", c.Err, tt.wantErr)
				}
				if c.Data != nil {
					t.Errorf("Data = %v with an error, want nil", c.Data)
				}
				if len(c.Problems) == 0 || c.Problems[0] != c.Err.Error() {
					t.Errorf("Problems = %q, want Err first", c.Problems)
				}
			}
			if tt.problem != "" && !containsSubstring(c.Problems, tt.problem) {
				t.Errorf("Problems = %q, want one containing %q", c.Problems, tt.problem)
			}
		})
	}
}

func containsSubstring(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	laughs := "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	laughs += "---\n"

	long := strings.Repeat("x", 1<<20)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"billion laughs", laughs, "more than 200000 values"},
		{"string bomb", "---\na: &a " + strings.Repeat("y", 1<<16) + "\nb: [" + strings.Repeat("*a, ", 200) + "*a]\n---\n", "more than 8388608 bytes"},
		{"deep nesting", "---\na: " + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "\n---\n", "deeper than 64"},
		{"too large", "---\na: " + long + "\n---\n", "more than the limit of 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c Card
			n := allocated(func() { c = Parse([]byte(tt.in)) })
			if c.Err == nil || !strings.Contains(c.Err.Error(), tt.wantErr) {
				t.Errorf("Err = %v, want one containing %q", c.Err, tt.wantErr)
			}
			if limit := uint64(200*len(tt.in) + 64<<20); n > limit {
				t.Errorf("Parse allocated %d bytes, limit %d", n, limit)
			}
		})
	}
	// Just under the size limit is fine.
	in := "---\na: " + long[:MaxFrontMatterSize-3] + "\n---\n"
	if c := Parse([]byte(in)); c.Err != nil {
		t.Errorf("Parse of a block at the limit: %v", c.Err)
	}
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	type fields struct {
		License, LicenseName, LicenseLink, Relation, Pipeline, Library string
		BaseModels, Datasets, Languages, Tags                          []string
	}
	get := func(c Card) fields {
		return fields{
			c.License(), c.LicenseName(), c.LicenseLink(), c.BaseModelRelation(), c.PipelineTag(), c.LibraryName(),
			c.BaseModels(), c.Datasets(), c.Languages(), c.Tags(),
		}
	}
	tests := []struct {
		name     string
		in       string
		want     fields
		problems []string
	}{
		{
			name: "full",
			in: `license: other
license_name: my-license
license_link: LICENSE
base_model: meta-llama/Llama-3.1-8B
base_model_relation: finetune
datasets: [HuggingFaceH4/ultrachat_200k, HuggingFaceH4/ultrachat_200k]
language: [en, fr]
pipeline_tag: text-generation
library_name: transformers
tags: [chat, " spaced "]`,
			want: fields{"other", "my-license", "LICENSE", "finetune", "text-generation", "transformers",
				[]string{"meta-llama/Llama-3.1-8B"}, []string{"HuggingFaceH4/ultrachat_200k"}, []string{"en", "fr"}, []string{"chat", "spaced"}},
		},
		{
			name: "single strings become lists",
			in:   "base_model: a/b\ndatasets: d/e\nlanguage: en\ntags: one\nlicense: [mit]",
			want: fields{License: "mit", BaseModels: []string{"a/b"}, Datasets: []string{"d/e"}, Languages: []string{"en"}, Tags: []string{"one"}},
		},
		{
			name: "wrong types are skipped",
			in:   "license: 3\nbase_model: [a/b, 1, {x: y}]\ntags: [1, true, ok]\nlanguage: {en: true}\npipeline_tag: [x]",
			want: fields{BaseModels: []string{"a/b"}, Tags: []string{"ok"}},
			problems: []string{
				"pipeline_tag: expected a string, got a list",
				"license: expected a string or a list of strings; 1 item(s) ignored",
				"base_model: expected a string or a list of strings; 2 item(s) ignored",
				"language: expected a string or a list of strings; 1 item(s) ignored",
				"tags: expected a string or a list of strings; 2 item(s) ignored",
			},
		},
		{
			name:     "invalid relation is dropped",
			in:       "base_model: [a/b, c/d]\nbase_model_relation: merged",
			want:     fields{BaseModels: []string{"a/b", "c/d"}},
			problems: []string{`base_model_relation: "merged" is not one of adapter, merge, quantized, finetune`},
		},
		{
			name:     "relation without base model",
			in:       "base_model_relation: adapter",
			problems: []string{"base_model_relation: given without base_model"},
		},
		{
			name: "license and pipeline checks",
			in:   "license: [MIT, apache-2.0]\npipeline_tag: text-generator",
			want: fields{License: "MIT", Pipeline: "text-generator"},
			problems: []string{
				"license: expected one identifier, got 2",
				`license: "MIT" is not a Hub license identifier (use "other" with license_name and license_link)`,
				`pipeline_tag: "text-generator" is not a Hub pipeline tag`,
			},
		},
		{
			name:     "other needs a name and a link",
			in:       "license: other",
			want:     fields{License: "other"},
			problems: []string{`license: "other" needs license_name and license_link`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Parse([]byte("---\n" + tt.in + "\n---\n"))
			if c.Err != nil {
				t.Fatal(c.Err)
			}
			if diff := cmp.Diff(tt.want, get(c)); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, c.Problems); diff != "" {
				t.Errorf("Problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGate(t *testing.T) {
	t.Parallel()
	c := Parse([]byte(`---
extra_gated_prompt: Agree to the terms.
extra_gated_heading: Request access
extra_gated_eu_disallowed: true
extra_gated_fields:
  Name: text
  Country: country
  Affiliation: text
  Use:
    type: select
    options:
      - Research
      - label: Other
        value: other
  I agree: checkbox
  Odd: {}
---
`))
	g, ok := c.Gate()
	if !ok {
		t.Fatal("Gate reported no gate")
	}
	want := Gate{
		Prompt:       "Agree to the terms.",
		Heading:      "Request access",
		EUDisallowed: true,
		Fields: []GateField{
			{Label: "Name", Type: "text"},
			{Label: "Country", Type: "country"},
			{Label: "Affiliation", Type: "text"},
			{Label: "Use", Type: "select", Options: []GateOption{{"Research", "Research"}, {"Other", "other"}}},
			{Label: "I agree", Type: "checkbox"},
			{Label: "Odd", Type: "text"},
		},
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("Gate mismatch (-want +got):\n%s", diff)
	}
	if _, ok := Parse([]byte("---\nlicense: mit\n---\n")).Gate(); ok {
		t.Error("Gate reported a gate for a card without extra_gated_*")
	}
	// A hand-built Card has no recorded order: labels are sorted.
	hand := Card{Data: map[string]any{"extra_gated_fields": map[string]any{"b": "text", "a": "checkbox"}}}
	g, _ = hand.Gate()
	if got := []string{g.Fields[0].Label, g.Fields[1].Label}; !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("hand-built Gate labels = %v", got)
	}
}

func TestHubTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "zephyr-like",
			in: `---
license: mit
base_model: mistralai/Mistral-7B-v0.1
base_model_relation: finetune
datasets:
- HuggingFaceH4/ultrachat_200k
- HuggingFaceH4/ultrafeedback_binarized
language:
- en
library_name: transformers
pipeline_tag: text-generation
tags:
- generated_from_trainer
- text-generation
---
See [DPO](https://arxiv.org/abs/2305.18290v3) and https://arxiv.org/pdf/2310.16944 and again arxiv.org/abs/2305.18290.
Not an id: arxiv.org/abs/2305.183999.
`,
			want: []string{
				"transformers", "text-generation", "generated_from_trainer", "en",
				"dataset:HuggingFaceH4/ultrachat_200k", "dataset:HuggingFaceH4/ultrafeedback_binarized",
				"arxiv:2305.18290", "arxiv:2310.16944",
				"base_model:mistralai/Mistral-7B-v0.1", "base_model:finetune:mistralai/Mistral-7B-v0.1",
				"license:mit",
			},
		},
		{
			name: "merge without explicit relation",
			in:   "---\nbase_model: [a/x, b/y]\n---\n",
			want: []string{"base_model:a/x", "base_model:b/y"},
		},
		{
			name: "explicit merge",
			in:   "---\nbase_model: [a/x, b/y]\nbase_model_relation: merge\n---\n",
			want: []string{"base_model:a/x", "base_model:b/y", "base_model:merge:a/x", "base_model:merge:b/y"},
		},
		{name: "no metadata", in: "# just text", want: nil},
		{name: "invalid metadata", in: "---\n[\n---\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, HubTags(Parse([]byte(tt.in)))); diff != "" {
				t.Errorf("HubTags mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := BaseModelTags([]string{"a/b"}, RelationQuantized); !cmp.Equal(got, []string{"base_model:a/b", "base_model:quantized:a/b"}) {
		t.Errorf("BaseModelTags = %v", got)
	}
}
