package card

import "regexp"

// HubTags returns the tags the Hub derives from a card, without
// duplicates, in this order (the order the Hub lists them in, as far as it
// can be observed):
//
//  1. library_name, as is (e.g. "transformers");
//  2. pipeline_tag, as is (e.g. "text-generation");
//  3. the card's tags, as written;
//  4. each language code, as is (e.g. "en");
//  5. "dataset:<id>" for each dataset;
//  6. "arxiv:<id>" for each arXiv paper the body links to
//     (arxiv.org/abs/<id> or arxiv.org/pdf/<id>, new-style ids, version
//     suffix dropped);
//  7. "base_model:<id>" for each base model, then, only when the card
//     gives a valid base_model_relation, "base_model:<relation>:<id>" for
//     each;
//  8. "license:<id>" for each license.
//
// Tags the Hub adds from other sources are not included: file formats
// (safetensors, gguf), the architecture from config.json, an inferred
// base_model relation (see [BaseModelTags]), "conversational",
// "endpoints_compatible", "region:us" and the like. Values that are not
// strings are skipped (Problems notes them); strings are trimmed.
func HubTags(c Card) []string {
	var tags []string
	seen := make(map[string]bool)
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	add(c.LibraryName())
	add(c.PipelineTag())
	for _, t := range c.Tags() {
		add(t)
	}
	for _, l := range c.Languages() {
		add(l)
	}
	for _, d := range c.Datasets() {
		add("dataset:" + d)
	}
	for _, id := range ArxivIDs(c.Body) {
		add("arxiv:" + id)
	}
	for _, t := range BaseModelTags(c.BaseModels(), c.BaseModelRelation()) {
		add(t)
	}
	for _, l := range c.list("license") {
		add("license:" + l)
	}
	return tags
}

// BaseModelTags returns "base_model:<id>" for each of models and, when
// relation is not empty, "base_model:<relation>:<id>" for each. The hub
// uses it with a relation it infers when the card gives none.
func BaseModelTags(models []string, relation string) []string {
	var tags []string
	for _, m := range models {
		tags = append(tags, "base_model:"+m)
	}
	if relation != "" {
		for _, m := range models {
			tags = append(tags, "base_model:"+relation+":"+m)
		}
	}
	return tags
}

// arxivLink matches a link to a new-style arXiv id; the last group keeps a
// longer digit run from matching as a shorter id.
var arxivLink = regexp.MustCompile(`(?i)arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})(?:v\d+)?(?:\D|$)`)

// ArxivIDs returns the distinct arXiv ids that text links to, in order of
// first appearance.
func ArxivIDs(text string) []string {
	var ids []string
	seen := make(map[string]bool)
	for _, m := range arxivLink.FindAllStringSubmatch(text, -1) {
		if id := m[1]; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}
