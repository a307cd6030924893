package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header, in bytes, that [ReadHeader]
// accepts. It is the reference implementation's MAX_HEADER_SIZE, so every
// file the reference can load is accepted. (The Hub's own metadata parser
// stops at 25,000,000 bytes.)
const MaxHeaderSize = 100_000_000

// ErrInvalid is wrapped by every error that reports malformed input, as
// opposed to an I/O error from the reader.
var ErrInvalid = errors.New("invalid safetensors file")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Dtype is an element type as spelled in a safetensors header ("F32",
// "BF16", ...).
type Dtype string

// The dtypes of the reference implementation, in its "increasing alignment"
// enum order.
const (
	BOOL       Dtype = "BOOL"
	F4         Dtype = "F4"
	F6E2M3     Dtype = "F6_E2M3"
	F6E3M2     Dtype = "F6_E3M2"
	U8         Dtype = "U8"
	I8         Dtype = "I8"
	F8E5M2     Dtype = "F8_E5M2"
	F8E4M3     Dtype = "F8_E4M3"
	F8E8M0     Dtype = "F8_E8M0"
	F8E4M3FNUZ Dtype = "F8_E4M3FNUZ"
	F8E5M2FNUZ Dtype = "F8_E5M2FNUZ"
	I16        Dtype = "I16"
	U16        Dtype = "U16"
	F16        Dtype = "F16"
	BF16       Dtype = "BF16"
	I32        Dtype = "I32"
	U32        Dtype = "U32"
	F32        Dtype = "F32"
	C64        Dtype = "C64"
	F64        Dtype = "F64"
	I64        Dtype = "I64"
	U64        Dtype = "U64"
)

// dtypeOrder lists the dtypes in the reference enum order; the writer lays
// tensors out by descending position in it.
var dtypeOrder = []Dtype{
	BOOL, F4, F6E2M3, F6E3M2, U8, I8, F8E5M2, F8E4M3, F8E8M0, F8E4M3FNUZ,
	F8E5M2FNUZ, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
}

var dtypeBits = map[Dtype]int{
	BOOL: 8, F4: 4, F6E2M3: 6, F6E3M2: 6, U8: 8, I8: 8, F8E5M2: 8, F8E4M3: 8,
	F8E8M0: 8, F8E4M3FNUZ: 8, F8E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16,
	BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
}

// Bits returns the size of one element of d in bits, or 0 if d is not a
// dtype of the reference implementation. (The aliases "E8M0", "FP4" and
// "UE8" that huggingface.js tolerates are not: the reference refuses them.)
func (d Dtype) Bits() int { return dtypeBits[d] }

// Tensor is one entry of a header.
type Tensor struct {
	Name  string
	Dtype Dtype
	// Shape is the tensor's dimensions in C order; empty for a scalar.
	Shape []int64
	// Begin and End delimit the tensor's bytes, [Begin, End), relative to
	// the start of the data section ([Header.DataStart]).
	Begin, End int64
}

// NumElements returns the product of t's dimensions (1 for a scalar), or
// -1 if it overflows int64. It cannot overflow for a tensor returned by
// [ReadHeader].
func (t Tensor) NumElements() int64 {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// numElements multiplies dims left to right with overflow checks, as the
// reference does (so [2^62, 4, 0] overflows even though a later dim is 0).
func numElements(shape []int64) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = int64(lo)
	}
	return n, true
}

// byteSize returns the number of bytes n elements of d occupy, or an error
// if the bit count overflows or is not a whole number of bytes.
func byteSize(name string, d Dtype, shape []int64) (int64, error) {
	b := d.Bits()
	if b == 0 {
		return 0, invalid("tensor %q: unknown dtype %q", name, d)
	}
	n, ok := numElements(shape)
	if !ok {
		return 0, invalid("tensor %q: shape %v overflows", name, shape)
	}
	hi, nbits := bits.Mul64(uint64(n), uint64(b))
	if hi != 0 || nbits > math.MaxInt64 {
		return 0, invalid("tensor %q: shape %v of %s overflows", name, shape, d)
	}
	if nbits%8 != 0 {
		return 0, invalid("tensor %q: %d elements of %s are not a whole number of bytes", name, n, d)
	}
	return int64(nbits / 8), nil
}

// Header is a validated safetensors header.
type Header struct {
	// Tensors lists the tensors in data order (by byte range; tensors of
	// zero size that share an offset are ordered by name).
	Tensors []Tensor
	// Metadata is the "__metadata__" map; nil when the header has none.
	Metadata map[string]string
	// DataStart is the file offset of the data section: 8 + the header
	// length. The file is exactly DataStart + [Header.DataSize] bytes.
	DataStart int64

	byName map[string]int
}

// Lookup returns the tensor called name.
func (h *Header) Lookup(name string) (Tensor, bool) {
	i, ok := h.byName[name]
	if !ok {
		return Tensor{}, false
	}
	return h.Tensors[i], true
}

