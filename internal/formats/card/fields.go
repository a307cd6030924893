package card

import (
	"fmt"
	"slices"
	"strings"
)

// Relations a card may give in base_model_relation.
const (
	RelationAdapter   = "adapter"
	RelationMerge     = "merge"
	RelationQuantized = "quantized"
	RelationFinetune  = "finetune"
)

// str returns the trimmed string value of key, or "" when it is absent or
// not a string.
func (c Card) str(key string) string {
	s, _ := c.Data[key].(string)
	return strings.TrimSpace(s)
}

// list returns the value of key as a list of strings: a single string is a
// list of one. Non-string items and empty strings are skipped; duplicates
// are dropped, keeping the first.
func (c Card) list(key string) []string {
	items, _ := stringItems(c.Data[key])
	return items
}

// stringItems flattens a string or a list into trimmed, non-empty,
// distinct strings and reports how many items were not strings.
func stringItems(v any) (items []string, bad int) {
	var raw []any
	switch x := v.(type) {
	case nil:
		return nil, 0
	case string:
		raw = []any{x}
	case []any:
		raw = x
	default:
		return nil, 1
	}
	for _, r := range raw {
		s, ok := r.(string)
		if !ok {
			bad++
			continue
		}
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(items, s) {
			items = append(items, s)
		}
	}
	return items, bad
}

// License returns the license identifier (e.g. "apache-2.0"), or "". A
// list gives its first item ([Card.Problems] notes the list).
func (c Card) License() string {
	if l := c.list("license"); len(l) > 0 {
		return l[0]
	}
	return ""
}

// LicenseName returns license_name, the slug of a license "other".
func (c Card) LicenseName() string { return c.str("license_name") }

// LicenseLink returns license_link: a file in the repository (LICENSE,
// LICENSE.md) or a URL.
func (c Card) LicenseLink() string { return c.str("license_link") }

// BaseModels returns base_model, a model id or a list of them.
func (c Card) BaseModels() []string { return c.list("base_model") }

// BaseModelRelation returns base_model_relation when it is one of
// adapter, merge, quantized and finetune and the card has a base model;
// otherwise "" (the Hub then infers the relation).
func (c Card) BaseModelRelation() string {
	r := c.str("base_model_relation")
	if !validRelation(r) || len(c.BaseModels()) == 0 {
		return ""
	}
	return r
}

func validRelation(r string) bool {
	switch r {
	case RelationAdapter, RelationMerge, RelationQuantized, RelationFinetune:
		return true
	}
	return false
}

// Datasets returns the dataset ids of datasets.
func (c Card) Datasets() []string { return c.list("datasets") }

// Languages returns the language codes of language.
func (c Card) Languages() []string { return c.list("language") }

// PipelineTag returns pipeline_tag, or "".
func (c Card) PipelineTag() string { return c.str("pipeline_tag") }

// LibraryName returns library_name, or "".
func (c Card) LibraryName() string { return c.str("library_name") }

// Tags returns the free-form tags.
func (c Card) Tags() []string { return c.list("tags") }

// Gate is the access-request form a gated repository shows, from the
// card's extra_gated_* fields.
type Gate struct {
	Prompt        string // extra_gated_prompt
	Heading       string // extra_gated_heading
	Description   string // extra_gated_description
	ButtonContent string // extra_gated_button_content
	// EUDisallowed is extra_gated_eu_disallowed: refuse requests from the
	// EU (by IP).
	EUDisallowed bool
	// Fields are the form's fields, in the order written.
	Fields []GateField
}

// GateField is one field of the access-request form.
type GateField struct {
	Label string
	// Type is text, checkbox, date_picker, country or select (or whatever
	// the card says; the Hub shows unknown types as text).
	Type string
	// Options are the choices of a select.
	Options []GateOption
}

// GateOption is a choice of a select field. Options written as plain
// strings have Value equal to Label.
type GateOption struct {
	Label string
	Value string
}

