// Package gitattr matches repository paths against .gitattributes and
// .gitignore files, with git's pattern rules, so that the server decides
// "LFS or regular" and "ignored or not" exactly as a git checkout would.
//
// Only what a hub needs is modelled: the filter attribute of
// .gitattributes (is a path tracked by git-lfs?) and the ignore decision of
// .gitignore. Macros and attribute files in sub-directories are not.
package gitattr

import (
	"path"
	"strings"
)

// pattern is one compiled git wildmatch pattern.
type pattern struct {
	segs     []string // split on '/'
	basename bool     // no '/' in the pattern: match the last path component only
}

func compile(p string) pattern {
	if !strings.Contains(strings.TrimSuffix(p, "/"), "/") {
		return pattern{segs: []string{p}, basename: true}
	}
	return pattern{segs: strings.Split(strings.TrimPrefix(p, "/"), "/")}
}

func (p pattern) match(file string) bool {
	if p.basename {
		_, base := path.Split(file)
		return segMatch(p.segs[0], base)
	}
	return matchSegs(p.segs, strings.Split(file, "/"))
}

// matchSegs matches pattern segments against path segments; "**" matches
// zero or more whole segments.
func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 || !segMatch(pat[0], name[0]) {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func segMatch(pat, name string) bool {
	ok, err := path.Match(pat, name)
	return err == nil && ok
}

// Attributes is a parsed .gitattributes file.
type Attributes struct {
	rules []attrRule
}

type attrRule struct {
	pat pattern
	lfs int // +1 filter=lfs, -1 filter unset or another filter, 0 untouched
}

// ParseAttributes parses the content of a .gitattributes file. Lines it
// cannot understand are skipped, as git does.
func ParseAttributes(text string) *Attributes {
	a := &Attributes{}
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], "[attr]") {
			continue
		}
		r := attrRule{pat: compile(fields[0])}
		for _, f := range fields[1:] {
			switch {
			case f == "filter=lfs":
				r.lfs = 1
			case strings.HasPrefix(f, "filter=") || f == "-filter" || f == "!filter":
				r.lfs = -1
			}
		}
		if r.lfs != 0 {
			a.rules = append(a.rules, r)
		}
	}
	return a
}

// IsLFS reports whether path has filter=lfs; the last matching line wins.
func (a *Attributes) IsLFS(file string) bool {
	if a == nil {
		return false
	}
	for i := len(a.rules) - 1; i >= 0; i-- {
		if a.rules[i].pat.match(file) {
			return a.rules[i].lfs > 0
		}
	}
	return false
}

// Ignore is a parsed .gitignore file.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	pat     pattern
	negate  bool
	dirOnly bool
}

// ParseIgnore parses the content of a top-level .gitignore file.
func ParseIgnore(text string) *Ignore {
	ig := &Ignore{}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if !strings.HasSuffix(line, "\\ ") {
			line = strings.TrimRight(line, " ")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		if line == "" {
			continue
		}
		r.pat = compile(line)
		ig.rules = append(ig.rules, r)
	}
	return ig
}

// Ignored reports whether file (a file path, never a folder) is ignored:
// a pattern may match the file itself or any folder above it.
func (ig *Ignore) Ignored(file string) bool {
	if ig == nil || len(ig.rules) == 0 {
		return false
	}
	segs := strings.Split(file, "/")
	// A file under an ignored folder stays ignored whatever later rules say
	// about the file (git does not descend into excluded folders).
	for i := 1; i < len(segs); i++ {
		if ig.decide(strings.Join(segs[:i], "/"), true) {
			return true
		}
	}
	return ig.decide(file, false)
}

func (ig *Ignore) decide(p string, isDir bool) bool {
	for i := len(ig.rules) - 1; i >= 0; i-- {
		r := ig.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		if r.pat.match(p) {
			return !r.negate
		}
	}
	return false
}
