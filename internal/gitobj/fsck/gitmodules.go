package fsck

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits git puts on .gitattributes files (attr.c).
const (
	MaxGitattributesSize = 100 << 20
	MaxGitattributesLine = 2048 // a line must be shorter than this
)

// CheckGitattributes checks the content of a .gitattributes blob: git
// refuses files it would not read whole (too large, or with a line too
// long for its parser).
func CheckGitattributes(data []byte) error {
	if len(data) > MaxGitattributesSize {
		return errorf(GitattributesLarge, ".gitattributes too large to parse (%d bytes)", len(data))
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i] // git reads the file as a C string
	}
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if len(line) >= MaxGitattributesLine {
			return errorf(GitattributesLineLength, ".gitattributes has too long lines to parse (line %d has %d bytes)", n, len(line))
		}
		data = rest
	}
	return nil
}

// CheckGitmodules checks the content of a .gitmodules blob, a git config
// file, as git's fsck does for each submodule.<name>.<key>: the name must
// not be empty or climb out with "..", a url must not start with '-' (it
// would be read as an option by the git a client runs), nor smuggle a
// newline or an empty host into a credential request, a path must not
// start with '-', and update must not run a command ("!…").
//
// A file that does not parse as git config is refused too (git only notes
// it and checks the part before the error, which needs a parser that
// stops exactly where git's does).
func CheckGitmodules(data []byte) error {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return errorf(GitmodulesParse, "could not parse gitmodules blob: NUL byte at offset %d", i)
	}
	var first error
	err := parseConfig(data, func(name string, value *string) {
		if first == nil {
			first = checkSubmoduleVar(name, value)
		}
	})
	if first == nil && err != nil {
		return errorf(GitmodulesParse, "could not parse gitmodules blob: %v", err)
	}
	return first
}

// checkSubmoduleVar checks one variable of .gitmodules, as git's
// fsck_gitmodules_fn does.
func checkSubmoduleVar(name string, value *string) error {
	rest, ok := strings.CutPrefix(name, "submodule.")
	if !ok {
		return nil
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return nil // no subsection: not about a submodule
	}
	sub, key := rest[:dot], rest[dot+1:]
	if badSubmoduleName(sub) {
		return errorf(GitmodulesName, "disallowed submodule name: %s", strconv.Quote(sub))
	}
	if value == nil {
		return nil
	}
	v := *value
	switch {
	case key == "url" && badSubmoduleURL(v):
		return errorf(GitmodulesURL, "disallowed submodule url: %s", strconv.Quote(v))
	case key == "path" && strings.HasPrefix(v, "-"):
		return errorf(GitmodulesPath, "disallowed submodule path: %s", strconv.Quote(v))
	case key == "update" && strings.HasPrefix(v, "!"):
		return errorf(GitmodulesUpdate, "disallowed submodule update setting: %s", strconv.Quote(v))
	}
	return nil
}

// badSubmoduleName reports whether a submodule name could escape
// .git/modules/: empty, or with ".." as a component, separated by '/' or
// '\' whatever the platform.
func badSubmoduleName(name string) bool {
	if name == "" {
		return true
	}
	for i := 0; i < len(name); i++ {
		if i > 0 && name[i-1] != '/' && name[i-1] != '\\' {
			continue
		}
		if strings.HasPrefix(name[i:], "..") && (len(name) == i+2 || name[i+2] == '/' || name[i+2] == '\\') {
			return true
		}
	}
	return false
}

// badSubmoduleURL follows git's check_submodule_url: the URLs of
// submodules end up on the command line of git and in credential
// requests of the client.
func badSubmoduleURL(url string) bool {
	if strings.HasPrefix(url, "-") {
		return true
	}
	if isRelativeURL(url) || strings.HasPrefix(url, "git://") {
		// Relative URLs are appended to the superproject's, and may be
		// url-decoded there: no newline, decoded or not, and no climbing
		// above the host ("../../:x" would become "https::x").
		if strings.Contains(urlDecode(url), "\n") {
			return true
		}
		next := url
		dotdots := 0
		for {
			switch {
			case hasDotSlash(next, ".."):
				dotdots++
				next = next[3:]
				continue
			case hasDotSlash(next, "."):
				next = next[2:]
				continue
			}
			break
		}
		return dotdots > 0 && (strings.HasPrefix(next, ":") || strings.HasPrefix(next, "/"))
	}
	if curl, ok := curlURL(url); ok {
		return badCredentialURL(curl)
	}
	return false
}

