package openness

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Input is what Classify looks at. Every field is optional.
type Input struct {
	// Files are the repository's file paths at the revision.
	Files []string
	// Card is the README's YAML front matter as JSON-like values
	// (map[string]any, []any, string, numbers, bool, nil), as
	// formats/card's Card.Data gives it.
	Card map[string]any
	// Readme is the README's Markdown body, after the front matter.
	Readme string
	// LicenseTexts maps the paths of license files to the beginning of
	// their text (the first kilobyte is enough). A file whose name
	// mentions code (LICENSE-CODE), the model or weights (MODEL_LICENSE,
	// LICENSE-WEIGHTS), data or docs licenses that kind of component;
	// any other (LICENSE, COPYING) licenses the whole release.
	LicenseTexts map[string]string
	// Datasets are facts the caller knows about datasets the card lists
	// (in datasets: or model-index results), keyed by dataset id, for
	// example from dataset repositories on the same hub.
	Datasets map[string]Dataset
	// Branches are the repository's branch names; branches named like
	// training checkpoints are intermediate parameters.
	Branches []string
}

// Dataset is what the caller knows about a dataset.
type Dataset struct {
	// License is its license identifier (Hub or SPDX spelling), "" when
	// unknown.
	License string
	// HasCard reports that the dataset has a dataset card.
	HasCard bool
}

// Status of a component.
const (
	// StatusPresent: found, under an open license.
	StatusPresent = "present"
	// StatusMissing: not found.
	StatusMissing = "missing"
	// StatusNonOpen: found, but under a license MOF does not count as
	// open, or under none.
	StatusNonOpen = "non-open-license"
)

// Component is the verdict on one MOF component.
type Component struct {
	// ID is the component's id in the Model Openness Tool.
	ID int `json:"id"`
	// Name is the MOF name, e.g. "Model parameters (Final)".
	Name string `json:"name"`
	// Class is the MOF class the component belongs to: 3, 2 or 1.
	Class int `json:"class"`
	// Type is Code, Data or Document.
	Type string `json:"type"`
	// Required reports whether the class requires the component.
	Required bool `json:"required"`
	// Status is StatusPresent, StatusMissing or StatusNonOpen.
	Status string `json:"status"`
	// License is the license the component was judged under (SPDX
	// spelling where one exists), "" when missing or unlicensed.
	License string `json:"license,omitempty"`
	// Evidence says what the component was found from: "file: train.py",
	// "card: model-index", "README § Evaluation", "link: https://…",
	// "library: transformers", "branch: step1000", …
	Evidence string `json:"evidence,omitempty"`
	// Note explains an assumption or a caveat, e.g. that the license was
	// taken from the card because the component has none of its own.
	Note string `json:"note,omitempty"`
}

// ClassProgress counts the required components of one class that are
// present under an open license.
type ClassProgress struct {
	Class int `json:"class"`
	Met   int `json:"met"`
	Total int `json:"total"`
}

// Result is a repository's openness classification.
type Result struct {
	// Class is the MOF class: 1 (Class I, open science), 2 (Class II,
	// open tooling), 3 (Class III, open model), or 0 (not open: Class
	// III is not met).
	Class int `json:"class"`
	// Label is the class's MOF label.
	Label string `json:"label"`
	// License is the license of the release as a whole (from the card,
	// else from a LICENSE file), "" when there is none.
	License string `json:"license,omitempty"`
	// Components are the 17 MOF components, in MOF order.
	Components []Component `json:"components"`
	// Progress is per class, from Class III to Class I.
	Progress []ClassProgress `json:"progress"`
	// Tags are the search tags: "openness:class-N" for the class reached
	// and every lower one (MOF classes are cumulative, so a filter on
	// class-2 finds Class II and Class I models), or "openness:none".
	Tags []string `json:"tags"`
}

// Labels of the classes, as the Model Openness Tool writes them.
var labels = map[int]string{
	0: "Not open (MOF Class III not met)",
	1: "Class I - Open Science Model",
	2: "Class II - Open Tooling Model",
	3: "Class III - Open Model",
}

