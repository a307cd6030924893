package card

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Limits of [Parse]. Exceeding one makes the metadata unreadable: Data is
// nil and Err says which limit.
const (
	// MaxFrontMatterSize bounds the YAML between the --- lines, in bytes.
	MaxFrontMatterSize = 1 << 20
	// MaxNodes bounds the values (scalars, lists, maps) the metadata
	// expands to, counting each alias expansion again.
	MaxNodes = 200_000
	// MaxDepth bounds the nesting of lists and maps.
	MaxDepth = 64
	// MaxExpandedBytes bounds the total size of the strings (values and
	// keys) the metadata expands to, counting each alias expansion again.
	MaxExpandedBytes = 8 << 20
)

// ErrInvalid is wrapped by [Card.Err] when the metadata cannot be read.
var ErrInvalid = errors.New("invalid card metadata")

// Card is a parsed README.md.
type Card struct {
	// Data is the YAML metadata as JSON-compatible values: map[string]any,
	// []any, string, int64, uint64, float64 (finite), bool and nil. It is
	// the Hub's `cardData`. It is nil when the README has no metadata
	// block or when the block is unreadable (then Err is set), and an
	// empty map for an empty block.
	Data map[string]any
	// Body is the Markdown after the metadata block, or the whole text
	// (without a leading byte-order mark) when there is no readable block.
	Body string
	// Err, when not nil, wraps [ErrInvalid] and says why the metadata
	// block could not be read.
	Err error
	// Problems lists, for people, everything wrong with the metadata that
	// the Hub would reject or ignore: Err's message first if there is one,
	// then issues with individual fields (a license that is not a Hub
	// identifier, an unknown pipeline_tag, a list item that is not a
	// string, ...). Data keeps such fields as written; the accessors skip
	// what they cannot use.
	Problems []string

	// gateOrder is the order of the extra_gated_fields labels, which a
	// Go map loses.
	gateOrder []string
}

// Parse reads the metadata block of a README.
//
// The block is found as huggingface_hub (repocard.py, "exact same regex as
// in the Hub server") finds it, after dropping a UTF-8 byte-order mark:
// optional leading whitespace, a line "---", then everything up to the
// first line that is exactly "---" (CRLF line ends allowed). The text after
// that line is the body. Unlike the regex, "---" immediately followed by
// "---" is an empty block rather than no block. A README that opens a
// block and never closes it has no metadata, as on the Hub (and a
// Problem says so).
//
// The block is parsed as one YAML document into JSON-compatible values:
// keys become strings (null → "null", numbers and booleans as written in
// canonical form), timestamps and !!binary stay the strings written, NaN
// and infinities become null (as JSON.stringify renders them), merge keys
// (<<) are applied. It is an error, as on the Hub, when the block is not
// valid YAML, holds several documents, is not a mapping (an empty or null
// document is an empty mapping), repeats a key in a mapping, uses a
// complex key or an unknown tag (!!python/..., !custom).
func Parse(readme []byte) Card {
	text := strings.TrimPrefix(string(readme), "\ufeff")
	block, line, body, found, open := split(text)
	c := Card{Body: text}
	if open {
		c.Problems = append(c.Problems, "README starts with --- but no closing --- line follows; no metadata read")
	}
	if !found {
		return c
	}
	fail := func(err error) Card {
		c.Err = err
		c.Problems = append([]string{err.Error()}, c.Problems...)
		return c
	}
	if len(block) > MaxFrontMatterSize {
		return fail(fmt.Errorf("%w: metadata block is %d bytes, more than the limit of %d", ErrInvalid, len(block), MaxFrontMatterSize))
	}
	// Feed the parser as many blank lines as precede the block, so that
	// the line numbers in messages are the README's (unless the block
	// starts absurdly far down).
	if line <= 64 {
		block = strings.Repeat("\n", line) + block
	}
	data, gateOrder, problems, err := parseYAML(block)
	if err != nil {
		return fail(err)
	}
	c.Data, c.gateOrder, c.Body = data, gateOrder, body
	c.Problems = append(c.Problems, problems...)
	c.Problems = append(c.Problems, validate(c)...)
	return c
}

// split finds the metadata block, which starts after line lines of the
// text. found reports a complete block; open reports a "---" opening line
// without a closing one.
func split(text string) (block string, line int, body string, found, open bool) {
	i := strings.IndexFunc(text, func(r rune) bool { return !unicode.IsSpace(r) })
	if i < 0 || !strings.HasPrefix(text[i:], "---") {
		return "", 0, "", false, false
	}
	line = strings.Count(text[:i], "\n") + 1
	rest := text[i+3:]
	if rest == "" || (rest[0] != '\n' && rest[0] != '\r') {
		return "", 0, "", false, false // "----", "--- x", "---" alone: a rule, not a block
	}
	// Skip the opening line's end (LF, CRLF or CR).
	if strings.HasPrefix(rest, "\r\n") {
		rest = rest[2:]
	} else {
		rest = rest[1:]
	}
	for pos := 0; pos <= len(rest); {
		end := strings.IndexByte(rest[pos:], '\n')
		var l, next string
		if end < 0 {
			l, next = rest[pos:], ""
		} else {
			l, next = rest[pos:pos+end], rest[pos+end+1:]
		}
		if strings.TrimSuffix(l, "\r") == "---" {
			block = rest[:pos]
			block = strings.TrimSuffix(block, "\n")
			block = strings.TrimSuffix(block, "\r")
			return block, line, next, true, false
		}
		if end < 0 {
			break
		}
		pos += end + 1
	}
	return "", 0, "", false, true
}

