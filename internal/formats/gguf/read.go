package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Limits of [Read]. A file that exceeds one is refused with [ErrInvalid].
const (
	// MaxHeaderSize bounds the bytes Read consumes: magic, counts,
	// metadata and tensor infos. Real headers are dominated by the
	// tokenizer (a 262k-token vocabulary with scores and types is ~6 MB);
	// huggingface.js stops at 50 MB.
	MaxHeaderSize = 64 << 20
	// MaxTensors bounds tensor_count (huggingface.js: 10M; real files have
	// at most tens of thousands).
	MaxTensors = 1 << 20
	// MaxKV bounds metadata_kv_count, as in huggingface.js.
	MaxKV = 100_000
	// MaxStringLength bounds one string (huggingface.js: 10 MB, ggml 1 GiB).
	MaxStringLength = 16 << 20
	// MaxArrayLength bounds the elements of one array (huggingface.js:
	// 1M, ggml 1Gi). The byte budget of MaxHeaderSize binds first for all
	// but the smallest element types.
	MaxArrayLength = 1 << 24
	// MaxArrayDepth bounds array nesting: an array of arrays has depth 2.
	// ggml refuses nested arrays; huggingface.js allows depth 4.
	MaxArrayDepth = 4
	// MaxKeyLength is the spec's limit on a key.
	MaxKeyLength = 65535
	// MaxDims is ggml's GGML_MAX_DIMS.
	MaxDims = 4
	// MaxTensorNameLength is the spec's limit on a tensor name (ggml
	// itself requires fewer than 64 bytes).
	MaxTensorNameLength = 64
)

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// Keys with a meaning to this package.
const (
	KeyAlignment    = "general.alignment"
	KeyArchitecture = "general.architecture"
	KeyFileType     = "general.file_type"
	KeyChatTemplate = "tokenizer.chat_template"
	KeyTokens       = "tokenizer.ggml.tokens"
	KeyBOSTokenID   = "tokenizer.ggml.bos_token_id"
	KeyEOSTokenID   = "tokenizer.ggml.eos_token_id"
)

// ErrInvalid is wrapped by every error that reports malformed or
// unsupported input, as opposed to an I/O error from the reader.
var ErrInvalid = errors.New("invalid GGUF file")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// File is the parsed header of a GGUF file.
type File struct {
	// Version is 2 or 3.
	Version uint32
	// ByteOrder is binary.LittleEndian or binary.BigEndian.
	ByteOrder binary.ByteOrder
	// KV lists the metadata in file order; keys are unique.
	KV []KV
	// Tensors lists the tensor infos in file order; names are unique.
	Tensors []TensorInfo
	// Alignment is general.alignment, or [DefaultAlignment].
	Alignment uint32
	// DataOffset is the file offset of the tensor data: the end of the
	// tensor infos rounded up to Alignment.
	DataOffset int64

	index map[string]int // KV position by key
}

// Lookup returns the metadata value of key.
func (f *File) Lookup(key string) (Value, bool) {
	if f.index != nil {
		i, ok := f.index[key]
		if !ok {
			return Value{}, false
		}
		return f.KV[i].Value, true
	}
	for _, kv := range f.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// Read parses the header of the GGUF file of size bytes that r reads. It
// reads the magic, version, metadata and tensor infos, and checks the
// tensors' data ranges against size without reading them. Malformed or
// unsupported input yields an error wrapping [ErrInvalid]; errors from r
// are returned wrapped as they are.
func Read(r io.ReaderAt, size int64) (*File, error) {
	limit := min(size, MaxHeaderSize)
	if limit < 0 {
		limit = 0
	}
	d := &decoder{
		r:     bufio.NewReaderSize(io.NewSectionReader(r, 0, limit), int(min(limit, 64<<10))),
		limit: limit,
		size:  size,
	}
	f, err := d.file()
	if err != nil {
		return nil, err
	}
	if err := f.checkData(size); err != nil {
		return nil, err
	}
	return f, nil
}

// decoder reads the header sequentially, tracking how many bytes remain
// under the header limit.
type decoder struct {
	r     *bufio.Reader
	off   int64 // bytes consumed
	limit int64 // min(size, MaxHeaderSize)
	size  int64
	order binary.ByteOrder
	buf   [8]byte
}

func (d *decoder) remaining() int64 { return d.limit - d.off }

// short reports that n more bytes are needed than remain.
func (d *decoder) short(what string, n uint64) error {
	if d.limit < d.size {
		return invalid("%s: header exceeds the limit of %d bytes", what, MaxHeaderSize)
	}
	return invalid("%s: %d bytes needed at offset %d but the file ends at %d", what, n, d.off, d.size)
}

// fill reads exactly len(p) bytes, which the caller has checked remain.
func (d *decoder) fill(p []byte) error {
	n, err := io.ReadFull(d.r, p)
	d.off += int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the reader is shorter than size
		}
		return fmt.Errorf("read gguf header: %w", err)
	}
	return nil
}

