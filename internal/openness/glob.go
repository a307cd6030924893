package openness

import (
	"path"
	"strings"
)

// pattern is a compiled path pattern of the rules table: a glob on the
// base name and, when nested, a glob on some directory name.
type pattern struct {
	base, dir  glob
	nested     bool
	literalExt bool // the base glob ends in a literal extension, like ".py"
}

// glob is a path.Match pattern on a single path element. Patterns whose
// only metacharacter is "*" (all of the table's) are matched without
// path.Match: the literal chunks between the stars must occur in order,
// the first at the start and the last at the end.
type glob struct {
	pat     string
	chunks  []string // split at "*"; a single chunk is a literal
	general bool     // has "?", "[" or "\\": use path.Match
}

func compileGlob(p string) glob {
	if strings.ContainsAny(p, "?[\\") {
		return glob{pat: p, general: true}
	}
	return glob{pat: p, chunks: strings.Split(p, "*")}
}

func (g *glob) match(s string) bool {
	if g.general {
		ok, _ := path.Match(g.pat, s)
		return ok
	}
	c := g.chunks
	if len(c) == 1 {
		return s == c[0]
	}
	first, last := c[0], c[len(c)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, mid := range c[1 : len(c)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return true
}

// compilePatterns compiles path patterns of the rules table.
func compilePatterns(ps []string) []pattern {
	var out []pattern
	for _, p := range ps {
		d, b, nested := strings.Cut(p, "/")
		if !nested {
			b = p
		}
		ext := path.Ext(b)
		out = append(out, pattern{base: compileGlob(b), dir: compileGlob(d), nested: nested,
			literalExt: ext != "" && !strings.ContainsAny(ext, "*?[\\")})
	}
	return out
}

// compile compiles the patterns of each rule.
func compile(rs []rule) []rule {
	for i := range rs {
		rs[i].files, rs[i].except = compilePatterns(rs[i].Files), compilePatterns(rs[i].Except)
	}
	return rs
}
