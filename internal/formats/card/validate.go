package card

import (
	"fmt"
	"strings"
)

// Repository types [Validate] knows. The Hub also validates Space cards;
// their few fields are checked even though Agora hosts no Spaces, so a
// card prepared here is judged as the Hub would judge it.
const (
	RepoModel   = "model"
	RepoDataset = "dataset"
	RepoSpace   = "space"
)

// MissingMetadata is the Hub's warning, word for word, for a card whose
// metadata block is absent, unclosed or empty.
const MissingMetadata = "empty or missing yaml metadata in repo card"

// Validate checks a parsed card against the Hub's metadata schema for a
// repository of repoType ("" means model), and returns what the Hub would
// refuse (errs) and what it would accept with a remark (warnings).
//
// Messages follow the wording the Hub uses, which is that of its schema
// validator: `"license" must be one of [...]`, `"model-index[0].results"
// is required`, `"tags[1]" must be a string`, with the path of the field
// in quotes. Keys the Hub does not know are allowed. Where the Hub's
// behaviour is not known, the check leans towards accepting: a card this
// refuses would also be refused by the Hub, as far as can be told.
//
// Values may be given as a single string where the Hub takes a list
// (tags: x), as the Hub accepts. Null values count as absent, except for
// license and datasets, which the Hub refuses blank.
func Validate(c Card, repoType string) (errs, warnings []string) {
	k := &checker{}
	switch repoType {
	case "":
		repoType = RepoModel
	case RepoModel, RepoDataset, RepoSpace:
	default:
		k.errorf(`"repoType" must be one of [%s, %s, %s]`, RepoModel, RepoDataset, RepoSpace)
		return k.errs, nil
	}
	if c.Err != nil {
		k.errorf("Invalid YAML in README.md: %s", strings.TrimPrefix(c.Err.Error(), ErrInvalid.Error()+": "))
		return k.errs, nil
	}
	if len(c.Data) == 0 {
		k.warnf("%s", MissingMetadata)
		return nil, k.warns
	}
	k.data = c.Data
	k.common()
	switch repoType {
	case RepoModel:
		k.model()
	case RepoDataset:
		k.dataset()
	case RepoSpace:
		k.space()
	}
	return k.errs, k.warns
}

// checker accumulates the findings of one card. Fields are visited in a
// fixed order so that messages come out in the same order every time.
type checker struct {
	data        map[string]any
	errs, warns []string
}

func (k *checker) errorf(format string, args ...any) {
	k.errs = append(k.errs, fmt.Sprintf(format, args...))
}

func (k *checker) warnf(format string, args ...any) {
	k.warns = append(k.warns, fmt.Sprintf(format, args...))
}

// get returns a top-level value; null counts as absent.
func (k *checker) get(key string) (any, bool) {
	v, ok := k.data[key]
	return v, ok && v != nil
}

func (k *checker) common() {
	k.license()
	for _, key := range []string{"tags", "datasets", "metrics"} {
		k.stringList(key, nil)
	}
	if v, ok := k.data["datasets"]; ok && v == nil {
		k.errorf(`"datasets" must be one of [string, array]`)
	}
	k.stringList("language", func(label, s string) {
		if !validLanguage(s) {
			k.errorf(`"%s" must be a language code (ISO 639-1, 639-2 or 639-3, such as "en" or "fra") or one of [%s]`, label, strings.Join(specialLanguages, ", "))
		}
	})
	for _, key := range []string{"thumbnail", "extra_gated_prompt", "extra_gated_heading", "extra_gated_description", "extra_gated_button_content"} {
		k.topString(key)
	}
	if v, ok := k.get("extra_gated_fields"); ok {
		if _, isMap := v.(map[string]any); !isMap {
			k.errorf(`"extra_gated_fields" must be of type object`)
		}
	}
	if v, ok := k.get("extra_gated_eu_disallowed"); ok {
		k.boolean("extra_gated_eu_disallowed", v)
	}
}