// Classify computes the MOF class of a repository. It is a pure function
// of in.
func Classify(in Input) Result {
	c := newClassifier(in)
	comps := make([]Component, len(rules))
	for i, r := range rules {
		comps[i] = c.component(r)
	}
	found := slices.Clone(comps)
	standIn(comps, found, IDTechnicalReport, IDResearchPaper, "the research paper stands in for the technical report (MOF)")
	standIn(comps, found, IDResearchPaper, IDTechnicalReport, "the technical report stands in for the research paper (MOF)")

	res := Result{Components: comps, License: c.dist.lic.SPDX}
	met := map[int]bool{}
	for class := 3; class >= 1; class-- {
		p := ClassProgress{Class: class}
		for _, cp := range comps {
			if cp.Class == class && cp.Required {
				p.Total++
				if cp.Status == StatusPresent {
					p.Met++
				}
			}
		}
		res.Progress = append(res.Progress, p)
		met[class] = p.Met == p.Total
	}
	for class := 3; class >= 1 && met[class]; class-- {
		res.Class = class
	}
	res.Label = labels[res.Class]
	if res.Class == 0 {
		res.Tags = []string{"openness:none"}
	}
	for class := 3; class >= 1 && res.Class != 0 && class >= res.Class; class-- {
		res.Tags = append([]string{fmt.Sprintf("openness:class-%d", class)}, res.Tags...)
	}
	return res
}

// standIn lets component `by` satisfy component `id` when `by` did
// better, as MOF lets a research paper and a technical report replace
// each other. It compares what was found for each (found), so the two
// never feed each other.
func standIn(comps, found []Component, id, by int, note string) {
	i := slices.IndexFunc(found, func(c Component) bool { return c.ID == id })
	j := slices.IndexFunc(found, func(c Component) bool { return c.ID == by })
	if rank(found[j].Status) <= rank(found[i].Status) {
		return
	}
	c := found[i]
	c.Status, c.License, c.Evidence = found[j].Status, found[j].License, found[j].Evidence
	c.Note = joinNotes(note, found[j].Note)
	comps[i] = c
}

func rank(status string) int {
	switch status {
	case StatusPresent:
		return 2
	case StatusNonOpen:
		return 1
	}
	return 0
}

func joinNotes(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// verdict is a resolved license and where it came from.
type verdict struct {
	lic      license
	known    bool
	evidence string
	note     string
}

type classifier struct {
	in       Input
	files    []file
	sections []section
	lines    []string
	// Licenses from LICENSE files by kind: "code", "model", "data",
	// "document", and "" for the whole release.
	texts map[string]verdict
	dist  verdict
}

func newClassifier(in Input) *classifier {
	c := &classifier{in: in, texts: map[string]verdict{}}
	for _, f := range in.Files {
		c.files = append(c.files, newFile(f))
	}
	body := stripComments(in.Readme)
	c.sections = sections(body)
	c.lines = strings.Split(body, "\n")
	paths := make([]string, 0, len(in.LicenseTexts))
	for p := range in.LicenseTexts {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		id := identifyText(in.LicenseTexts[p])
		if id == "" {
			continue
		}
		kind := licenseKind(p)
		if _, dup := c.texts[kind]; dup {
			continue
		}
		l, known := lookupLicense(id)
		c.texts[kind] = verdict{lic: l, known: known, evidence: "file: " + p}
	}
	c.dist = c.distribution()
	return c
}

// licenseKind classifies a license file by its name.
func licenseKind(p string) string {
	base := strings.ToLower(path.Base(p))
	switch {
	case strings.Contains(base, "code"), strings.Contains(base, "software"):
		return Code
	case strings.Contains(base, "model"), strings.Contains(base, "weight"), strings.Contains(base, "param"):
		return "model"
	case strings.Contains(base, "data"):
		return Data
	case strings.Contains(base, "doc"):
		return Document
	}
	return ""
}

// distribution resolves the license of the release as a whole: the
// card's license when it is a known identifier other than "other" or
// "unknown" (the most restrictive of several), else a LICENSE file's,
// else whatever the card says. A LICENSE file recognised as a non-open
// license overrides an open card license: the stricter wins when they
// disagree. An unrecognised LICENSE text does not.
func (c *classifier) distribution() verdict {
	var ids []string
	switch v := c.in.Card["license"].(type) {
	case string:
		ids = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				ids = append(ids, s)
			}
		}
	}
	var card *verdict
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		l, known := lookupLicense(id)
		v := verdict{lic: l, known: known, evidence: "card: license: " + id}
		if id == "other" || id == "unknown" {
			if name, _ := c.in.Card["license_name"].(string); name != "" {
				v.evidence += " (license_name: " + name + ")"
			}
		}
		if card == nil || card.lic.Open && !l.Open {
			card = &v
		}
	}
	text, hasText := c.texts[""]
	switch {
	case card != nil && card.known && card.lic.SPDX != "other" && card.lic.SPDX != "unknown":
		if hasText && text.known && card.lic.Open && !text.lic.Open && text.lic.SPDX != "other" {
			text.note = "the card says " + card.lic.SPDX + " but the license file is " + text.lic.SPDX
			return text
		}
		return *card
	case hasText:
		return text
	case card != nil:
		return *card
	}
	return verdict{}
}

