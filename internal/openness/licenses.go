package openness

import (
	"strings"
)

// license is what the classifier knows about a license identifier.
type license struct {
	// SPDX is the SPDX identifier, or the Hub's identifier when SPDX has
	// none (llama3, openrail, ...).
	SPDX string
	// Open reports whether MOF counts the license as open: OSI-approved,
	// FSF-libre, on MOT's list of open data licenses, or OpenMDW.
	Open bool
	// Fits lists the content types the license is meant for: MOT's
	// curated mof-licenses.json, plus data for every license on MOT's
	// open data list and for CC-BY/CC-BY-SA, which the MOF guidance
	// recommends for data. An open license used for another type still
	// counts, with a note.
	Fits []string
}

func (l license) fits(typ string) bool {
	for _, f := range l.Fits {
		if f == typ {
			return true
		}
	}
	return false
}

var (
	codeOnly = []string{Code}
	docOnly  = []string{Document}
	dataOnly = []string{Data}
	dataDoc  = []string{Data, Document}
	codeDoc  = []string{Code, Document}
	all      = []string{Code, Data, Document}
)

// licenses maps the Hub's license identifiers (the values of a card's
// `license:`), lower-case, to their verdicts. Keep it in sync with the
// table in README.md.
var licenses = map[string]license{
	// OSI-approved or FSF-libre software licenses: open.
	"apache-2.0":         {"Apache-2.0", true, codeDoc},
	"mit":                {"MIT", true, codeOnly},
	"afl-3.0":            {"AFL-3.0", true, codeOnly},
	"artistic-2.0":       {"Artistic-2.0", true, codeOnly},
	"bsl-1.0":            {"BSL-1.0", true, codeOnly},
	"bsd":                {"BSD", true, codeOnly},
	"bsd-2-clause":       {"BSD-2-Clause", true, codeOnly},
	"bsd-3-clause":       {"BSD-3-Clause", true, codeOnly},
	"bsd-3-clause-clear": {"BSD-3-Clause-Clear", true, codeOnly},
	"ecl-2.0":            {"ECL-2.0", true, codeOnly},
	"epl-1.0":            {"EPL-1.0", true, codeOnly},
	"epl-2.0":            {"EPL-2.0", true, codeOnly},
	"eupl-1.1":           {"EUPL-1.1", true, codeOnly},
	"eupl-1.2":           {"EUPL-1.2", true, codeOnly},
	"agpl-3.0":           {"AGPL-3.0", true, codeOnly},
	"gpl":                {"GPL", true, codeOnly},
	"gpl-2.0":            {"GPL-2.0", true, codeOnly},
	"gpl-3.0":            {"GPL-3.0", true, codeOnly},
	"lgpl":               {"LGPL", true, codeOnly},
	"lgpl-2.1":           {"LGPL-2.1", true, codeOnly},
	"lgpl-3.0":           {"LGPL-3.0", true, codeOnly},
	"isc":                {"ISC", true, codeOnly},
	"lppl-1.3c":          {"LPPL-1.3c", true, codeOnly},
	"ms-pl":              {"MS-PL", true, codeOnly},
	"mpl-2.0":            {"MPL-2.0", true, codeOnly},
	"osl-3.0":            {"OSL-3.0", true, codeOnly},
	"postgresql":         {"PostgreSQL", true, codeOnly},
	"ofl-1.1":            {"OFL-1.1", true, codeOnly},
	"ncsa":               {"NCSA", true, codeOnly},
	"unlicense":          {"Unlicense", true, codeOnly},
	"zlib":               {"Zlib", true, codeOnly},
	"wtfpl":              {"WTFPL", true, codeOnly},

	// Open data and documentation licenses (MOT's OPEN_DATA_LICENSES).
	"cc0-1.0":             {"CC0-1.0", true, dataDoc},
	"cc-by-2.0":           {"CC-BY-2.0", true, dataDoc},
	"cc-by-2.5":           {"CC-BY-2.5", true, dataDoc},
	"cc-by-3.0":           {"CC-BY-3.0", true, dataDoc},
	"cc-by-4.0":           {"CC-BY-4.0", true, dataDoc},
	"cc-by-sa-3.0":        {"CC-BY-SA-3.0", true, dataDoc},
	"cc-by-sa-4.0":        {"CC-BY-SA-4.0", true, dataDoc},
	"cdla-permissive-1.0": {"CDLA-Permissive-1.0", true, dataOnly},
	"cdla-permissive-2.0": {"CDLA-Permissive-2.0", true, dataOnly},
	"cdla-sharing-1.0":    {"CDLA-Sharing-1.0", true, dataOnly},
	"odc-by":              {"ODC-By-1.0", true, dataOnly},
	"odbl":                {"ODbL-1.0", true, dataOnly},
	"pddl":                {"PDDL-1.0", true, dataOnly},
	"gfdl":                {"GFDL-1.3", true, docOnly},

	// OpenMDW, the license meant to cover a whole model release. MOT
	// names 1.0; 1.1 is its revision.
	"openmdw-1.0": {"OpenMDW-1.0", true, all},
	"openmdw-1.1": {"OpenMDW-1.1", true, all},

	// Not open: use restrictions (RAIL family, model-specific community
	// licenses), non-commercial or no-derivatives terms, research-only
	// terms, or licenses on none of the lists above.
	"cc":                                  {"CC (unspecified)", false, nil},
	"cc-by-nc-2.0":                        {"CC-BY-NC-2.0", false, nil},
	"cc-by-nc-3.0":                        {"CC-BY-NC-3.0", false, nil},
	"cc-by-nc-4.0":                        {"CC-BY-NC-4.0", false, nil},
	"cc-by-nd-4.0":                        {"CC-BY-ND-4.0", false, nil},
	"cc-by-nc-nd-3.0":                     {"CC-BY-NC-ND-3.0", false, nil},
	"cc-by-nc-nd-4.0":                     {"CC-BY-NC-ND-4.0", false, nil},
	"cc-by-nc-sa-2.0":                     {"CC-BY-NC-SA-2.0", false, nil},
	"cc-by-nc-sa-3.0":                     {"CC-BY-NC-SA-3.0", false, nil},
	"cc-by-nc-sa-4.0":                     {"CC-BY-NC-SA-4.0", false, nil},
	"c-uda":                               {"C-UDA-1.0", false, nil},
	"etalab-2.0":                          {"etalab-2.0", false, nil},
	"openrail":                            {"openrail", false, nil},
	"openrail++":                          {"openrail++", false, nil},
	"bigscience-openrail-m":               {"bigscience-openrail-m", false, nil},
	"creativeml-openrail-m":               {"creativeml-openrail-m", false, nil},
	"bigscience-bloom-rail-1.0":           {"bigscience-bloom-rail-1.0", false, nil},
	"bigcode-openrail-m":                  {"bigcode-openrail-m", false, nil},
	"h-research":                          {"h-research", false, nil},
	"intel-research":                      {"intel-research", false, nil},
	"apple-ascl":                          {"apple-ascl", false, nil},
	"apple-amlr":                          {"apple-amlr", false, nil},
	"lgpl-lr":                             {"LGPL-LR", false, nil},
	"deepfloyd-if-license":                {"deepfloyd-if-license", false, nil},
	"fair-noncommercial-research-license": {"fair-noncommercial-research-license", false, nil},
	"llama2":                              {"llama2", false, nil},
	"llama3":                              {"llama3", false, nil},
	"llama3.1":                            {"llama3.1", false, nil},
	"llama3.2":                            {"llama3.2", false, nil},
	"llama3.3":                            {"llama3.3", false, nil},
	"llama4":                              {"llama4", false, nil},
	"grok2-community":                     {"grok2-community", false, nil},
	"gemma":                               {"gemma", false, nil},
	"unknown":                             {"unknown", false, nil},
	"other":                               {"other", false, nil},
}