// license checks license (one identifier, or a list for datasets) and its
// companions for "other".
func (k *checker) license() {
	v, present := k.data["license"]
	if !present {
		return
	}
	all := "[" + strings.Join(hubLicenseIDs, ", ")
	switch x := v.(type) {
	case string:
		if !hubLicenses[x] {
			k.errorf(`"license" must be one of %s, array]`, all)
		}
	case []any:
		for i, item := range x {
			if s, ok := item.(string); !ok || !hubLicenses[s] {
				k.errorf(`"license[%d]" must be one of %s]`, i, all)
			}
		}
	default:
		k.errorf(`"license" must be one of %s, array]`, all)
	}
	k.topString("license_name")
	k.topString("license_link")
	if isOther(v) {
		_, hasName := k.get("license_name")
		_, hasLink := k.get("license_link")
		if !hasName || !hasLink {
			k.warnf(`"license" is "other": give the license a "license_name" (such as my-license-1.0) and a "license_link" (LICENSE, LICENSE.md or a URL)`)
		}
	}
}

func isOther(v any) bool {
	switch x := v.(type) {
	case string:
		return x == "other"
	case []any:
		for _, item := range x {
			if item == "other" {
				return true
			}
		}
	}
	return false
}

func (k *checker) model() {
	if v, ok := k.get("pipeline_tag"); ok {
		if s, isStr := v.(string); !isStr || !pipelineTags[s] {
			k.errorf(`"pipeline_tag" must be one of [%s]`, strings.Join(pipelineTypes, ", "))
		}
	}
	k.topString("library_name")
	k.topString("new_version")
	k.stringList("base_model", func(label, s string) {
		if !validRepoID(s) {
			k.errorf(`"%s" with value "%s" is not valid. Use a model id from https://hf.co/models.`, label, s)
		}
	})
	if v, ok := k.get("base_model_relation"); ok {
		if s, isStr := v.(string); !isStr || !validRelation(s) {
			k.errorf(`"base_model_relation" must be one of [%s, %s, %s, %s]`, RelationAdapter, RelationMerge, RelationQuantized, RelationFinetune)
		} else if _, hasBase := k.get("base_model"); !hasBase {
			k.warnf(`"base_model_relation" is ignored without "base_model"`)
		}
	}
	if v, ok := k.get("inference"); ok {
		switch v.(type) {
		case bool, map[string]any:
		default:
			k.errorf(`"inference" must be one of [boolean, object]`)
		}
	}
	if v, ok := k.get("widget"); ok {
		k.widget(v)
	}
	if v, ok := k.get("model-index"); ok {
		k.modelIndex(v)
	}
}

func (k *checker) widget(v any) {
	items, ok := v.([]any)
	if !ok {
		k.errorf(`"widget" must be an array`)
		return
	}
	for i, item := range items {
		label := fmt.Sprintf("widget[%d]", i)
		m, ok := k.object(label, item)
		if !ok {
			continue
		}
		for _, key := range []string{"example_title", "text", "src"} {
			k.optString(label, m, key)
		}
	}
}

// modelIndex checks the evaluation results against the spec in hub-docs
// modelcard.md: the fields it marks required are required.
func (k *checker) modelIndex(v any) {
	models, ok := v.([]any)
	if !ok {
		k.errorf(`"model-index" must be an array`)
		return
	}
	for i, mv := range models {
		ml := fmt.Sprintf("model-index[%d]", i)
		m, ok := k.object(ml, mv)
		if !ok {
			continue
		}
		k.optString(ml, m, "name")
		results, _ := k.array(ml, m, "results", true)
		for j, rv := range results {
			rl := fmt.Sprintf("%s.results[%d]", ml, j)
			r, ok := k.object(rl, rv)
			if !ok {
				continue
			}
			if task, ok := k.field(rl, r, "task", true); ok {
				tl := rl + ".task"
				k.reqString(tl, task, "type")
				k.optString(tl, task, "name")
			}
			if ds, ok := k.field(rl, r, "dataset", true); ok {
				dl := rl + ".dataset"
				k.reqString(dl, ds, "type")
				k.reqString(dl, ds, "name")
				for _, key := range []string{"config", "split", "revision"} {
					k.optString(dl, ds, key)
				}
			}
			metrics, _ := k.array(rl, r, "metrics", true)
			for n, xv := range metrics {
				xl := fmt.Sprintf("%s.metrics[%d]", rl, n)
				metric, ok := k.object(xl, xv)
				if !ok {
					continue
				}
				k.reqString(xl, metric, "type")
				if _, present := metric["value"]; !present {
					k.errorf(`"%s.value" is required`, xl)
				}
				for _, key := range []string{"name", "config", "verifyToken"} {
					k.optString(xl, metric, key)
				}
				if b, present := metric["verified"]; present {
					k.boolean(xl+".verified", b)
				}
			}
			if src, ok := k.field(rl, r, "source", false); ok {
				sl := rl + ".source"
				k.reqString(sl, src, "url")
				k.optString(sl, src, "name")
			}
		}
	}
}