func (d *decoder) fixed(what string, n int) ([]byte, error) {
	if int64(n) > d.remaining() {
		return nil, d.short(what, uint64(n))
	}
	p := d.buf[:n]
	return p, d.fill(p)
}

func (d *decoder) u32(what string) (uint32, error) {
	p, err := d.fixed(what, 4)
	if err != nil {
		return 0, err
	}
	return d.order.Uint32(p), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	p, err := d.fixed(what, 8)
	if err != nil {
		return 0, err
	}
	return d.order.Uint64(p), nil
}

// str reads a length-prefixed string of at most maxLen bytes, allocating
// only after checking that the bytes remain.
func (d *decoder) str(what string, maxLen uint64) (string, error) {
	n, err := d.u64(what)
	if err != nil {
		return "", err
	}
	if n > maxLen {
		return "", invalid("%s: length %d exceeds the limit of %d", what, n, maxLen)
	}
	if n > uint64(d.remaining()) {
		return "", d.short(what, n)
	}
	p := make([]byte, n)
	if err := d.fill(p); err != nil {
		return "", err
	}
	return string(p), nil
}

// count reads a u64 count of items of at least minSize bytes each and
// checks it against max and against the bytes that remain, so the caller
// may allocate count items.
func (d *decoder) count(what string, max uint64, minSize int) (int, error) {
	n, err := d.u64(what)
	if err != nil {
		return 0, err
	}
	if n > max {
		return 0, invalid("%s %d exceeds the limit of %d", what, n, max)
	}
	// n ≤ max < 2^32 and minSize ≤ 16, so the product cannot overflow.
	if need := n * uint64(minSize); need > uint64(d.remaining()) {
		return 0, d.short(fmt.Sprintf("%s %d", what, n), need)
	}
	return int(n), nil
}