// component finds one component and judges its license.
func (c *classifier) component(r rule) Component {
	comp := Component{ID: r.ID, Name: r.Name, Class: r.Class, Type: r.Type, Required: r.Required, Status: StatusMissing}
	ev, specific, ok := c.find(r)
	if !ok {
		return comp
	}
	comp.Evidence = ev
	v := c.licenseFor(r, specific)
	comp.License, comp.Note = v.lic.SPDX, v.note
	switch {
	case v.lic.SPDX == "":
		comp.Status = StatusNonOpen
		comp.Note = joinNotes("no license found", comp.Note)
	case !v.lic.Open:
		comp.Status = StatusNonOpen
		if !v.known {
			comp.Note = joinNotes("unrecognised license", comp.Note)
		}
	default:
		comp.Status = StatusPresent
		if !v.lic.fits(r.Type) {
			comp.Note = joinNotes(fmt.Sprintf("%s is open, but not a license MOF recommends for %s", v.lic.SPDX, typeNames[r.Type]), comp.Note)
		}
	}
	return comp
}

var typeNames = map[string]string{Code: "code", Data: "data", Document: "documentation"}

// licenseFor resolves a component's license as MOT does: its own license
// (specific), else the license for its content type, else the release's.
func (c *classifier) licenseFor(r rule, specific *verdict) verdict {
	if specific != nil {
		return *specific
	}
	kinds := []string{r.Type}
	if r.ID == IDFinalParameters || r.ID == IDIntermediateParams {
		kinds = []string{"model", Data}
	}
	for _, k := range kinds {
		if v, ok := c.texts[k]; ok {
			return v
		}
	}
	v := c.dist
	if v.lic.SPDX != "" {
		v.note = joinNotes("license of the release ("+v.evidence+")", v.note)
	}
	return v
}

// find looks for a component with each of the rule's sources in turn. It
// returns the evidence and, when the source implies one, the component's
// own license.
func (c *classifier) find(r rule) (evidence string, specific *verdict, ok bool) {
	if f, found := c.matchFiles(r); found {
		return "file: " + f, nil, true
	}
	for _, k := range r.Card {
		if nonEmpty(c.in.Card[k]) {
			return "card: " + k, nil, true
		}
	}
	if r.Detect != noDetector {
		if ev, spec, found := c.detect(r.Detect); found {
			return ev, spec, true
		}
	}
	for _, s := range c.sections {
		if s.matches(r.Headings) && s.substantive(r.Figures) {
			return "README § " + s.title, nil, true
		}
	}
	if len(r.Links) > 0 {
		if ev, spec, found := c.matchLinks(r); found {
			return ev, spec, true
		}
	}
	return "", nil, false
}

// file is a repository path prepared for matching.
type file struct {
	orig  string   // as given
	lower string   // lower-cased
	base  string   // lower-cased base name
	dirs  []string // lower-cased directory names
}

