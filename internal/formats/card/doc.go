// Package card parses the YAML metadata of a model or dataset card
// (README.md) as the Hugging Face Hub reads it, and derives from it the
// values the Hub's API shows: `cardData` ([Card.Data]), the normalised
// fields (license, base models, datasets, languages, pipeline tag, library,
// tags, gating form) and the tags the Hub adds to a repository
// ([HubTags]).
//
// The README is untrusted and often wrong, and a broken card must never
// break a commit, a listing or a page: [Parse] does not return an error.
// It returns a [Card] whose Err explains why no metadata could be read and
// whose Problems list what the Hub would complain about, so callers choose
// whether to refuse a push, warn, or ignore.
//
// Bounds: the front matter is at most [MaxFrontMatterSize] bytes; turning
// it into Go values visits at most [MaxNodes] nodes, [MaxDepth] levels and
// [MaxExpandedBytes] bytes of strings, counting every alias expansion, so a
// "billion laughs" document fails fast instead of exhausting memory. The
// YAML parser itself (go.yaml.in/yaml/v3, the one third-party import the
// formats packages allow) limits nesting to 10,000 and allocates, measured,
// at most about 150 bytes per byte of input while parsing.
//
// The package does no I/O and knows nothing of HTTP or storage.
package card