func (d *decoder) file() (*File, error) {
	d.order = binary.LittleEndian
	magic, err := d.fixed("magic", 4)
	if err != nil {
		return nil, err
	}
	if string(magic) != "GGUF" {
		return nil, invalid("not a GGUF file (magic %q)", magic)
	}
	p, err := d.fixed("version", 4)
	if err != nil {
		return nil, err
	}
	f := &File{ByteOrder: binary.LittleEndian, Alignment: DefaultAlignment}
	f.Version = binary.LittleEndian.Uint32(p)
	if f.Version != 0 && f.Version&0xFFFF == 0 {
		// No flag marks a big-endian file: its version read
		// little-endian has zero low bits (ggml's and huggingface.js's
		// test).
		d.order = binary.BigEndian
		f.ByteOrder = binary.BigEndian
		f.Version = binary.BigEndian.Uint32(p)
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return nil, invalid("GGUF version 1 is not supported")
	default:
		return nil, invalid("unsupported GGUF version %d", f.Version)
	}
	// Reserve the minimal size of each item so that neither count can
	// claim more than the header holds: a tensor info is at least a name
	// length, n_dims, type and offset; a KV a key length, a type and a
	// 1-byte value.
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return nil, err
	}
	if nTensors > MaxTensors {
		return nil, invalid("tensor count %d exceeds the limit of %d", nTensors, MaxTensors)
	}
	nKV, err := d.count("metadata count", MaxKV, 8+4+1)
	if err != nil {
		return nil, err
	}
	if need := nTensors * (8 + 4 + 4 + 8); need > uint64(d.remaining()) {
		return nil, d.short(fmt.Sprintf("tensor count %d", nTensors), need)
	}

	f.KV = make([]KV, 0, nKV)
	f.index = make(map[string]int, nKV)
	for i := range nKV {
		key, err := d.str(fmt.Sprintf("key %d", i), MaxKeyLength)
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, invalid("key %d is empty", i)
		}
		if _, dup := f.index[key]; dup {
			return nil, invalid("duplicate key %q", key)
		}
		t, err := d.u32(key)
		if err != nil {
			return nil, err
		}
		v, err := d.value(key, ValueType(t), 0)
		if err != nil {
			return nil, err
		}
		f.index[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	if v, ok := f.Lookup(KeyAlignment); ok {
		a, isU32 := v.AsUint()
		if v.Type() != TypeUint32 || !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, invalid("%s must be a uint32 power of 2, got %v %v", KeyAlignment, v.Type(), v)
		}
		f.Alignment = uint32(a)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	names := make(map[string]bool, nTensors)
	for i := range int(nTensors) {
		t, err := d.tensorInfo(i)
		if err != nil {
			return nil, err
		}
		if names[t.Name] {
			return nil, invalid("duplicate tensor %q", t.Name)
		}
		names[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = alignUp(d.off, int64(f.Alignment))
	return f, nil
}

func alignUp(x, a int64) int64 { return x + (a-x%a)%a }

// value reads a value of type t; depth is the number of arrays enclosing
// it.
func (d *decoder) value(what string, t ValueType, depth int) (Value, error) {
	switch t {
	case TypeString:
		s, err := d.str(what, MaxStringLength)
		return String(s), err
	case TypeArray:
		return d.array(what, depth+1)
	}
	if !t.valid() {
		return Value{}, invalid("%s: unknown value type %d", what, t)
	}
	p, err := d.fixed(what, t.size())
	if err != nil {
		return Value{}, err
	}
	v := Value{typ: t}
	switch t.size() {
	case 1:
		v.num = uint64(p[0])
		if t == TypeInt8 {
			v.num = uint64(int64(int8(p[0])))
		}
		if t == TypeBool && p[0] > 1 {
			return Value{}, invalid("%s: bool byte %d is not 0 or 1", what, p[0])
		}
	case 2:
		v.num = uint64(d.order.Uint16(p))
		if t == TypeInt16 {
			v.num = uint64(int64(int16(v.num)))
		}
	case 4:
		u := d.order.Uint32(p)
		switch t {
		case TypeInt32:
			v.num = uint64(int64(int32(u)))
		default: // uint32, and float32 kept as its bits, as Float32 does

			v.num = uint64(u)
		}
	case 8:
		v.num = d.order.Uint64(p)
	}
	return v, nil
}

// array reads an array's element type, count and elements; depth is the
// nesting level of this array (1 for a top-level array).
func (d *decoder) array(what string, depth int) (Value, error) {
	if depth > MaxArrayDepth {
		return Value{}, invalid("%s: arrays nested deeper than %d", what, MaxArrayDepth)
	}
	et, err := d.u32(what)
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return Value{}, invalid("%s: unknown array element type %d", what, et)
	}
	n, err := d.count(what+": array length", MaxArrayLength, elem.minSize())
	if err != nil {
		return Value{}, err
	}
	switch elem {
	case TypeUint8:
		return readArray(d, what, n, TypeUint8, func(p []byte) uint8 { return p[0] })
	case TypeInt8:
		return readArray(d, what, n, TypeInt8, func(p []byte) int8 { return int8(p[0]) })
	case TypeUint16:
		return readArray(d, what, n, TypeUint16, d.order.Uint16)
	case TypeInt16:
		return readArray(d, what, n, TypeInt16, func(p []byte) int16 { return int16(d.order.Uint16(p)) })
	case TypeUint32:
		return readArray(d, what, n, TypeUint32, d.order.Uint32)
	case TypeInt32:
		return readArray(d, what, n, TypeInt32, func(p []byte) int32 { return int32(d.order.Uint32(p)) })
	case TypeFloat32:
		return readArray(d, what, n, TypeFloat32, func(p []byte) float32 { return math.Float32frombits(d.order.Uint32(p)) })
	case TypeUint64:
		return readArray(d, what, n, TypeUint64, d.order.Uint64)
	case TypeInt64:
		return readArray(d, what, n, TypeInt64, func(p []byte) int64 { return int64(d.order.Uint64(p)) })
	case TypeFloat64:
		return readArray(d, what, n, TypeFloat64, func(p []byte) float64 { return math.Float64frombits(d.order.Uint64(p)) })
	case TypeBool:
		xs := make([]bool, n)
		for i := range xs {
			p, err := d.fixed(what, 1)
			if err != nil {
				return Value{}, err
			}
			if p[0] > 1 {
				return Value{}, invalid("%s: element %d: bool byte %d is not 0 or 1", what, i, p[0])
			}
			xs[i] = p[0] == 1
		}
		return Array(xs), nil
	case TypeString:
		xs := make([]string, n)
		for i := range xs {
			if xs[i], err = d.str(what, MaxStringLength); err != nil {
				return Value{}, err
			}
		}
		return Array(xs), nil
	}
	// TypeArray: each element is itself element type, count, elements.
	xs := make([]Value, n)
	for i := range xs {
		if xs[i], err = d.array(what, depth+1); err != nil {
			return Value{}, err
		}
	}
	return ArrayOf(xs...), nil
}

// readArray reads n fixed-size elements of type t, decoding each with dec.
func readArray[T Scalar](d *decoder, what string, n int, t ValueType, dec func([]byte) T) (Value, error) {
	xs := make([]T, n)
	size := t.size()
	for i := range xs {
		p, err := d.fixed(what, size)
		if err != nil {
			return Value{}, err
		}
		xs[i] = dec(p)
	}
	return Array(xs), nil
}

func (d *decoder) tensorInfo(i int) (TensorInfo, error) {
	var t TensorInfo
	name, err := d.str(fmt.Sprintf("tensor %d name", i), MaxTensorNameLength)
	if err != nil {
		return t, err
	}
	t.Name = name
	nDims, err := d.u32(name)
	if err != nil {
		return t, err
	}
	if nDims > MaxDims {
		return t, invalid("tensor %q: %d dimensions exceed the limit of %d", name, nDims, MaxDims)
	}
	t.Shape = make([]uint64, nDims)
	for j := range t.Shape {
		if t.Shape[j], err = d.u64(name); err != nil {
			return t, err
		}
	}
	typ, err := d.u32(name)
	if err != nil {
		return t, err
	}
	t.Type = TensorType(typ)
	if t.Offset, err = d.u64(name); err != nil {
		return t, err
	}
	if t.Type.BlockSize() == 0 {
		return t, invalid("tensor %q: unknown type %d", name, typ)
	}
	if _, ok := numElements(t.Shape); !ok {
		return t, invalid("tensor %q: shape %v overflows", name, t.Shape)
	}
	if _, ok := t.size(); !ok {
		return t, invalid("tensor %q: shape %v is not a whole number of %v blocks of %d, or its size overflows", name, t.Shape, t.Type, t.Type.BlockSize())
	}
	return t, nil
}

// checkData checks that every tensor's data is aligned, inside the file
// and disjoint from every other tensor's. Zero-size tensors may share an
// offset with anything.
func (f *File) checkData(size int64) error {
	if len(f.Tensors) == 0 {
		return nil
	}
	dataSize := size - f.DataOffset
	if dataSize < 0 {
		return invalid("tensor data would start at %d, past the end of the %d-byte file", f.DataOffset, size)
	}
	type span struct {
		name       string
		begin, end uint64
	}
	spans := make([]span, 0, len(f.Tensors))
	for _, t := range f.Tensors {
		n, _ := t.size() // checked by tensorInfo
		if t.Offset%uint64(f.Alignment) != 0 {
			return invalid("tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > uint64(dataSize) || uint64(n) > uint64(dataSize)-t.Offset {
			return invalid("tensor %q: %d bytes at offset %d run past the end of the %d-byte data section", t.Name, n, t.Offset, dataSize)
		}
		if n > 0 {
			spans = append(spans, span{t.Name, t.Offset, t.Offset + uint64(n)})
		}
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.begin < b.begin:
			return -1
		case a.begin > b.begin:
			return 1
		}
		return 0
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return invalid("tensors %q and %q overlap", spans[i-1].name, spans[i].name)
		}
	}
	return nil
}
