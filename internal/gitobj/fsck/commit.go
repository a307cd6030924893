package fsck

import (
	"bytes"
	"math"
)

// CheckCommit checks the content of a commit object as git's fsck does:
// a "tree" line, "parent" lines, exactly one "author" and then a
// "committer" line, with well-formed identities and dates; no NUL byte
// anywhere (the message included, where git's tools would cut it). Other
// headers (encoding, gpgsig, mergetag…) may follow the committer.
func CheckCommit(data []byte) error {
	if err := checkHeaders(data); err != nil {
		return err
	}
	rest, ok := bytes.CutPrefix(data, []byte("tree "))
	if !ok {
		return errorf(MissingTree, "invalid format - expected 'tree' line")
	}
	if rest, ok = cutHexLine(rest); !ok {
		return errorf(BadTreeSha1, "invalid 'tree' line format - bad sha1")
	}
	for {
		after, ok := bytes.CutPrefix(rest, []byte("parent "))
		if !ok {
			break
		}
		if rest, ok = cutHexLine(after); !ok {
			return errorf(BadParentSha1, "invalid 'parent' line format - bad sha1")
		}
	}
	authors := 0
	for {
		after, ok := bytes.CutPrefix(rest, []byte("author "))
		if !ok {
			break
		}
		authors++
		var err error
		if rest, err = checkIdent(after); err != nil {
			return err
		}
	}
	switch {
	case authors == 0:
		return errorf(MissingAuthor, "invalid format - expected 'author' line")
	case authors > 1:
		return errorf(MultipleAuthors, "invalid format - multiple 'author' lines")
	}
	rest, ok = bytes.CutPrefix(rest, []byte("committer "))
	if !ok {
		return errorf(MissingCommitter, "invalid format - expected 'committer' line")
	}
	if _, err := checkIdent(rest); err != nil {
		return err
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return errorf(NulInCommit, "NUL byte in the commit object body (at offset %d)", i)
	}
	return nil
}

// CheckTag checks the content of an annotated tag object as git's fsck
// does: "object", "type" and "tag" lines, then (usually) a well-formed
// "tagger". git only notes a tag name that is not a valid ref name and a
// missing tagger, and so does this function.
func CheckTag(data []byte) error {
	if err := checkHeaders(data); err != nil {
		return err
	}
	rest, ok := bytes.CutPrefix(data, []byte("object "))
	if !ok {
		return errorf(MissingObject, "invalid format - expected 'object' line")
	}
	if rest, ok = cutHexLine(rest); !ok {
		return errorf(BadObjectSha1, "invalid 'object' line format - bad sha1")
	}
	if rest, ok = bytes.CutPrefix(rest, []byte("type ")); !ok {
		return errorf(MissingTypeEntry, "invalid format - expected 'type' line")
	}
	typ, rest, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return errorf(MissingType, "invalid format - unexpected end after 'type' line")
	}
	switch string(typ) {
	case "commit", "tree", "blob", "tag":
	default:
		return errorf(BadType, "invalid 'type' value %q", typ)
	}
	if rest, ok = bytes.CutPrefix(rest, []byte("tag ")); !ok {
		return errorf(MissingTagEntry, "invalid format - expected 'tag' line")
	}
	if _, rest, ok = bytes.Cut(rest, []byte("\n")); !ok {
		return errorf(MissingTag, "invalid format - unexpected end after 'type' line")
	}
	if after, ok := bytes.CutPrefix(rest, []byte("tagger ")); ok {
		if _, err := checkIdent(after); err != nil {
			return err
		}
	}
	return nil
}

// checkHeaders checks what git checks before parsing a commit or a tag:
// no NUL byte up to the blank line that ends the headers, and, without a
// blank line, a final newline (git parses headers with C string functions,
// which a NUL would cut short).
func checkHeaders(data []byte) error {
	end := bytes.Index(data, []byte("\n\n"))
	if end < 0 {
		end = len(data)
	}
	if i := bytes.IndexByte(data[:end], 0); i >= 0 {
		return errorf(NulInHeader, "unterminated header: NUL at offset %d", i)
	}
	if end == len(data) && (len(data) == 0 || data[len(data)-1] != '\n') {
		return errorf(UnterminatedHeader, "unterminated header")
	}
	return nil
}

// cutHexLine reads 40 hex digits (either case, as git's parser reads
// them) and a newline.
func cutHexLine(b []byte) ([]byte, bool) {
	if len(b) < 41 || b[40] != '\n' {
		return b, false
	}
	for _, c := range b[:40] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return b, false
		}
	}
	return b[41:], true
}

// checkIdent checks "Name <email> 1700000000 +0100\n", the value of an
// author, committer or tagger header, and returns what follows its line.
func checkIdent(b []byte) ([]byte, error) {
	line, rest, terminated := bytes.Cut(b, []byte("\n"))
	bad := func(id MsgID, what string) ([]byte, error) {
		return nil, errorf(id, "invalid author/committer line - %s", what)
	}
	if len(line) > 0 && line[0] == '<' {
		return bad(MissingNameBeforeEmail, "missing space before email")
	}
	lt := bytes.IndexAny(line, "<>")
	switch {
	case lt >= 0 && line[lt] == '>':
		return bad(BadName, "bad name")
	case lt < 0:
		return bad(MissingEmail, "missing email")
	case line[lt-1] != ' ':
		return bad(MissingSpaceBeforeEmail, "missing space before email")
	}
	p := line[lt+1:]
	gt := bytes.IndexAny(p, "<>")
	if gt < 0 || p[gt] != '>' {
		return bad(BadEmail, "bad email")
	}
	p = p[gt+1:]
	if len(p) == 0 || p[0] != ' ' {
		return bad(MissingSpaceBeforeDate, "missing space before date")
	}
	p = p[1:]
	if len(p) > 0 && p[0] == '0' && (len(p) == 1 || p[1] != ' ') {
		return bad(ZeroPaddedDate, "zero-padded date")
	}
	// git reads the date with strtoumax and refuses what time_t cannot
	// hold. Unlike strtoumax, no leading blank or sign is taken here.
	digits := 0
	var date uint64
	for digits < len(p) && '0' <= p[digits] && p[digits] <= '9' {
		d := uint64(p[digits] - '0')
		if date > (math.MaxInt64-d)/10 {
			return bad(BadDateOverflow, "date causes integer overflow")
		}
		date = date*10 + d
		digits++
	}
	if digits == 0 || digits == len(p) || p[digits] != ' ' {
		return bad(BadDate, "bad date")
	}
	tz := p[digits+1:]
	if len(tz) != 5 || (tz[0] != '+' && tz[0] != '-') || !isDigits(tz[1:]) || !terminated {
		return bad(BadTimezone, "bad time zone")
	}
	return rest, nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
