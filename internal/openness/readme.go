package openness

import (
	"regexp"
	"strings"
	"unicode"
)

// section is a README section: an ATX heading and the text up to the next
// heading of the same or a higher level.
type section struct {
	title string // as written, without the #s
	norm  string // lower-case words separated by single spaces, padded with spaces
	body  string
}

var (
	headingRE = regexp.MustCompile(`^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$`)
	commentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	figureRE  = regexp.MustCompile(`\d`)
)

// stripComments removes HTML comments, where the Hub's card template keeps
// its instructions.
func stripComments(s string) string {
	return commentRE.ReplaceAllString(s, "")
}

// sections splits a Markdown body into its sections. Headings inside
// fenced code blocks are ignored.
func sections(body string) []section {
	type open struct {
		level int
		s     section
		lines []string
	}
	var out []section
	var stack []*open
	closeTo := func(level int) {
		for len(stack) > 0 && stack[len(stack)-1].level >= level {
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			o.s.body = strings.Join(o.lines, "\n")
			out = append(out, o.s)
		}
	}
	fence := ""
	for _, line := range strings.Split(body, "\n") {
		trim := strings.TrimSpace(line)
		if fence == "" && (strings.HasPrefix(trim, "```") || strings.HasPrefix(trim, "~~~")) {
			fence = trim[:3]
		} else if fence != "" && strings.HasPrefix(trim, fence) {
			fence = ""
		} else if m := headingRE.FindStringSubmatch(line); fence == "" && m != nil {
			level := len(m[1])
			closeTo(level)
			stack = append(stack, &open{level: level, s: section{title: m[2], norm: normalize(m[2])}})
			continue
		}
		for _, o := range stack {
			o.lines = append(o.lines, line)
		}
	}
	closeTo(1)
	return out
}

// normalize lower-cases s and keeps its words (letters and digits),
// separated by single spaces, with a space at each end.
func normalize(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	})
	return " " + strings.Join(words, " ") + " "
}

// matches reports whether one of phrases occurs in the heading as whole
// words.
func (s section) matches(phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(s.norm, " "+p+" ") {
			return true
		}
	}
	return false
}

// substantive reports whether a section has content: with figures, a
// Markdown table or at least two lines with numbers; otherwise at least
// minSectionWords words of prose.
func (s section) substantive(figures bool) bool {
	if !figures {
		return proseWords(s.body) >= minSectionWords
	}
	numbers := 0
	for _, line := range strings.Split(s.body, "\n") {
		t := strings.TrimSpace(strings.ReplaceAll(line, placeholder, ""))
		if strings.HasPrefix(t, "|") && strings.Count(t, "|") >= 2 {
			return true
		}
		if figureRE.MatchString(t) {
			numbers++
		}
	}
	return numbers >= 2
}

// proseWords counts the words of text outside headings, code fences,
// HTML, comments, tables of contents, unfilled "Label:" lines and the
// Hub card template's placeholders and boilerplate sentences, so that an
// unfilled template counts as empty.
func proseWords(text string) int {
	n := 0
	fence := false
	for _, line := range strings.Split(stripComments(text), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = !fence
			continue
		}
		t = strings.TrimSpace(strings.ReplaceAll(t, placeholder, ""))
		if fence || headingRE.MatchString(line) || strings.HasPrefix(t, "<") ||
			tocRE.MatchString(t) || labelRE.MatchString(t) || isBoilerplate(t) {
			continue
		}
		n += len(strings.Fields(t))
	}
	return n
}

var (
	// tocRE matches a table-of-contents entry: a list item that only links
	// to an anchor.
	tocRE = regexp.MustCompile(`^(\d+\.|[-*+])\s*\[[^\]]*\]\(#[^)]*\)$`)
	// labelRE matches a label without a value, like "- **License:**".
	labelRE = regexp.MustCompile(`^([-*+]\s*)?[*_]*[^:]{0,60}:[*_]*$`)
)

// isBoilerplate reports whether a line is one of the sentences the Hub's
// card templates fill in by default.
func isBoilerplate(line string) bool {
	for _, b := range templateBoilerplate {
		if strings.Contains(line, b) {
			return true
		}
	}
	return false
}
