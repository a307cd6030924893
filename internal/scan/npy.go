package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxNPYHeader bounds the .npy header read. numpy.load accepts headers of
// any length when allow_pickle is on, so a longer one leaves the file
// unscanned.
const maxNPYHeader = 1 << 20

// scanNPY reads a .npy header and, when the dtype holds Python objects (or
// cannot be understood), scans the data as the pickle numpy.load would
// unpickle.
func (s *scanner) scanNPY(b *blob) {
	r, err := b.reader()
	if err != nil {
		s.readErr(b.path, err)
		return
	}
	pre := make([]byte, 12)
	n, err := io.ReadFull(r, pre)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
		s.readErr(b.path, err)
		return
	}
	pre = pre[:n]
	if len(pre) < 10 {
		s.finding(b.path, "npy-header", Innocuous, 0, "truncated header: numpy.load fails")
		return
	}
	var hlen, start int64
	switch pre[6] {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:])), 10
	case 2, 3:
		if len(pre) < 12 {
			s.finding(b.path, "npy-header", Innocuous, 0, "truncated header: numpy.load fails")
			return
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:])), 12
	default:
		s.finding(b.path, "npy-header", Innocuous, 0, fmt.Sprintf("format version %d.%d: numpy.load refuses it", pre[6], pre[7]))
		return
	}
	if hlen > maxNPYHeader {
		s.incomplete(b.path, "npy-header", fmt.Sprintf("header of %d bytes", hlen))
		return
	}
	hdr := make([]byte, hlen)
	copy(hdr, pre[start:])
	if k := int64(len(pre)) - start; k < hlen {
		if _, err := io.ReadFull(r, hdr[k:]); err != nil {
			s.finding(b.path, "npy-header", Innocuous, 0, "truncated header: numpy.load fails")
			return
		}
	}
	object, why := npyHoldsObjects(string(hdr))
	if object == npyPlain {
		return // raw array bytes follow; nothing to read
	}
	if object == npyUnknown {
		s.finding(b.path, "npy-header", Suspicious, 0, why+"; the data is scanned as a pickle")
	}
	data := &blob{path: b.path, size: -1, depth: b.depth, first: r}
	if b.ra != nil {
		data = b.from(start + hlen)
	}
	s.scanPickle(data, pickleOpts{})
}

type npyObjects int

const (
	npyPlain npyObjects = iota
	npyObject
	npyUnknown
)

// npyHoldsObjects reads the descr of a .npy header dict.
func npyHoldsObjects(header string) (npyObjects, string) {
	p := &pyParser{s: header}
	v, err := p.value(0)
	if err != nil {
		return npyUnknown, "header is not a Python literal: " + err.Error()
	}
	if v.kind != 'd' {
		return npyUnknown, "header is not a dict"
	}
	for i := range v.keys {
		if v.keys[i].kind == 's' && v.keys[i].s == "descr" {
			return descrObjects(v.items[i], 0)
		}
	}
	return npyUnknown, "header has no descr"
}

func descrObjects(d pyValue, depth int) (npyObjects, string) {
	if depth > 32 {
		return npyUnknown, "descr nested too deep"
	}
	switch d.kind {
	case 's':
		t := strings.TrimLeft(d.s, "<>|=!")
		if strings.HasPrefix(t, "O") {
			return npyObject, ""
		}
		return npyPlain, ""
	case 't':
		// A structured dtype: [(name, format[, shape]), ...].
		res := npyPlain
		for _, f := range d.items {
			if f.kind != 't' || len(f.items) < 2 {
				return npyUnknown, "unrecognised structured descr"
			}
			o, why := descrObjects(f.items[1], depth+1)
			if o == npyUnknown {
				return o, why
			}
			if o == npyObject {
				res = npyObject
			}
		}
		return res, ""
	}
	return npyUnknown, "unrecognised descr"
}

// pyValue is a parsed Python literal: 's' string, 'n' number, 'c'
// constant (True, False, None), 't' tuple or list, 'd' dict.
type pyValue struct {
	kind  byte
	s     string
	items []pyValue
	keys  []pyValue
}