func (k *checker) dataset() {
	k.stringList("task_categories", func(label, s string) {
		if !pipelineTags[s] {
			k.errorf(`"%s" must be one of [%s]`, label, strings.Join(pipelineTypes, ", "))
		}
	})
	k.stringList("task_ids", func(label, s string) {
		if !subtaskSet[s] {
			k.errorf(`"%s" must be one of [%s]`, label, strings.Join(subtaskTypes, ", "))
		}
	})
	k.stringList("size_categories", func(label, s string) {
		if !sizeCategorySet[s] {
			k.errorf(`"%s" must be one of [%s]`, label, strings.Join(sizeCategories, ", "))
		}
	})
	for _, key := range []string{"annotations_creators", "language_creators", "multilinguality", "source_datasets"} {
		k.stringList(key, nil)
	}
	k.topString("pretty_name")
	k.topString("paperswithcode_id")
	if v, ok := k.get("dataset_info"); ok {
		switch v.(type) {
		case map[string]any, []any:
		default:
			k.errorf(`"dataset_info" must be one of [object, array]`)
		}
	}
	if v, ok := k.get("configs"); ok {
		k.configs(v)
	}
}

// configs checks the data files layout the datasets library and the
// dataset viewer read: a list of named configurations.
func (k *checker) configs(v any) {
	items, ok := v.([]any)
	if !ok {
		k.errorf(`"configs" must be an array`)
		return
	}
	seen := make(map[string]bool)
	for i, item := range items {
		label := fmt.Sprintf("configs[%d]", i)
		m, ok := k.object(label, item)
		if !ok {
			continue
		}
		if name, ok := k.reqString(label, m, "config_name"); ok {
			if seen[name] {
				k.errorf(`"%s" contains a duplicate value`, label)
			}
			seen[name] = true
		}
		k.optString(label, m, "data_dir")
		if b, present := m["default"]; present {
			k.boolean(label+".default", b)
		}
		files, present := m["data_files"]
		if !present {
			continue
		}
		fl := label + ".data_files"
		switch x := files.(type) {
		case string:
		case []any:
			for j, f := range x {
				jl := fmt.Sprintf("%s[%d]", fl, j)
				switch y := f.(type) {
				case string:
				case map[string]any:
					k.reqString(jl, y, "split")
					k.paths(jl, y)
				default:
					k.errorf(`"%s" must be one of [string, object]`, jl)
				}
			}
		default:
			k.errorf(`"%s" must be one of [string, array]`, fl)
		}
	}
}

// paths checks the path of a split: a pattern or a list of them.
func (k *checker) paths(label string, m map[string]any) {
	v, present := m["path"]
	if !present {
		k.errorf(`"%s.path" is required`, label)
		return
	}
	k.stringOrList(label+".path", v, nil)
}