// Gate returns the access-request form, and false when the card has no
// extra_gated_* field.
func (c Card) Gate() (Gate, bool) {
	g := Gate{
		Prompt:        c.str("extra_gated_prompt"),
		Heading:       c.str("extra_gated_heading"),
		Description:   c.str("extra_gated_description"),
		ButtonContent: c.str("extra_gated_button_content"),
	}
	g.EUDisallowed, _ = c.Data["extra_gated_eu_disallowed"].(bool)
	found := false
	for k := range c.Data {
		if strings.HasPrefix(k, "extra_gated_") {
			found = true
			break
		}
	}
	fields, _ := c.Data["extra_gated_fields"].(map[string]any)
	order := c.gateOrder
	if len(order) != len(fields) {
		order = make([]string, 0, len(fields))
		for k := range fields {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	for _, label := range order {
		v, ok := fields[label]
		if !ok {
			continue
		}
		f := GateField{Label: label}
		switch x := v.(type) {
		case string:
			f.Type = x
		case map[string]any:
			f.Type, _ = x["type"].(string)
			opts, _ := x["options"].([]any)
			for _, o := range opts {
				switch y := o.(type) {
				case string:
					f.Options = append(f.Options, GateOption{Label: y, Value: y})
				case map[string]any:
					l, _ := y["label"].(string)
					v, _ := y["value"].(string)
					f.Options = append(f.Options, GateOption{Label: l, Value: v})
				}
			}
		}
		if f.Type == "" {
			f.Type = "text"
		}
		g.Fields = append(g.Fields, f)
	}
	return g, found
}

// validate lists what the Hub would reject in the known fields.
func validate(c Card) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	str := func(key string) {
		if v, ok := c.Data[key]; ok && v != nil {
			if _, isStr := v.(string); !isStr {
				add("%s: expected a string, got %s", key, typeName(v))
			}
		}
	}
	list := func(key string) {
		if v, ok := c.Data[key]; ok && v != nil {
			if _, bad := stringItems(v); bad > 0 {
				add("%s: expected a string or a list of strings; %d item(s) ignored", key, bad)
			}
		}
	}
	for _, k := range []string{"license_name", "license_link", "base_model_relation", "pipeline_tag", "library_name", "new_version"} {
		str(k)
	}
	for _, k := range []string{"license", "base_model", "datasets", "language", "tags"} {
		list(k)
	}

	licenses := c.list("license")
	if len(licenses) > 1 {
		add("license: expected one identifier, got %d", len(licenses))
	}
	for _, l := range licenses {
		if !hubLicenses[l] {
			add("license: %q is not a Hub license identifier (use \"other\" with license_name and license_link)", l)
		}
	}
	if c.License() == "other" && (c.LicenseName() == "" || c.LicenseLink() == "") {
		add("license: \"other\" needs license_name and license_link")
	}
	if r := c.str("base_model_relation"); r != "" {
		if !validRelation(r) {
			add("base_model_relation: %q is not one of adapter, merge, quantized, finetune", r)
		} else if len(c.BaseModels()) == 0 {
			add("base_model_relation: given without base_model")
		}
	}
	if t := c.PipelineTag(); t != "" && !pipelineTags[t] {
		add("pipeline_tag: %q is not a Hub pipeline tag", t)
	}
	return p
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

func set(words string) map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// hubLicenses are the license identifiers the Hub accepts
// (hub-docs repositories-licenses.md).
var hubLicenses = set(`
apache-2.0 mit afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause
bsd-3-clause-clear ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2
agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl
mpl-2.0 osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib wtfpl
cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0
cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0
cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0
c-uda cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 odc-by odbl pddl
openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m openrail++ openmdw-1.0 openmdw-1.1 h-research
intel-research apple-ascl apple-amlr lgpl-lr deepfloyd-if-license
fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3
llama4 grok2-community gemma
unknown other`)

// pipelineTags are the Hub's pipeline tags (huggingface.js pipelines.ts).
var pipelineTags = set(`
text-classification token-classification table-question-answering
question-answering zero-shot-classification translation summarization
feature-extraction text-generation fill-mask sentence-similarity
text-to-speech text-to-audio automatic-speech-recognition audio-to-audio
audio-classification audio-text-to-text voice-activity-detection
depth-estimation image-classification object-detection image-segmentation
text-to-image image-to-text image-to-image image-to-video
unconditional-image-generation video-classification
reinforcement-learning robotics tabular-classification tabular-regression
tabular-to-text table-to-text multiple-choice text-ranking text-retrieval
time-series-forecasting
text-to-video image-text-to-text image-text-to-image image-text-to-video
visual-question-answering document-question-answering
zero-shot-image-classification graph-ml mask-generation
zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction
video-text-to-text keypoint-detection visual-document-retrieval any-to-any
video-to-video other`)