// pyParser parses the Python literals ast.literal_eval accepts in .npy
// headers.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) ws() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n\x00", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *pyParser) value(depth int) (pyValue, error) {
	if depth > 64 {
		return pyValue{}, errors.New("nested too deep")
	}
	p.ws()
	if p.i >= len(p.s) {
		return pyValue{}, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '(' || c == '[':
		closer := byte(')')
		if c == '[' {
			closer = ']'
		}
		p.i++
		v := pyValue{kind: 't'}
		for {
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == closer {
				p.i++
				return v, nil
			}
			e, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.items = append(v.items, e)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			} else if p.i >= len(p.s) || p.s[p.i] != closer {
				return v, fmt.Errorf("expected a comma or %q", closer)
			}
		}
	case c == '{':
		p.i++
		v := pyValue{kind: 'd'}
		for {
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == '}' {
				p.i++
				return v, nil
			}
			k, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return v, errors.New("expected a colon")
			}
			p.i++
			e, err := p.value(depth + 1)
			if err != nil {
				return v, err
			}
			v.keys, v.items = append(v.keys, k), append(v.items, e)
			p.ws()
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
			} else if p.i >= len(p.s) || p.s[p.i] != '}' {
				return v, errors.New("expected a comma or a closing brace")
			}
		}
	case c == '\'' || c == '"' || strings.IndexByte("bBuUrR", c) >= 0:
		// Adjacent literals concatenate, as in Python.
		var sb strings.Builder
		n := 0
		for {
			p.ws()
			str, ok, err := p.str()
			if err != nil {
				return pyValue{}, err
			}
			if !ok {
				break
			}
			sb.WriteString(str)
			n++
		}
		if n == 0 {
			return p.word()
		}
		return pyValue{kind: 's', s: sb.String()}, nil
	}
	return p.word()
}

// str parses one string literal, with an optional b/u/r prefix.
func (p *pyParser) str() (string, bool, error) {
	j := p.i
	raw := false
	for k := 0; k < 2 && j < len(p.s) && strings.IndexByte("bBuUrR", p.s[j]) >= 0; k++ {
		raw = raw || p.s[j] == 'r' || p.s[j] == 'R'
		j++
	}
	if j >= len(p.s) || p.s[j] != '\'' && p.s[j] != '"' {
		return "", false, nil
	}
	q := p.s[j]
	j++
	var sb strings.Builder
	for j < len(p.s) && p.s[j] != q {
		c := p.s[j]
		if c == '\\' && j+1 < len(p.s) {
			if raw {
				sb.WriteByte(c)
				sb.WriteByte(p.s[j+1])
				j += 2
				continue
			}
			j++
			switch e := p.s[j]; e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'x', 'u', 'U':
				w := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if j+w < len(p.s) {
					if r, err := strconv.ParseUint(p.s[j+1:j+1+w], 16, 32); err == nil {
						sb.WriteRune(rune(r))
						j += w
						break
					}
				}
				sb.WriteByte(e)
			default:
				sb.WriteByte(e)
			}
			j++
			continue
		}
		sb.WriteByte(c)
		j++
	}
	if j >= len(p.s) {
		return "", false, errors.New("unterminated string")
	}
	p.i = j + 1
	return sb.String(), true, nil
}

// word parses a number or True, False, None.
func (p *pyParser) word() (pyValue, error) {
	j := p.i
	for j < len(p.s) && strings.IndexByte(" \t\r\n,:)]}", p.s[j]) < 0 {
		j++
	}
	w := p.s[p.i:j]
	p.i = j
	switch w {
	case "True", "False", "None":
		return pyValue{kind: 'c', s: w}, nil
	}
	w = strings.TrimSuffix(strings.TrimSuffix(w, "L"), "l")
	if _, err := strconv.ParseFloat(w, 64); err == nil && w != "" {
		return pyValue{kind: 'n', s: w}, nil
	}
	return pyValue{}, fmt.Errorf("unexpected %q", w)
}
