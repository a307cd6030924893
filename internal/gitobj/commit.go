package gitobj

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signature is an author, committer or tagger line.
type Signature struct {
	Name  string
	Email string
	When  time.Time // its location carries the time zone offset git records
}

func (s Signature) encode(buf *bytes.Buffer) {
	buf.WriteString(sanitizeIdent(s.Name))
	buf.WriteString(" <")
	buf.WriteString(sanitizeIdent(s.Email))
	buf.WriteString("> ")
	buf.WriteString(strconv.FormatInt(s.When.Unix(), 10))
	_, off := s.When.Zone()
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	buf.WriteByte(' ')
	buf.WriteByte(sign)
	fmt.Fprintf(buf, "%02d%02d", off/3600, (off%3600)/60)
}

// sanitizeIdent drops the characters git itself strips from identities so
// that a user-supplied name can never break the object's line structure.
func sanitizeIdent(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '<', '>', '\n', '\x00':
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func parseSignature(line string) (Signature, error) {
	lt := strings.IndexByte(line, '<')
	gt := strings.LastIndexByte(line, '>')
	if lt < 0 || gt < lt {
		return Signature{}, fmt.Errorf("%w: signature %q", ErrInvalid, line)
	}
	sig := Signature{Name: strings.TrimSpace(line[:lt]), Email: line[lt+1 : gt]}
	rest := strings.Fields(line[gt+1:])
	if len(rest) < 1 {
		sig.When = time.Unix(0, 0).UTC()
		return sig, nil
	}
	sec, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil {
		return Signature{}, fmt.Errorf("%w: signature time %q", ErrInvalid, rest[0])
	}
	loc := time.UTC
	if len(rest) > 1 && len(rest[1]) == 5 && (rest[1][0] == '+' || rest[1][0] == '-') {
		hh, err1 := strconv.Atoi(rest[1][1:3])
		mm, err2 := strconv.Atoi(rest[1][3:5])
		if err1 == nil && err2 == nil {
			off := hh*3600 + mm*60
			if rest[1][0] == '-' {
				off = -off
			}
			if off != 0 {
				loc = time.FixedZone("", off)
			}
		}
	}
	sig.When = time.Unix(sec, 0).In(loc)
	return sig, nil
}

// Commit is a decoded commit object.
type Commit struct {
	Tree      ID
	Parents   []ID
	Author    Signature
	Committer Signature
	Message   string
}

// Encode returns the content of the commit object.
func (c *Commit) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString("tree " + c.Tree.String() + "\n")
	for _, p := range c.Parents {
		buf.WriteString("parent " + p.String() + "\n")
	}
	buf.WriteString("author ")
	c.Author.encode(&buf)
	buf.WriteString("\ncommitter ")
	c.Committer.encode(&buf)
	buf.WriteString("\n\n")
	buf.WriteString(c.Message)
	return buf.Bytes()
}

// Title returns the first line of the message, as git's "subject".
func (c *Commit) Title() string {
	t, _ := SplitMessage(c.Message)
	return t
}

// SplitMessage splits a commit message into its title (first paragraph,
// joined into one line as git does) and the rest.
func SplitMessage(msg string) (title, body string) {
	msg = strings.TrimLeft(msg, "\n")
	para, rest, _ := strings.Cut(msg, "\n\n")
	title = strings.Join(strings.Fields(strings.ReplaceAll(para, "\n", " ")), " ")
	return title, strings.Trim(rest, "\n")
}

// DecodeCommit parses a commit object's content. Headers it does not model
// (gpgsig, encoding, mergetag) are skipped, with their continuation lines.
func DecodeCommit(data []byte) (*Commit, error) {
	c := &Commit{}
	// As git reads a commit: the tree, the parents right after it, then
	// the first author and committer. Headers past them (a second
	// committer included) are extra headers, which git and its fsck
	// leave alone, and so does this.
	seenTree, seenAuthor, seenCommitter := false, false, false
	for {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("%w: commit has no message separator", ErrInvalid)
		}
		line := string(data[:nl])
		data = data[nl+1:]
		if line == "" {
			break
		}
		if line[0] == ' ' { // continuation of a multi-line header
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		switch {
		case key == "tree" && !seenTree:
			id, err := ParseID(val)
			if err != nil {
				return nil, err
			}
			c.Tree, seenTree = id, true
		case key == "parent" && !seenAuthor && !seenCommitter:
			id, err := ParseID(val)
			if err != nil {
				return nil, err
			}
			c.Parents = append(c.Parents, id)
		case key == "author" && !seenAuthor:
			s, err := parseSignature(val)
			if err != nil {
				return nil, err
			}
			c.Author, seenAuthor = s, true
		case key == "committer" && !seenCommitter:
			s, err := parseSignature(val)
			if err != nil {
				return nil, err
			}
			c.Committer, seenCommitter = s, true
		}
	}
	if !seenTree {
		return nil, fmt.Errorf("%w: commit has no tree", ErrInvalid)
	}
	c.Message = string(data)
	return c, nil
}

// Tag is a decoded annotated tag object.
type Tag struct {
	Object  ID
	Type    Kind
	Name    string
	Tagger  Signature
	Message string
}

// Encode returns the content of the tag object.
func (t *Tag) Encode() []byte {
	var buf bytes.Buffer
	buf.WriteString("object " + t.Object.String() + "\n")
	buf.WriteString("type " + t.Type.String() + "\n")
	buf.WriteString("tag " + t.Name + "\n")
	buf.WriteString("tagger ")
	t.Tagger.encode(&buf)
	buf.WriteString("\n\n")
	buf.WriteString(t.Message)
	return buf.Bytes()
}

// DecodeTag parses an annotated tag object's content.
func DecodeTag(data []byte) (*Tag, error) {
	t := &Tag{}
	seenObject := false
	for {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			// A tag without message has no blank line.
			if len(data) == 0 {
				break
			}
			return nil, fmt.Errorf("%w: truncated tag", ErrInvalid)
		}
		line := string(data[:nl])
		data = data[nl+1:]
		if line == "" {
			break
		}
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "object":
			id, err := ParseID(val)
			if err != nil {
				return nil, err
			}
			t.Object, seenObject = id, true
		case "type":
			k, err := ParseKind(val)
			if err != nil {
				return nil, err
			}
			t.Type = k
		case "tag":
			t.Name = val
		case "tagger":
			s, err := parseSignature(val)
			if err != nil {
				return nil, err
			}
			t.Tagger = s
		}
	}
	if !seenObject || t.Type == 0 {
		return nil, fmt.Errorf("%w: tag has no object or type", ErrInvalid)
	}
	t.Message = string(data)
	return t, nil
}