// spaceColors are the gradient colours of a Space card.
var spaceColors = []string{"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}

// spaceSDKs are the SDKs a Space can run.
var spaceSDKs = []string{"gradio", "streamlit", "docker", "static"}

func (k *checker) space() {
	for _, key := range []string{"title", "emoji", "sdk_version", "app_file"} {
		k.topString(key)
	}
	k.enum("sdk", spaceSDKs)
	k.enum("colorFrom", spaceColors)
	k.enum("colorTo", spaceColors)
	if v, ok := k.get("short_description"); ok {
		if s, isStr := v.(string); !isStr {
			k.errorf(`"short_description" must be a string`)
		} else if n := len([]rune(s)); n > 60 {
			k.errorf(`"short_description" length must be less than or equal to 60 characters long`)
		}
	}
	if v, ok := k.get("app_port"); ok {
		switch v.(type) {
		case int64, uint64, float64:
		default:
			k.errorf(`"app_port" must be a number`)
		}
	}
	if v, ok := k.get("pinned"); ok {
		k.boolean("pinned", v)
	}
}

// enum checks a top-level string with a closed set of values.
func (k *checker) enum(key string, values []string) {
	v, ok := k.get(key)
	if !ok {
		return
	}
	s, isStr := v.(string)
	for _, w := range values {
		if isStr && s == w {
			return
		}
	}
	k.errorf(`"%s" must be one of [%s]`, key, strings.Join(values, ", "))
}

// topString checks that a top-level field, when given, is a string.
func (k *checker) topString(key string) {
	if v, ok := k.get(key); ok {
		if _, isStr := v.(string); !isStr {
			k.errorf(`"%s" must be a string`, key)
		}
	}
}

// stringList checks a top-level field that takes a string or a list of
// strings, calling each (when not nil) on every string with its label.
func (k *checker) stringList(key string, each func(label, s string)) {
	if v, ok := k.get(key); ok {
		k.stringOrList(key, v, each)
	}
}

func (k *checker) stringOrList(label string, v any, each func(label, s string)) {
	switch x := v.(type) {
	case string:
		if each != nil {
			each(label, x)
		}
	case []any:
		for i, item := range x {
			il := fmt.Sprintf("%s[%d]", label, i)
			s, ok := item.(string)
			if !ok {
				k.errorf(`"%s" must be a string`, il)
				continue
			}
			if each != nil {
				each(il, s)
			}
		}
	default:
		k.errorf(`"%s" must be one of [string, array]`, label)
	}
}

func (k *checker) boolean(label string, v any) {
	if _, ok := v.(bool); !ok {
		k.errorf(`"%s" must be a boolean`, label)
	}
}

// object checks that v is a mapping.
func (k *checker) object(label string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		k.errorf(`"%s" must be of type object`, label)
	}
	return m, ok
}

// field returns m[key] as a mapping, reporting it missing when required.
func (k *checker) field(parent string, m map[string]any, key string, required bool) (map[string]any, bool) {
	v, present := m[key]
	if !present {
		if required {
			k.errorf(`"%s.%s" is required`, parent, key)
		}
		return nil, false
	}
	return k.object(parent+"."+key, v)
}

// array returns m[key] as a list, reporting it missing when required.
func (k *checker) array(parent string, m map[string]any, key string, required bool) ([]any, bool) {
	v, present := m[key]
	if !present {
		if required {
			k.errorf(`"%s.%s" is required`, parent, key)
		}
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		k.errorf(`"%s.%s" must be an array`, parent, key)
	}
	return a, ok
}

func (k *checker) reqString(parent string, m map[string]any, key string) (string, bool) {
	v, present := m[key]
	if !present {
		k.errorf(`"%s.%s" is required`, parent, key)
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		k.errorf(`"%s.%s" must be a string`, parent, key)
	}
	return s, ok
}

func (k *checker) optString(parent string, m map[string]any, key string) {
	if v, present := m[key]; present && v != nil {
		if _, ok := v.(string); !ok {
			k.errorf(`"%s.%s" must be a string`, parent, key)
		}
	}
}

// specialLanguages are the values the Hub takes in language besides
// language codes.
var specialLanguages = []string{"code", "multilingual"}