func isRelativeURL(url string) bool { return hasDotSlash(url, ".") || hasDotSlash(url, "..") }

// hasDotSlash reports whether s starts with dots and then '/' or '\'.
func hasDotSlash(s, dots string) bool {
	return strings.HasPrefix(s, dots) && len(s) > len(dots) && (s[len(dots)] == '/' || s[len(dots)] == '\\')
}

// curlURL returns the URL that git would hand to curl for url, if any.
func curlURL(url string) (string, bool) {
	for _, p := range []string{"http::", "https::", "ftp::", "ftps::"} {
		if rest, ok := strings.CutPrefix(url, p); ok {
			return rest, true
		}
	}
	for _, p := range []string{"http://", "https://", "ftp://", "ftps://"} {
		if strings.HasPrefix(url, p) {
			return url, true
		}
	}
	return "", false
}

// badCredentialURL reports whether git's credential_from_url_gently
// refuses url: no scheme, an empty host, or a newline in any decoded part
// (which would inject lines into the credential helper protocol).
func badCredentialURL(url string) bool {
	protoEnd := strings.Index(url, "://")
	if protoEnd <= 0 {
		return true
	}
	cp := url[protoEnd+3:]
	slash := strings.IndexAny(cp, "/?#")
	if slash < 0 {
		slash = len(cp)
	}
	at := strings.IndexByte(cp, '@')
	colon := strings.IndexByte(cp, ':')
	parts := []string{url[:protoEnd]}
	var host string
	switch {
	case at < 0 || slash <= at:
		host = cp[:slash]
	case colon < 0 || at <= colon:
		parts = append(parts, urlDecode(cp[:at]))
		host = cp[at+1 : slash]
	default:
		parts = append(parts, urlDecode(cp[:colon]), urlDecode(cp[colon+1:at]))
		host = cp[at+1 : slash]
	}
	host = urlDecode(host)
	parts = append(parts, host, urlDecode(strings.TrimLeft(cp[slash:], "/")))
	for _, p := range parts {
		if strings.Contains(p, "\n") {
			return true
		}
	}
	return host == ""
}