// DataSize returns the size of the data section in bytes.
func (h *Header) DataSize() int64 {
	if len(h.Tensors) == 0 {
		return 0
	}
	return h.Tensors[len(h.Tensors)-1].End
}

// ReadHeader reads and validates the header of the safetensors file of
// size bytes that r reads. Malformed input yields an error wrapping
// [ErrInvalid]; errors from r are returned wrapped as they are.
//
// ReadHeader validates like the reference implementation: the header
// length is at most [MaxHeaderSize] and fits in the file; the header is
// UTF-8 JSON (leading and trailing JSON whitespace allowed); every dtype is
// known; every shape's byte size fits in int64, is a whole number of bytes
// and equals its data_offsets span; the spans, sorted, start at 0, are
// contiguous and end exactly at the end of the file. It also rejects
// duplicate keys at any level and requires "__metadata__" to map strings to
// strings. Unknown fields inside a tensor entry are ignored, as serde does.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	if size < 8 {
		return nil, invalid("file is %d bytes, shorter than the 8-byte header length", size)
	}
	var prefix [8]byte
	if err := readFullAt(r, prefix[:], 0); err != nil {
		return nil, fmt.Errorf("read safetensors header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > MaxHeaderSize {
		return nil, invalid("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, invalid("header length %d exceeds the %d bytes that follow it", n, size-8)
	}
	buf := make([]byte, n)
	if err := readFullAt(r, buf, 8); err != nil {
		return nil, fmt.Errorf("read safetensors header: %w", err)
	}
	h, err := parseHeader(buf)
	if err != nil {
		return nil, err
	}
	h.DataStart = 8 + int64(n)
	if err := h.validate(size - h.DataStart); err != nil {
		return nil, err
	}
	return h, nil
}

func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// parseHeader decodes the JSON header without validating offsets.
func parseHeader(buf []byte) (*Header, error) {
	if !utf8.Valid(buf) {
		return nil, invalid("header is not valid UTF-8")
	}
	d := newDecoder(buf)
	if err := d.expectDelim("header", '{'); err != nil {
		return nil, err
	}
	h := &Header{byName: make(map[string]int)}
	seen := false // "__metadata__" seen
	for d.More() {
		key, err := d.key()
		if err != nil {
			return nil, err
		}
		if key == "__metadata__" {
			if seen {
				return nil, invalid("duplicate key %q", key)
			}
			seen = true
			if h.Metadata, err = d.stringMap("__metadata__"); err != nil {
				return nil, err
			}
			continue
		}
		if _, dup := h.byName[key]; dup {
			return nil, invalid("duplicate tensor %q", key)
		}
		t, err := d.tensor(key)
		if err != nil {
			return nil, err
		}
		h.byName[key] = len(h.Tensors)
		h.Tensors = append(h.Tensors, t)
	}
	if err := d.expectDelim("header", '}'); err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return h, nil
}

// validate is the reference Metadata::validate plus the final
// MetadataIncompleteBuffer check against dataSize.
func (h *Header) validate(dataSize int64) error {
	slices.SortFunc(h.Tensors, func(a, b Tensor) int {
		if a.Begin != b.Begin {
			return cmpInt(a.Begin, b.Begin)
		}
		if a.End != b.End {
			return cmpInt(a.End, b.End)
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	var start int64
	for i, t := range h.Tensors {
		h.byName[t.Name] = i
		if t.Begin != start || t.End < t.Begin {
			return invalid("tensor %q: data_offsets [%d, %d] do not start where the previous tensor ends (%d)", t.Name, t.Begin, t.End, start)
		}
		n, err := byteSize(t.Name, t.Dtype, t.Shape)
		if err != nil {
			return err
		}
		if t.End-t.Begin != n {
			return invalid("tensor %q: data_offsets span %d bytes but %v of %s is %d bytes", t.Name, t.End-t.Begin, t.Shape, t.Dtype, n)
		}
		start = t.End
	}
	if start != dataSize {
		return invalid("tensors cover %d bytes but the data section is %d bytes", start, dataSize)
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decoder wraps json.Decoder's token stream with the few shapes the
// safetensors header and index need, turning every syntax error into
// ErrInvalid. Token streaming (rather than Unmarshal into a map) is what
// lets us see duplicate keys.
type decoder struct {
	*json.Decoder
	buf []byte
}

func newDecoder(buf []byte) *decoder {
	d := &decoder{Decoder: json.NewDecoder(bytes.NewReader(buf)), buf: buf}
	d.UseNumber()
	return d
}

func (d *decoder) token() (json.Token, error) {
	t, err := d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, invalid("unexpected end of JSON")
		}
		return nil, invalid("JSON: %v", err)
	}
	return t, nil
}

func (d *decoder) expectDelim(what string, want json.Delim) error {
	t, err := d.token()
	if err != nil {
		return err
	}
	if got, ok := t.(json.Delim); !ok || got != want {
		return invalid("%s: expected %q, found %s", what, want, describe(t))
	}
	return nil
}

// key reads an object key; json.Decoder guarantees it is a string.
func (d *decoder) key() (string, error) {
	t, err := d.token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", invalid("JSON: expected an object key, found %s", describe(t))
	}
	return s, nil
}

func (d *decoder) str(what string) (string, error) {
	t, err := d.token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", invalid("%s: expected a string, found %s", what, describe(t))
	}
	return s, nil
}

// uint reads a non-negative JSON integer that fits in int64. Fractions and
// exponents are refused, as serde refuses them for usize.
func (d *decoder) uint(what string) (int64, error) {
	t, err := d.token()
	if err != nil {
		return 0, err
	}
	num, ok := t.(json.Number)
	if !ok {
		return 0, invalid("%s: expected an integer, found %s", what, describe(t))
	}
	v, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil {
		return 0, invalid("%s: %s is not a non-negative integer", what, num)
	}
	if v > math.MaxInt64 {
		return 0, invalid("%s: %s is too large", what, num)
	}
	return int64(v), nil
}

// stringMap reads null or an object of string values, rejecting duplicate
// keys. The result is nil for null.
func (d *decoder) stringMap(what string) (map[string]string, error) {
	t, err := d.token()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nil
	}
	if delim, ok := t.(json.Delim); !ok || delim != '{' {
		return nil, invalid("%s: expected an object, found %s", what, describe(t))
	}
	m := make(map[string]string)
	for d.More() {
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, invalid("%s: duplicate key %q", what, k)
		}
		v, err := d.str(fmt.Sprintf("%s[%q]", what, k))
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, d.expectDelim(what, '}')
}

func (d *decoder) tensor(name string) (Tensor, error) {
	t := Tensor{Name: name}
	what := fmt.Sprintf("tensor %q", name)
	if err := d.expectDelim(what, '{'); err != nil {
		return t, err
	}
	var haveDtype, haveShape, haveOffsets bool
	for d.More() {
		k, err := d.key()
		if err != nil {
			return t, err
		}
		switch k {
		case "dtype":
			if haveDtype {
				return t, invalid("tensor %q: duplicate field %q", name, k)
			}
			haveDtype = true
			s, err := d.str(fmt.Sprintf("tensor %q: dtype", name))
			if err != nil {
				return t, err
			}
			t.Dtype = Dtype(s)
			if t.Dtype.Bits() == 0 {
				return t, invalid("tensor %q: unknown dtype %q", name, s)
			}
		case "shape":
			if haveShape {
				return t, invalid("tensor %q: duplicate field %q", name, k)
			}
			haveShape = true
			if t.Shape, err = d.uints(fmt.Sprintf("tensor %q: shape", name), -1); err != nil {
				return t, err
			}
		case "data_offsets":
			if haveOffsets {
				return t, invalid("tensor %q: duplicate field %q", name, k)
			}
			haveOffsets = true
			offs, err := d.uints(fmt.Sprintf("tensor %q: data_offsets", name), 2)
			if err != nil {
				return t, err
			}
			t.Begin, t.End = offs[0], offs[1]
		default:
			if err := d.skip(); err != nil {
				return t, err
			}
		}
	}
	if err := d.expectDelim(what, '}'); err != nil {
		return t, err
	}
	switch {
	case !haveDtype:
		return t, invalid("tensor %q: missing dtype", name)
	case !haveShape:
		return t, invalid("tensor %q: missing shape", name)
	case !haveOffsets:
		return t, invalid("tensor %q: missing data_offsets", name)
	}
	return t, nil
}

// uints reads an array of non-negative integers; if n >= 0 it must have
// exactly n elements.
func (d *decoder) uints(what string, n int) ([]int64, error) {
	if err := d.expectDelim(what, '['); err != nil {
		return nil, err
	}
	vs := []int64{}
	for d.More() {
		if n >= 0 && len(vs) == n {
			return nil, invalid("%s: more than %d elements", what, n)
		}
		v, err := d.uint(what)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	if n >= 0 && len(vs) != n {
		return nil, invalid("%s: %d elements, want %d", what, len(vs), n)
	}
	return vs, d.expectDelim(what, ']')
}

// skip consumes one value of any shape. json.Decoder tracks nesting
// iteratively, so there is no recursion to bound.
func (d *decoder) skip() error {
	depth := 0
	for {
		t, err := d.token()
		if err != nil {
			return err
		}
		if delim, ok := t.(json.Delim); ok {
			switch delim {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// end checks that only JSON whitespace follows the top-level value. The
// reference writer pads the header with spaces.
func (d *decoder) end() error {
	rest := d.buf[d.InputOffset():]
	if i := bytes.IndexFunc(rest, func(r rune) bool {
		return r != ' ' && r != '\t' && r != '\n' && r != '\r'
	}); i >= 0 {
		return invalid("unexpected data after the JSON header at byte %d", int(d.InputOffset())+i)
	}
	return nil
}

func describe(t json.Token) string {
	switch v := t.(type) {
	case nil:
		return "null"
	case json.Delim:
		return strconv.Quote(string(v))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", t)
}
