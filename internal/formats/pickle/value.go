package pickle

import (
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// value is an emulated Python object. Values are shared by pointer, as
// Python objects are: a memo GET pushes the very value that was PUT, and
// APPEND mutates the list every reference sees.
type value struct {
	kind   ValueKind
	opaque bool  // str/bytes: content not kept; int: too large to keep
	imp    int32 // KindGlobal: import index; KindObject: creating import or -1
	i      int64 // int and bool values
	s      string
	items  []*value // tuple/list/set elements; dict as k0, v0, k1, v1, ...
	obj    *object  // KindObject only
}

// object is what is known about a computed value.
type object struct {
	by    Op
	cls   int32  // import index of its class, or -1
	args  *value // call arguments, if any
	state *value // last BUILD state
	// attrs holds the instance attributes a joblib wrapper received from
	// its constructor and BUILD states, as k0, v0, k1, v1, ...
	attrs []*value
	array bool // an array read by joblib
}

var (
	valNone  = &value{kind: KindNone}
	valTrue  = &value{kind: KindBool, i: 1}
	valFalse = &value{kind: KindBool}
)

func newStr(b []byte, opaque bool) *value {
	return &value{kind: KindStr, s: string(b), opaque: opaque}
}

// smallInts are shared: ints are immutable, and small ones are most of
// them.
var smallInts = func() (v [257]*value) {
	for i := range v {
		v[i] = &value{kind: KindInt, i: int64(i - 1)}
	}
	return v
}()

func newInt(i int64) *value {
	if i >= -1 && i < 256 {
		return smallInts[i+1]
	}
	return &value{kind: KindInt, i: i}
}

// constStr returns the string and true if v is a string constant whose
// content was kept.
func (v *value) constStr() (string, bool) {
	if v.kind == KindStr && !v.opaque {
		return v.s, true
	}
	return "", false
}

// constText returns the content of a kept str or bytes constant.
func (v *value) constText() (string, bool) {
	if (v.kind == KindStr || v.kind == KindBytes) && !v.opaque {
		return v.s, true
	}
	return "", false
}

// constInt returns the value of an int constant that fits in an int64.
func (v *value) constInt() (int64, bool) {
	if v.kind == KindInt && !v.opaque && v.s == "" {
		return v.i, true
	}
	if v.kind == KindBool {
		return v.i, true
	}
	return 0, false
}

// decimal renders an int constant in decimal, or "" if v is not one.
func (v *value) decimal() string {
	if v.kind != KindInt || v.opaque {
		return ""
	}
	if v.s != "" {
		return v.s
	}
	return strconv.FormatInt(v.i, 10)
}

// maxIntBytes bounds the two's-complement ints converted to decimal;
// longer ones become opaque (big-number formatting is quadratic).
const maxIntBytes = 64

// intFromLE decodes a little-endian two's-complement integer (LONG1/LONG4).
func intFromLE(b []byte) *value {
	if len(b) == 0 {
		return newInt(0)
	}
	if len(b) > maxIntBytes {
		return &value{kind: KindInt, opaque: true}
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return bigValue(n)
}

func bigValue(n *big.Int) *value {
	if n.IsInt64() {
		return newInt(n.Int64())
	}
	return &value{kind: KindInt, s: n.String()}
}

// parseTextInt parses an INT, LONG, GET or PUT argument the way Python's
// int(text, 0) does, leniently: whitespace, a sign, 0x/0o/0b prefixes and
// underscores are accepted.
func parseTextInt(b []byte) (*value, bool) {
	s := strings.TrimSpace(string(b))
	if len(s) > 2*maxIntBytes+4 {
		return &value{kind: KindInt, opaque: true}, true
	}
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if len(s) > 1 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			base, s = 16, s[2:]
		case 'o', 'O':
			base, s = 8, s[2:]
		case 'b', 'B':
			base, s = 2, s[2:]
		}
	}
	s = strings.ReplaceAll(s, "_", "")
	if s == "" {
		return nil, false
	}
	n, ok := new(big.Int).SetString(s, base)
	if !ok {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return bigValue(n), true
}

// escapeDecode implements codecs.escape_decode for a STRING argument.
// Invalid escapes are kept as written.
func escapeDecode(b []byte) []byte {
	if !strings.ContainsRune(string(b), '\\') {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch e := b[i]; e {
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '\n':
		case 'x':
			if i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
				v, _ := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
				out = append(out, byte(v))
				i += 2
			} else {
				out = append(out, '\\', 'x')
			}
		default:
			if e >= '0' && e <= '7' {
				v := int(e - '0')
				for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
					i++
					v = v*8 + int(b[i]-'0')
				}
				out = append(out, byte(v))
			} else {
				out = append(out, '\\', e)
			}
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// rawUnicodeEscapeDecode implements the raw-unicode-escape codec for a
// UNICODE argument: \uXXXX and \UXXXXXXXX after an odd run of backslashes
// are escapes, every other byte is a Latin-1 code point.
func rawUnicodeEscapeDecode(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			sb.WriteRune(rune(c))
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		run := j - i
		if run%2 == 1 && j < len(b) && (b[j] == 'u' || b[j] == 'U') {
			n := 4
			if b[j] == 'U' {
				n = 8
			}
			if j+1+n <= len(b) {
				if r, err := strconv.ParseUint(string(b[j+1:j+1+n]), 16, 32); err == nil && r <= unicode.MaxRune {
					sb.WriteString(strings.Repeat(`\`, run-1))
					sb.WriteRune(rune(r))
					i = j + n
					continue
				}
			}
		}
		sb.WriteString(strings.Repeat(`\`, run))
		i = j - 1
	}
	return sb.String()
}

// isDottedIdent reports whether s is a non-empty dot-separated sequence of
// Python identifiers.
func isDottedIdent(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if r == '_' || unicode.IsLetter(r) || i > 0 && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
				continue
			}
			return false
		}
	}
	return true
}