// licenseAliases maps SPDX spellings to the Hub identifiers above, so
// that dataset licenses given in either form resolve.
var licenseAliases = map[string]string{
	"odc-by-1.0":    "odc-by",
	"odbl-1.0":      "odbl",
	"pddl-1.0":      "pddl",
	"odc-pddl-1.0":  "pddl",
	"gfdl-1.3":      "gfdl",
	"c-uda-1.0":     "c-uda",
	"agpl-3.0-only": "agpl-3.0",
	"gpl-2.0-only":  "gpl-2.0",
	"gpl-3.0-only":  "gpl-3.0",
	"lgpl-2.1-only": "lgpl-2.1",
	"lgpl-3.0-only": "lgpl-3.0",
	"openmdw":       "openmdw-1.0",
}

// lookupLicense returns the verdict for a license identifier in Hub or
// SPDX spelling. ok is false for identifiers it does not know; those are
// treated as not open, like "other".
func lookupLicense(id string) (l license, ok bool) {
	k := strings.ToLower(strings.TrimSpace(id))
	k = strings.TrimSuffix(k, "-or-later")
	k = strings.TrimSuffix(k, "+")
	if a, isAlias := licenseAliases[k]; isAlias {
		k = a
	}
	if a, isAlias := licenseAliases[k+"-only"]; isAlias {
		k = a
	}
	l, ok = licenses[k]
	if !ok {
		return license{SPDX: id}, false
	}
	return l, true
}