// parseYAML parses the block into a map and reports non-fatal problems.
func parseYAML(block string) (data map[string]any, gateOrder, problems []string, err error) {
	// yaml.v3 reports malformed input through panics it recovers itself;
	// a panic escaping it would be a library bug, and the contract of
	// Parse is to never break its caller, so turn one into an error.
	defer func() {
		if r := recover(); r != nil {
			data, gateOrder, problems = nil, nil, nil
			err = fmt.Errorf("%w: YAML parser failed: %v", ErrInvalid, r)
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(block))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return map[string]any{}, nil, nil, nil // empty or comments only
		}
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, nil, nil, fmt.Errorf("%w: metadata holds more than one YAML document", ErrInvalid)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil, nil, fmt.Errorf("%w: unexpected YAML structure", ErrInvalid)
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return map[string]any{}, nil, nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, nil, fmt.Errorf("%w: metadata must be a mapping, not %s", ErrInvalid, kindName(root))
	}
	cv := &converter{active: make(map[*yaml.Node]bool)}
	v, err := cv.value(doc.Content[0], 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return v.(map[string]any), gateFieldOrder(root), cv.problems, nil
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < MaxDepth; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "a scalar (" + n.ShortTag() + ")"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// converter turns a node tree into JSON-compatible values within the
// node, depth and byte budgets, expanding aliases.
type converter struct {
	nodes    int
	bytes    int
	active   map[*yaml.Node]bool // aliases being expanded, to catch cycles
	problems []string
}

func (c *converter) count(n *yaml.Node, depth, strBytes int) error {
	c.nodes++
	c.bytes += strBytes
	switch {
	case c.nodes > MaxNodes:
		return fmt.Errorf("metadata expands to more than %d values (line %d)", MaxNodes, n.Line)
	case c.bytes > MaxExpandedBytes:
		return fmt.Errorf("metadata expands to more than %d bytes of text (line %d)", MaxExpandedBytes, n.Line)
	case depth > MaxDepth:
		return fmt.Errorf("metadata nests deeper than %d levels (line %d)", MaxDepth, n.Line)
	}
	return nil
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	if err := c.count(n, depth, len(n.Value)); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("unknown alias *%s (line %d)", n.Value, n.Line)
		}
		if c.active[n] {
			return nil, fmt.Errorf("alias *%s refers to itself (line %d)", n.Value, n.Line)
		}
		c.active[n] = true
		defer delete(c.active, n)
		return c.value(n.Alias, depth)
	case yaml.ScalarNode:
		return c.scalar(n)
	case yaml.SequenceNode:
		switch tag := n.ShortTag(); tag {
		case "!!seq", "!!omap", "!!pairs":
		default:
			return nil, fmt.Errorf("unsupported tag %s (line %d)", n.Tag, n.Line)
		}
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, depth)
	}
	return nil, fmt.Errorf("unexpected YAML node (line %d)", n.Line)
}

func (c *converter) scalar(n *yaml.Node) (any, error) {
	switch tag := n.ShortTag(); tag {
	case "!!str", "!!timestamp", "!!binary", "!!merge":
		// Timestamps stay as written rather than becoming a date the
		// JSON renders differently; !!binary stays base64.
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				c.problems = append(c.problems, fmt.Sprintf("line %d: %s is not a JSON number; read as null", n.Line, n.Value))
				return nil, nil
			}
		}
		return v, nil
	default:
		return nil, fmt.Errorf("unsupported tag %s (line %d)", n.Tag, n.Line)
	}
}

func (c *converter) mapping(n *yaml.Node, depth int) (any, error) {
	switch tag := n.ShortTag(); tag {
	case "!!map", "!!set":
	default:
		return nil, fmt.Errorf("unsupported tag %s (line %d)", n.Tag, n.Line)
	}
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.ShortTag() == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		k, err := c.key(kn, depth)
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("line %d: duplicated mapping key %q", kn.Line, k)
		}
		v, err := c.value(vn, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	// Merge keys add what the mapping does not define itself; of several
	// merged mappings, the first to define a key wins.
	for _, m := range merges {
		v, err := c.value(m, depth+1)
		if err != nil {
			return nil, err
		}
		var srcs []any
		switch x := v.(type) {
		case map[string]any:
			srcs = []any{x}
		case []any:
			srcs = x
		default:
			return nil, fmt.Errorf("line %d: << must merge a mapping or a list of mappings", m.Line)
		}
		for _, s := range srcs {
			sm, ok := s.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("line %d: << must merge a mapping or a list of mappings", m.Line)
			}
			for k, v := range sm {
				if _, exists := out[k]; !exists {
					out[k] = v
				}
			}
		}
	}
	return out, nil
}

// key converts a mapping key to a string.
func (c *converter) key(n *yaml.Node, depth int) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: a %s cannot be a mapping key", n.Line, strings.TrimPrefix(kindName(n), "a "))
	}
	v, err := c.value(n, depth+1)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	}
	return fmt.Sprint(v), nil
}

// gateFieldOrder returns the labels of extra_gated_fields in the order
// written.
func gateFieldOrder(root *yaml.Node) []string {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "extra_gated_fields" {
			v := deref(root.Content[i+1])
			if v.Kind != yaml.MappingNode {
				return nil
			}
			var order []string
			for j := 0; j < len(v.Content); j += 2 {
				if kn := deref(v.Content[j]); kn.Kind == yaml.ScalarNode {
					order = append(order, kn.Value)
				}
			}
			return order
		}
	}
	return nil
}