func newFile(p string) file {
	f := file{orig: p, lower: strings.ToLower(p)}
	f.base = path.Base(f.lower)
	if d := path.Dir(f.lower); d != "." && d != "/" {
		f.dirs = strings.Split(d, "/")
	}
	return f
}

// matchFiles returns the first file, in the given order, that a rule's
// patterns match.
func (c *classifier) matchFiles(r rule) (string, bool) {
	if len(r.Files) == 0 {
		return "", false
	}
	for i := range c.files {
		f := &c.files[i]
		if !f.matchAny(r.files) || f.matchAny(r.except) {
			continue
		}
		if r.Type == Code && !hasCodeExt(f.base) && !f.namesExt(r.files) {
			continue
		}
		return f.orig, true
	}
	return "", false
}

// matchAny reports whether the file matches one of patterns.
func (f *file) matchAny(patterns []pattern) bool {
	for i := range patterns {
		if f.match(&patterns[i]) {
			return true
		}
	}
	return false
}

func (f *file) match(p *pattern) bool {
	if !p.base.match(f.base) {
		return false
	}
	if !p.nested {
		return true
	}
	for _, dir := range f.dirs {
		if p.dir.match(dir) {
			return true
		}
	}
	return false
}

// namesExt reports whether a pattern that matches the file spells out an
// extension (like "handler.py"), which then need not be a code one.
func (f *file) namesExt(patterns []pattern) bool {
	for i := range patterns {
		if p := &patterns[i]; p.literalExt && f.match(p) {
			return true
		}
	}
	return false
}

func hasCodeExt(p string) bool {
	return slices.Contains(codeExts, path.Ext(p))
}

func nonEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(x) != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

var (
	urlRE        = regexp.MustCompile("https?://[^\\s<>()\\[\\]\"'`]+")
	paperRE      = regexp.MustCompile(`(?i)(arxiv\.org/(abs|pdf)/\d{4}\.\d{4,5}|huggingface\.co/papers/\d{4}\.\d{4,5}|doi\.org/10\.|aclanthology\.org/|openreview\.net/(forum|pdf)\?id=)`)
	checkpointRE = regexp.MustCompile(checkpointBranch)
)

// matchLinks finds a README line with a link and one of the rule's
// phrases. For code, the link must point to a code host; a link to a
// known open tool gives the tool's license.
func (c *classifier) matchLinks(r rule) (string, *verdict, bool) {
	for _, line := range c.lines {
		urls := urlRE.FindAllString(line, -1)
		if len(urls) == 0 {
			continue
		}
		low := strings.ToLower(line)
		phrase := slices.ContainsFunc(r.Links, func(p string) bool { return strings.Contains(low, p) })
		for _, u := range urls {
			u = strings.TrimRight(u, ".,;:!?")
			lu := strings.ToLower(u)
			if r.ID == IDEvaluationCode {
				for _, tool := range slices.Sorted(maps.Keys(knownTools)) {
					if strings.Contains(lu, tool) {
						l, known := lookupLicense(knownTools[tool])
						return "link: " + u, &verdict{lic: l, known: known, note: "a third-party tool, under its own license"}, true
					}
				}
			}
			if !phrase {
				continue
			}
			if r.Type == Code && !slices.ContainsFunc(codeHosts, func(h string) bool { return strings.Contains(lu, "://"+h) || strings.Contains(lu, "://www."+h) }) {
				continue
			}
			return "link: " + u, nil, true
		}
	}
	return "", nil, false
}