// validLanguage accepts the shape of an ISO 639 code: two or three
// lower-case letters. The Hub checks against the code tables themselves
// and refuses regional forms such as en-US; unassigned codes of the
// right shape pass here.
func validLanguage(s string) bool {
	for _, w := range specialLanguages {
		if s == w {
			return true
		}
	}
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// validRepoID reports whether s is a repository id: "name" or
// "namespace/name", each part 1 to 96 letters, digits, '-', '_' or '.',
// not starting or ending with '-' or '.', without "--" or "..", and not
// ending in ".git" (huggingface_hub validate_repo_id). Local paths and
// URLs, the usual mistakes in base_model, fail.
func validRepoID(s string) bool {
	ns, name, found := strings.Cut(s, "/")
	if !found {
		return validRepoName(s)
	}
	return validRepoName(ns) && validRepoName(name)
}

func validRepoName(s string) bool {
	if len(s) == 0 || len(s) > 96 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	edge := func(c byte) bool { return c == '-' || c == '.' }
	if edge(s[0]) || edge(s[len(s)-1]) {
		return false
	}
	return !strings.Contains(s, "--") && !strings.Contains(s, "..") && !strings.HasSuffix(strings.ToLower(s), ".git")
}

// hubLicenseIDs are the license identifiers in the order the Hub lists
// them in its "must be one of" message (as quoted in huggingface_hub
// issue 4218), with openmdw-1.1, added since, after openmdw-1.0. It holds
// the same identifiers as hubLicenses (hub-docs repositories-licenses.md);
// a test keeps the two equal.
var hubLicenseIDs = strings.Fields(`
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m
bigscience-bloom-rail-1.0 bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0
bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0
cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0
etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1
lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr
mpl-2.0 odc-by odbl openmdw-1.0 openmdw-1.1 openrail++ osl-3.0 postgresql
ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license
fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3
llama4 grok2-community gemma unknown other`)

// pipelineTypes are the Hub's tasks in the order of huggingface.js
// packages/tasks pipelines.ts (PIPELINE_TYPES); they are the values of a
// model's pipeline_tag and of a dataset's task_categories. A test keeps
// them equal to pipelineTags.
var pipelineTypes = strings.Fields(`
text-classification token-classification table-question-answering
question-answering zero-shot-classification translation summarization
feature-extraction text-generation fill-mask sentence-similarity
text-to-speech text-to-audio automatic-speech-recognition audio-to-audio
audio-classification audio-text-to-text voice-activity-detection
depth-estimation image-classification object-detection image-segmentation
text-to-image image-to-text image-to-image image-to-video
unconditional-image-generation video-classification reinforcement-learning
robotics tabular-classification tabular-regression tabular-to-text
table-to-text multiple-choice text-ranking text-retrieval
time-series-forecasting text-to-video image-text-to-text image-text-to-image
image-text-to-video visual-question-answering document-question-answering
zero-shot-image-classification graph-ml mask-generation
zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction
video-text-to-text keypoint-detection visual-document-retrieval any-to-any
video-to-video other`)

// subtaskTypes are the values of a dataset's task_ids: the subtasks of
// pipelines.ts (SUBTASK_TYPES), without repeats.
var subtaskTypes = strings.Fields(`
acceptability-classification entity-linking-classification fact-checking
intent-classification language-identification multi-class-classification
multi-label-classification multi-input-text-classification
natural-language-inference semantic-similarity-classification
sentiment-classification topic-classification semantic-similarity-scoring
sentiment-scoring sentiment-analysis hate-speech-detection text-scoring
named-entity-recognition part-of-speech parsing lemmatization
word-sense-disambiguation coreference-resolution extractive-qa
open-domain-qa closed-domain-qa news-articles-summarization
news-articles-headline-generation dialogue-modeling dialogue-generation
conversational language-modeling text-simplification explanation-generation
abstractive-qa open-domain-abstractive-qa open-book-qa closed-book-qa
text2text-generation slot-filling masked-language-modeling keyword-spotting
speaker-identification audio-intent-classification audio-emotion-recognition
audio-language-identification multi-label-image-classification
multi-class-image-classification face-detection vehicle-detection
instance-segmentation semantic-segmentation panoptic-segmentation
image-captioning image-inpainting image-colorization super-resolution
grasping task-planning tabular-multi-class-classification
tabular-multi-label-classification tabular-single-column-regression
rdf-to-text multiple-choice-qa multiple-choice-coreference-resolution
document-retrieval utterance-retrieval entity-linking-retrieval
fact-checking-retrieval univariate-time-series-forecasting
multivariate-time-series-forecasting visual-question-answering
document-question-answering pose-estimation`)

// sizeCategories are the values of a dataset's size_categories
// (huggingface_hub DatasetCardData).
var sizeCategories = strings.Fields(`
n<1K 1K<n<10K 10K<n<100K 100K<n<1M 1M<n<10M 10M<n<100M 100M<n<1B 1B<n<10B
10B<n<100B 100B<n<1T n>1T other`)

var (
	subtaskSet      = set(strings.Join(subtaskTypes, " "))
	sizeCategorySet = set(strings.Join(sizeCategories, " "))
)