// textMarks identify a license from the first kilobyte of its text. They
// are tried in order: restrictive licenses that quote or resemble open
// ones come first. Texts are lower-cased and their whitespace collapsed
// before matching; every phrase of a mark must occur.
var textMarks = []struct {
	id      string
	phrases []string
}{
	{"openmdw-1.0", []string{"openmdw"}},
	{"llama4", []string{"llama 4", "community license"}},
	{"llama3.3", []string{"llama 3.3", "community license"}},
	{"llama3.2", []string{"llama 3.2", "community license"}},
	{"llama3.1", []string{"llama 3.1", "community license"}},
	{"llama3", []string{"llama 3", "community license"}},
	{"llama2", []string{"llama 2", "community license"}},
	{"gemma", []string{"gemma terms of use"}},
	{"openrail", []string{"responsible ai license"}},
	{"openrail", []string{"openrail"}},
	{"cc-by-nc-4.0", []string{"creative commons", "noncommercial"}},
	{"cc-by-nd-4.0", []string{"creative commons", "noderivatives"}},
	{"cc-by-sa-4.0", []string{"creative commons", "attribution-sharealike 4.0"}},
	{"cc-by-4.0", []string{"creative commons", "attribution 4.0 international"}},
	{"cc0-1.0", []string{"cc0 1.0 universal"}},
	{"cdla-permissive-2.0", []string{"community data license agreement", "permissive", "version 2.0"}},
	{"cdla-permissive-1.0", []string{"community data license agreement", "permissive"}},
	{"cdla-sharing-1.0", []string{"community data license agreement", "sharing"}},
	{"odc-by", []string{"open data commons attribution license"}},
	{"odbl", []string{"open database license"}},
	{"pddl", []string{"public domain dedication and license"}},
	{"agpl-3.0", []string{"gnu affero general public license"}},
	{"lgpl-2.1", []string{"gnu lesser general public license", "version 2.1"}},
	{"lgpl-3.0", []string{"gnu lesser general public license"}},
	{"gfdl", []string{"gnu free documentation license"}},
	{"gpl-2.0", []string{"gnu general public license", "version 2"}},
	{"gpl-3.0", []string{"gnu general public license"}},
	{"mpl-2.0", []string{"mozilla public license", "2.0"}},
	{"epl-2.0", []string{"eclipse public license", "2.0"}},
	{"eupl-1.2", []string{"european union public licen"}},
	{"bsl-1.0", []string{"boost software license"}},
	{"apache-2.0", []string{"apache license", "version 2.0"}},
	{"mit", []string{"permission is hereby granted, free of charge"}},
	{"bsd-3-clause", []string{"redistribution and use in source and binary forms", "endorse or promote"}},
	{"bsd-2-clause", []string{"redistribution and use in source and binary forms"}},
	{"isc", []string{"permission to use, copy, modify, and/or distribute this software for any purpose"}},
	{"unlicense", []string{"this is free and unencumbered software released into the public domain"}},
}

// identifyText returns the Hub identifier of the license a text is the
// beginning of, "other" for a text it does not recognise and "" for an
// empty one.
func identifyText(text string) string {
	if len(text) > 4096 {
		text = text[:4096]
	}
	t := strings.Join(strings.Fields(strings.ToLower(text)), " ")
	if t == "" {
		return ""
	}
	for _, m := range textMarks {
		found := true
		for _, p := range m.phrases {
			if !strings.Contains(t, p) {
				found = false
				break
			}
		}
		if found {
			return m.id
		}
	}
	return "other"
}