// urlDecode decodes %XX escapes as git's url_decode does: not in the
// scheme (before the first ':'), and never to a NUL.
func urlDecode(s string) string {
	var out strings.Builder
	if colon := strings.IndexByte(s, ':'); colon > 0 {
		out.WriteString(s[:colon])
		s = s[colon:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 && hi<<4|lo != 0 {
				out.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		out.WriteByte(s[i])
	}
	return out.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseConfig reads a git config file as git's config parser does
// (config.c), calling fn with each variable's full name ("section.sub.key",
// section and key in lower case) and its value (nil for a bare key, which
// git reads as true). It stops at the first syntax error.
func parseConfig(data []byte, fn func(name string, value *string)) error {
	// git skips a UTF-8 byte order mark in config files, but not in blobs:
	// it reads blobs as signed chars, so that the mark is an error there
	// (and 0xff an end of file, which stops git earlier than this parser
	// but only ever hides variables from git, never from this parser).
	p := &configParser{data: data}
	section := "" // "section.sub." once a header was read
	comment := false
	for {
		c := p.next()
		switch {
		case c == '\n':
			if p.eof {
				return nil
			}
			comment = false
		case comment, isSpace(c):
		case c == '#' || c == ';':
			comment = true
		case c == '[':
			name, err := p.sectionHeader()
			if err != nil {
				return err
			}
			section = name + "."
		case isAlpha(c):
			key, value, err := p.variable(c)
			if err != nil {
				return err
			}
			fn(section+key, value)
		default:
			return p.errorf("unexpected character %q", c)
		}
	}
}

type configParser struct {
	data []byte
	pos  int
	eof  bool
	line int // of the error, for messages
}

// next returns the next character, CRLF read as '\n' and the end of the
// data as '\n' with eof set.
func (p *configParser) next() byte {
	if p.pos >= len(p.data) {
		p.eof = true
		return '\n'
	}
	c := p.data[p.pos]
	p.pos++
	if c == '\r' && p.pos < len(p.data) && p.data[p.pos] == '\n' {
		p.pos++
		c = '\n'
	}
	if c == '\n' {
		p.line++
	}
	return c
}

func (p *configParser) errorf(format string, args ...any) error {
	return errors.New("line " + strconv.Itoa(p.line+1) + ": " + fmt.Sprintf(format, args...))
}

// sectionHeader reads the rest of "[section]", "[section "sub"]" or the
// old "[section.sub]", and returns "section" or "section.sub".
func (p *configParser) sectionHeader() (string, error) {
	var name []byte
	for {
		c := p.next()
		switch {
		case p.eof:
			return "", p.errorf("unterminated section header")
		case c == ']':
			if len(name) == 0 {
				return "", p.errorf("empty section name")
			}
			return string(name), nil
		case isSpace(c):
			return p.subsection(name, c)
		case !isKeyChar(c) && c != '.':
			return "", p.errorf("bad character %q in section name", c)
		}
		name = append(name, lower(c))
	}
}

// subsection reads ` "sub"]` after a section name; c is the blank that
// ended the name.
func (p *configParser) subsection(name []byte, c byte) (string, error) {
	for isSpace(c) {
		if c == '\n' {
			return "", p.errorf("unterminated section header")
		}
		c = p.next()
	}
	if c != '"' {
		return "", p.errorf("subsection name must be quoted")
	}
	name = append(name, '.')
	for {
		c := p.next()
		if c == '\n' {
			return "", p.errorf("unterminated subsection name")
		}
		if c == '"' {
			break
		}
		if c == '\\' {
			if c = p.next(); c == '\n' {
				return "", p.errorf("unterminated subsection name")
			}
		}
		name = append(name, c)
	}
	if p.next() != ']' {
		return "", p.errorf("missing ']' after subsection name")
	}
	return string(name), nil
}

// variable reads "key = value" (or a bare "key"); c is the key's first
// letter.
func (p *configParser) variable(c byte) (string, *string, error) {
	key := []byte{lower(c)}
	for {
		c = p.next()
		if p.eof || !isKeyChar(c) {
			break
		}
		key = append(key, lower(c))
	}
	for c == ' ' || c == '\t' {
		c = p.next()
	}
	if c == '\n' {
		return string(key), nil, nil
	}
	if c != '=' {
		return "", nil, p.errorf("expected '=' after %q", key)
	}
	v, err := p.value()
	if err != nil {
		return "", nil, err
	}
	return string(key), &v, nil
}

// value reads a value up to the end of its line: quotes group, blanks
// outside quotes collapse and trim, '#' and ';' outside quotes start a
// comment, and a few backslash escapes are known.
func (p *configParser) value() (string, error) {
	var v []byte
	quote, comment, spaces := false, false, 0
	for {
		c := p.next()
		switch {
		case c == '\n':
			if quote {
				return "", p.errorf("unterminated quoted value")
			}
			return string(v), nil
		case comment:
			continue
		case isSpace(c) && !quote:
			if len(v) > 0 {
				spaces++
			}
			continue
		case !quote && (c == ';' || c == '#'):
			comment = true
			continue
		}
		for ; spaces > 0; spaces-- {
			v = append(v, ' ')
		}
		switch c {
		case '\\':
			switch c = p.next(); c {
			case '\n':
				continue
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'n':
				c = '\n'
			case '\\', '"':
			default:
				return "", p.errorf("bad escape \\%c", c)
			}
			v = append(v, c)
		case '"':
			quote = !quote
		default:
			v = append(v, c)
		}
	}
}

// Character classes of git's own ctype (ASCII only).
func isSpace(c byte) bool   { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isAlpha(c byte) bool   { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isKeyChar(c byte) bool { return isAlpha(c) || '0' <= c && c <= '9' || c == '-' }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