// detect runs a built-in detector.
func (c *classifier) detect(d detector) (string, *verdict, bool) {
	switch d {
	case library:
		name, how := c.library()
		if lic, ok := openLibraries[name]; ok {
			l, known := lookupLicense(lic)
			return "library: " + name + how, &verdict{lic: l, known: known, note: "implemented by the " + name + " library, under its license"}, true
		}
	case modelCard:
		if n := proseWords(strings.Join(c.lines, "\n")); n >= minCardWords {
			return fmt.Sprintf("README.md (%d words)", n), nil, true
		}
	case modelIndex:
		if c.modelIndexResults() {
			return "card: model-index", nil, true
		}
	case cardDatasets:
		ids := stringList(c.in.Card["datasets"])
		if len(ids) > 0 {
			return "card: datasets: " + strings.Join(ids, ", "), c.datasetLicense(ids), true
		}
	case datasetCards:
		ids := stringList(c.in.Card["datasets"])
		for _, id := range ids {
			if !c.in.Datasets[id].HasCard {
				return "", nil, false
			}
		}
		if len(ids) > 0 {
			return "dataset cards: " + strings.Join(ids, ", "), c.datasetLicense(ids), true
		}
	case evalDatasets:
		if ids := c.evalDatasetIDs(); len(ids) > 0 {
			return "card: model-index datasets: " + strings.Join(ids, ", "), c.datasetLicense(ids), true
		}
	case paperLinks:
		for _, t := range stringList(c.in.Card["tags"]) {
			if id, ok := strings.CutPrefix(t, "arxiv:"); ok && !slices.Contains(ignoredPapers, id) {
				return "card: tags: " + t, nil, true
			}
		}
		for _, line := range c.lines {
			for _, u := range urlRE.FindAllString(line, -1) {
				if paperRE.MatchString(u) && !slices.ContainsFunc(ignoredPapers, func(id string) bool { return strings.Contains(u, id) }) {
					return "link: " + u, nil, true
				}
			}
		}
	case checkpointRefs:
		for _, b := range c.in.Branches {
			if checkpointRE.MatchString(b) {
				return "branch: " + b, nil, true
			}
		}
	}
	return "", nil, false
}

// library returns the library that implements the model: the card's
// library_name, else what the Hub would infer from the files.
func (c *classifier) library() (name, how string) {
	if s, ok := c.in.Card["library_name"].(string); ok && strings.TrimSpace(s) != "" {
		return strings.ToLower(strings.TrimSpace(s)), " (card: library_name)"
	}
	has := func(name string) bool {
		return slices.ContainsFunc(c.files, func(f file) bool { return f.lower == name })
	}
	hasExt := func(ext string) bool {
		return slices.ContainsFunc(c.files, func(f file) bool { return strings.HasSuffix(f.lower, ext) })
	}
	switch {
	case has("model_index.json"):
		return "diffusers", " (inferred from model_index.json)"
	case has("modules.json"), has("config_sentence_transformers.json"):
		return "sentence-transformers", " (inferred from modules.json)"
	case has("config.json"):
		return "transformers", " (inferred from config.json)"
	case hasExt(".gguf"):
		return "gguf", " (inferred from a .gguf file)"
	}
	return "", ""
}

// modelIndexResults reports whether the card's model-index has results.
func (c *classifier) modelIndexResults() bool {
	for _, m := range anyList(c.in.Card["model-index"]) {
		if mm, ok := m.(map[string]any); ok && len(anyList(mm["results"])) > 0 {
			return true
		}
	}
	return false
}

// evalDatasetIDs are the dataset ids (dataset.type) of model-index
// results.
func (c *classifier) evalDatasetIDs() []string {
	var ids []string
	for _, m := range anyList(c.in.Card["model-index"]) {
		mm, _ := m.(map[string]any)
		for _, r := range anyList(mm["results"]) {
			rr, _ := r.(map[string]any)
			ds, _ := rr["dataset"].(map[string]any)
			if id, ok := ds["type"].(string); ok && id != "" && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// datasetLicense is the license of a set of datasets when the caller
// knows it: the first non-open one, else the first one when all are
// known; nil when some are unknown (the release's license then applies).
func (c *classifier) datasetLicense(ids []string) *verdict {
	var first *verdict
	for _, id := range ids {
		ds, ok := c.in.Datasets[id]
		if !ok || ds.License == "" {
			return nil
		}
		l, known := lookupLicense(ds.License)
		v := &verdict{lic: l, known: known, note: "license of dataset " + id}
		if !l.Open {
			return v
		}
		if first == nil {
			first = v
		}
	}
	return first
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		if s := strings.TrimSpace(x); s != "" {
			return []string{s}
		}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	}
	return nil
}
