package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// raw builds hostile files byte by byte.
type raw struct {
	b     []byte
	order binary.AppendByteOrder
}

func newRaw(version uint32, nTensors, nKV uint64) *raw {
	r := &raw{order: binary.LittleEndian}
	r.b = append(r.b, "GGUF"...)
	return r.u32(version).u64(nTensors).u64(nKV)
}

func (r *raw) u32(v uint32) *raw { r.b = r.order.AppendUint32(r.b, v); return r }
func (r *raw) u64(v uint64) *raw { r.b = r.order.AppendUint64(r.b, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.b = append(r.b, s...); return r }
func (r *raw) raw(p ...byte) *raw {
	r.b = append(r.b, p...)
	return r
}

// kv appends a key and a type code; the caller appends the value.
func (r *raw) kv(key string, t ValueType) *raw { return r.str(key).u32(uint32(t)) }

// tensor appends a tensor info.
func (r *raw) tensor(name string, typ TensorType, offset uint64, shape ...uint64) *raw {
	r.str(name).u32(uint32(len(shape)))
	for _, d := range shape {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(offset)
}

// padData pads to the default alignment and appends n zero bytes of data.
func (r *raw) padData(n int) []byte {
	for len(r.b)%DefaultAlignment != 0 {
		r.b = append(r.b, 0)
	}
	return append(r.b, make([]byte, n)...)
}

func readBytes(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

func encode(t testing.TB, kv []KV, tensors []TensorInfo, opts *WriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, kv, tensors, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func llamaKV() []KV {
	return []KV{
		{KeyArchitecture, String("llama")},
		{"general.name", String("Tiny")},
		{"llama.context_length", Uint32(4096)},
		{KeyFileType, Uint32(15)},
		{KeyChatTemplate, String("{% for m in messages %}{{ m.content }}{% endfor %}")},
		{KeyTokens, Array([]string{"<unk>", "<s>", "</s>", "hello"})},
		{"tokenizer.ggml.scores", Array([]float32{0, 0, 0, -1.5})},
		{"tokenizer.ggml.token_type", Array([]int32{2, 3, 3, 1})},
		{KeyBOSTokenID, Uint32(1)},
		{KeyEOSTokenID, Uint32(2)},
		{KeyAlignment, Uint32(64)},
	}
}

func llamaTensors() []TensorInfo {
	return []TensorInfo{
		{Name: "token_embd.weight", Type: Q4_K, Shape: []uint64{256, 4}},
		{Name: "output_norm.weight", Type: F32, Shape: []uint64{3}},
		{Name: "blk.0.attn_q.weight", Type: Q8_0, Shape: []uint64{64, 2}},
		{Name: "empty", Type: BF16, Shape: []uint64{0, 5}},
		{Name: "scalar", Type: F32, Shape: []uint64{}},
	}
}

func TestReadWriteLlama(t *testing.T) {
	t.Parallel()
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, version := range []uint32{2, 3} {
			t.Run(order.String()+"/v"+string(rune('0'+version)), func(t *testing.T) {
				t.Parallel()
				b := encode(t, llamaKV(), llamaTensors(), &WriteOptions{ByteOrder: order, Version: version})
				f, err := readBytes(b)
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if f.Version != version || f.ByteOrder != order {
					t.Errorf("Version, ByteOrder = %d, %v; want %d, %v", f.Version, f.ByteOrder, version, order)
				}
				want := Summary{
					Total:         256*4 + 3 + 64*2 + 0 + 1,
					Architecture:  "llama",
					ContextLength: 4096,
					ChatTemplate:  "{% for m in messages %}{{ m.content }}{% endfor %}",
					BOSToken:      "<s>",
					EOSToken:      "</s>",
				}
				if diff := cmp.Diff(want, f.Summary()); diff != "" {
					t.Errorf("Summary mismatch (-want +got):\n%s", diff)
				}
				if f.Alignment != 64 || f.DataOffset%64 != 0 {
					t.Errorf("Alignment %d, DataOffset %d", f.Alignment, f.DataOffset)
				}
				// Q4_K: 4 rows of 1 block of 144 bytes = 576; F32: 12 → 64;
				// Q8_0: 2 rows of 2 blocks of 34 = 136 → 192; then 0 and 4 bytes.
				wantOffsets := []uint64{0, 576, 640, 832, 832}
				for i, ti := range f.Tensors {
					if ti.Offset != wantOffsets[i] {
						t.Errorf("tensor %q offset %d, want %d", ti.Name, ti.Offset, wantOffsets[i])
					}
				}
				if diff := cmp.Diff(llamaKV(), f.KV, cmp.Comparer(valuesEqual)); diff != "" {
					t.Errorf("KV mismatch (-want +got):\n%s", diff)
				}
				if ft, ok := f.FileType(); !ok || FileTypeName(ft) != "Q4_K_M" {
					t.Errorf("FileType = %d, %v", ft, ok)
				}
				// The last tensor is padded to the alignment, as ggml writes it.
				if got := int64(len(b)); got != f.DataOffset+896 {
					t.Errorf("file size %d, want DataOffset %d + 896", got, f.DataOffset)
				}
			})
		}
	}
}

// valuesEqual compares values by type and encoding, so NaNs compare equal.
func valuesEqual(a, b Value) bool {
	if a.Type() != b.Type() || a.ArrayType() != b.ArrayType() {
		return false
	}
	return cmp.Equal(a.Any(), b.Any(), cmpopts.EquateNaNs(), cmpopts.EquateEmpty())
}

func TestValues(t *testing.T) {
	t.Parallel()
	kv := []KV{
		{"u8", Uint8(255)}, {"i8", Int8(-128)}, {"u16", Uint16(65535)}, {"i16", Int16(-32768)},
		{"u32", Uint32(math.MaxUint32)}, {"i32", Int32(math.MinInt32)},
		{"u64", Uint64(math.MaxUint64)}, {"i64", Int64(math.MinInt64)},
		{"f32", Float32(float32(math.NaN()))}, {"f64", Float64(math.Inf(-1))},
		{"t", Bool(true)}, {"f", Bool(false)}, {"s", String("ünï\x00code")},
		{"a.u8", Array([]uint8{1, 2})}, {"a.i8", Array([]int8{-1})}, {"a.u16", Array([]uint16{7})},
		{"a.i16", Array([]int16{-7})}, {"a.u32", Array([]uint32{})}, {"a.i32", Array([]int32{-3})},
		{"a.f32", Array([]float32{1.5})}, {"a.bool", Array([]bool{true, false})},
		{"a.str", Array([]string{"", "x"})}, {"a.u64", Array([]uint64{1 << 63})},
		{"a.i64", Array([]int64{-1})}, {"a.f64", Array([]float64{2.5})}, {"a.nil", Array[string](nil)},
		{"nested", ArrayOf(ArrayOf(Array([]uint8{1}), Array([]string{"deep"})), Array([]float64{}))},
		{"depth4", ArrayOf(ArrayOf(ArrayOf(Array([]bool{true}))))},
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		f, err := readBytes(encode(t, kv, nil, &WriteOptions{ByteOrder: order}))
		if err != nil {
			t.Fatalf("Read %v: %v", order, err)
		}
		if diff := cmp.Diff(kv, f.KV, cmp.Comparer(valuesEqual)); diff != "" {
			t.Errorf("%v: KV mismatch (-want +got):\n%s", order, diff)
		}
	}

	accessors := []struct {
		v        Value
		i        int64
		iok      bool
		u        uint64
		uok      bool
		isFloat  bool
		asString string
	}{
		{v: Uint8(7), i: 7, iok: true, u: 7, uok: true},
		{v: Int8(-1), i: -1, iok: true},
		{v: Int32(5), i: 5, iok: true, u: 5, uok: true},
		{v: Uint64(math.MaxUint64), u: math.MaxUint64, uok: true},
		{v: Int64(math.MinInt64), i: math.MinInt64, iok: true},
		{v: Float32(1), isFloat: true},
		{v: String("x"), asString: "x"},
		{v: Bool(true)},
	}
	for _, a := range accessors {
		i, iok := a.v.AsInt()
		u, uok := a.v.AsUint()
		_, fok := a.v.AsFloat()
		s, _ := a.v.AsString()
		if i != a.i || iok != a.iok || u != a.u || uok != a.uok || fok != a.isFloat || s != a.asString {
			t.Errorf("%v: AsInt %d,%v AsUint %d,%v AsFloat ok %v AsString %q", a.v, i, iok, u, uok, fok, s)
		}
	}
	tokens := Array([]string{"a", "b"})
	if got := tokens.Index(1); !valuesEqual(got, String("b")) || tokens.Len() != 2 {
		t.Errorf("Index(1) = %v, Len %d", got, tokens.Len())
	}
	if got := tokens.String(); got != `[string × 2]{"a", "b"}` {
		t.Errorf("String() = %s", got)
	}
}

func TestSummaryJSON(t *testing.T) {
	t.Parallel()
	f, err := readBytes(encode(t, []KV{{KeyArchitecture, String("gpt2")}}, []TensorInfo{{Name: "w", Type: F16, Shape: []uint64{2, 3}}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f.Summary())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"total":6,"architecture":"gpt2"}`; got != want {
		t.Errorf("Summary JSON = %s, want %s", got, want)
	}
}

func TestTokenResolution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kv   []KV
		want string
		ok   bool
	}{
		{"resolved", []KV{{KeyTokens, Array([]string{"a", "b"})}, {KeyBOSTokenID, Uint32(1)}}, "b", true},
		{"id of another width", []KV{{KeyTokens, Array([]string{"a", "b"})}, {KeyBOSTokenID, Int64(0)}}, "a", true},
		{"out of range", []KV{{KeyTokens, Array([]string{"a"})}, {KeyBOSTokenID, Uint32(1)}}, "", false},
		{"negative", []KV{{KeyTokens, Array([]string{"a"})}, {KeyBOSTokenID, Int32(-1)}}, "", false},
		{"id not integer", []KV{{KeyTokens, Array([]string{"a"})}, {KeyBOSTokenID, String("0")}}, "", false},
		{"tokens not strings", []KV{{KeyTokens, Array([]int32{1})}, {KeyBOSTokenID, Uint32(0)}}, "", false},
		{"no tokens", []KV{{KeyBOSTokenID, Uint32(0)}}, "", false},
		{"no id", []KV{{KeyTokens, Array([]string{"a"})}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := readBytes(encode(t, tt.kv, nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := f.BOSToken()
			if got != tt.want || ok != tt.ok {
				t.Errorf("BOSToken() = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReadInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    []byte
		wantErr string
	}{
		{"empty", nil, "magic"},
		{"bad magic", []byte("GGML\x03\x00\x00\x00"), "not a GGUF file"},
		{"truncated version", []byte("GGUF\x03"), "version: 4 bytes needed"},
		{"version 1", newRaw(1, 0, 0).b, "version 1 is not supported"},
		{"version 0", newRaw(0, 0, 0).b, "unsupported GGUF version 0"},
		{"version 4", newRaw(4, 0, 0).b, "unsupported GGUF version 4"},
		{"too many tensors", newRaw(3, MaxTensors+1, 0).b, "tensor count 1048577 exceeds"},
		{"too many kv", newRaw(3, 0, MaxKV+1).b, "metadata count 100001 exceeds"},
		{"kv count beyond file", newRaw(3, 0, 1000).b, "metadata count 1000: 13000 bytes needed"},
		{"tensor count beyond file", newRaw(3, 1000, 0).b, "tensor count 1000: 24000 bytes needed"},
		{"string too long", newRaw(3, 0, 1).u64(MaxKeyLength + 1).raw(make([]byte, 16)...).b, "length 65536 exceeds"},
		{"string beyond file", newRaw(3, 0, 1).u64(1000).raw(make([]byte, 16)...).b, "1000 bytes needed"},
		{"value string too long", newRaw(3, 0, 1).kv("k", TypeString).u64(MaxStringLength + 1).b, "exceeds the limit of 16777216"},
		{"empty key", newRaw(3, 0, 1).kv("", TypeUint8).raw(0).b, "key 0 is empty"},
		{"duplicate key", newRaw(3, 0, 2).kv("k", TypeUint8).raw(0).kv("k", TypeUint8).raw(0).b, `duplicate key "k"`},
		{"unknown type", newRaw(3, 0, 1).kv("k", 13).raw(0).b, "unknown value type 13"},
		{"bool 2", newRaw(3, 0, 1).kv("k", TypeBool).raw(2).b, "bool byte 2"},
		{"bool array 2", newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeBool)).u64(2).raw(1, 2).b, "element 1: bool byte 2"},
		{"unknown element type", newRaw(3, 0, 1).kv("k", TypeArray).u32(99).u64(0).b, "unknown array element type 99"},
		{"array too long", newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeUint8)).u64(MaxArrayLength + 1).b, "exceeds the limit of 16777216"},
		{"array beyond file", newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeString)).u64(1000).b, "8000 bytes needed"},
		{"truncated array", newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeUint32)).u64(2).u32(1).raw(0, 0).b, "array length 2: 8 bytes needed"},
		{"nesting too deep", newRaw(3, 0, 1).kv("k", TypeArray).
			u32(uint32(TypeArray)).u64(1).u32(uint32(TypeArray)).u64(1).u32(uint32(TypeArray)).u64(1).
			u32(uint32(TypeArray)).u64(1).u32(uint32(TypeUint8)).u64(0).b, "nested deeper than 4"},
		{"alignment type", newRaw(3, 0, 1).kv(KeyAlignment, TypeUint64).u64(32).b, "must be a uint32 power of 2"},
		{"alignment zero", newRaw(3, 0, 1).kv(KeyAlignment, TypeUint32).u32(0).b, "must be a uint32 power of 2"},
		{"alignment odd", newRaw(3, 0, 1).kv(KeyAlignment, TypeUint32).u32(24).b, "must be a uint32 power of 2"},
		{"duplicate tensor", newRaw(3, 2, 0).tensor("t", F32, 0, 1).tensor("t", F32, 32, 1).padData(64), `duplicate tensor "t"`},
		{"tensor name too long", newRaw(3, 1, 0).tensor(strings.Repeat("n", 65), F32, 0, 1).padData(4), "length 65 exceeds the limit of 64"},
		{"too many dims", newRaw(3, 1, 0).tensor("t", F32, 0, 1, 1, 1, 1, 1).padData(4), "5 dimensions"},
		{"removed type", newRaw(3, 1, 0).tensor("t", 4, 0, 32).padData(32), "unknown type 4"},
		{"unknown type", newRaw(3, 1, 0).tensor("t", 43, 0, 32).padData(32), "unknown type 43"},
		{"partial block", newRaw(3, 1, 0).tensor("t", Q4_0, 0, 33).padData(64), "whole number of Q4_0 blocks"},
		{"shape overflow", newRaw(3, 1, 0).tensor("t", F32, 0, 1<<32, 1<<32).padData(0), "overflows"},
		{"size overflow", newRaw(3, 1, 0).tensor("t", F64, 0, 1<<61).padData(0), "overflow"},
		{"misaligned offset", newRaw(3, 1, 0).tensor("t", F32, 4, 1).padData(64), "not a multiple of the alignment 32"},
		{"offset past end", newRaw(3, 1, 0).tensor("t", F32, 64, 1).padData(64), "run past the end"},
		{"size past end", newRaw(3, 1, 0).tensor("t", F32, 0, 100).padData(64), "400 bytes at offset 0 run past"},
		{"huge offset", newRaw(3, 1, 0).tensor("t", F32, math.MaxUint64-31, 1).padData(64), "run past the end"},
		{"overlap", newRaw(3, 2, 0).tensor("a", F32, 0, 16).tensor("b", F32, 32, 16).padData(128), `tensors "a" and "b" overlap`},
		{"same offset", newRaw(3, 2, 0).tensor("a", F32, 0, 1).tensor("b", F32, 0, 1).padData(64), "overlap"},
		{"data before padding", newRaw(3, 1, 0).tensor("t", F32, 0, 1).b, "past the end of the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			n := allocated(func() { _, err = readBytes(tt.file) })
			if err == nil {
				t.Fatalf("Read succeeded, want error containing %q", tt.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if n > 1<<20 {
				t.Errorf("Read of a %d-byte hostile file allocated %d bytes", len(tt.file), n)
			}
		})
	}
}

func TestReadValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file []byte
	}{
		{"empty v3", newRaw(3, 0, 0).b},
		{"no padding after infos without tensors", newRaw(3, 0, 1).kv("k", TypeUint8).raw(7).b},
		{"gaps and any listing order", newRaw(3, 2, 0).tensor("b", F32, 64, 1).tensor("a", F32, 0, 1).padData(68)},
		{"zero-size tensors share offsets", newRaw(3, 3, 0).tensor("a", F32, 0, 0).tensor("b", F32, 0, 1).tensor("c", Q4_K, 32, 0, 7).padData(32)},
		{"trailing bytes after data", newRaw(3, 1, 0).tensor("a", F32, 0, 1).padData(100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := readBytes(tt.file); err != nil {
				t.Errorf("Read: %v", err)
			}
		})
	}
}

// zeroReaderAt reads as size bytes: data followed by zeros, without
// holding them.
type zeroReaderAt struct {
	data []byte
	size int64
}

func (z zeroReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= z.size {
		return 0, io.EOF
	}
	n := 0
	for i := range p {
		pos := off + int64(i)
		if pos >= z.size {
			return n, io.EOF
		}
		if pos < int64(len(z.data)) {
			p[i] = z.data[pos]
		} else {
			p[i] = 0
		}
		n++
	}
	return n, nil
}

func TestReadHeaderLimit(t *testing.T) {
	t.Parallel()
	// An array of 2^23 uint64s (64 MiB) in a 1 TiB file: the file has the
	// bytes but the header budget does not, and nothing is allocated.
	hdr := newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeUint64)).u64(1 << 23).b
	var err error
	n := allocated(func() { _, err = Read(zeroReaderAt{hdr, 1 << 40}, 1<<40) })
	if err == nil || !strings.Contains(err.Error(), "header exceeds the limit") {
		t.Errorf("Read = %v, want header limit error", err)
	}
	if n > 1<<20 {
		t.Errorf("Read allocated %d bytes", n)
	}
	// A 1M-element uint8 array in a file that has it is fine.
	hdr = newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeUint8)).u64(1 << 20).b
	f, err := Read(zeroReaderAt{hdr, int64(len(hdr)) + 1<<20}, int64(len(hdr))+1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Lookup("k"); v.Len() != 1<<20 {
		t.Errorf("array length %d", v.Len())
	}
}

type errReaderAt struct{ err error }

func (e errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, e.err }

func TestReadIOError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	if _, err := Read(errReaderAt{boom}, 100); !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
		t.Errorf("Read = %v, want the reader's error", err)
	}
	b := newRaw(3, 0, 0).b
	if _, err := Read(bytes.NewReader(b[:10]), int64(len(b))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Read of a short reader = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kv      []KV
		tensors []TensorInfo
		opts    *WriteOptions
		wantErr string
	}{
		{"version", nil, nil, &WriteOptions{Version: 1}, "version 1"},
		{"empty key", []KV{{"", Uint8(0)}}, nil, nil, "empty key"},
		{"duplicate key", []KV{{"a", Uint8(0)}, {"a", Uint8(0)}}, nil, nil, "duplicate key"},
		{"bad alignment", []KV{{KeyAlignment, Uint64(32)}}, nil, nil, "power of 2"},
		{"bad type", []KV{{"a", Value{typ: 42}}}, nil, nil, "unknown value type"},
		{"duplicate tensor", nil, []TensorInfo{{Name: "t", Type: F32}, {Name: "t", Type: F32}}, nil, "duplicate tensor"},
		{"partial block", nil, []TensorInfo{{Name: "t", Type: Q4_0, Shape: []uint64{16}}}, nil, "partial block"},
		{"scalar of blocks", nil, []TensorInfo{{Name: "t", Type: Q4_0}}, nil, "partial block"},
		{"data size", nil, []TensorInfo{{Name: "t", Type: F32, Shape: []uint64{2}}}, &WriteOptions{TensorData: func(int) []byte { return []byte{1} }}, "1 bytes of data, want 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := Write(&buf, tt.kv, tt.tensors, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Write = %v, want error containing %q", err, tt.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

func TestWriteTensorData(t *testing.T) {
	t.Parallel()
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b := encode(t, nil, []TensorInfo{{Name: "a", Type: F32, Shape: []uint64{2}}, {Name: "b", Type: I8, Shape: []uint64{3}}},
		&WriteOptions{TensorData: func(i int) []byte {
			if i == 0 {
				return data
			}
			return nil
		}})
	f, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Tensors[0]
	if got := b[f.DataOffset+int64(a.Offset):][:a.Size()]; !bytes.Equal(got, data) {
		t.Errorf("tensor a data = %v, want %v", got, data)
	}
	if f.Tensors[1].Offset != 32 {
		t.Errorf("tensor b offset = %d, want 32", f.Tensors[1].Offset)
	}
}

func TestTensorTypes(t *testing.T) {
	t.Parallel()
	// Bits per weight of the well-known quantizations.
	for typ, bpw := range map[TensorType]float64{
		F32: 32, F16: 16, BF16: 16, Q8_0: 8.5, Q4_0: 4.5, Q4_K: 4.5, Q5_K: 5.5, Q6_K: 6.5625,
		Q2_K: 2.625, Q3_K: 3.4375, IQ4_XS: 4.25, MXFP4: 4.25, IQ2_XXS: 2.0625, TQ1_0: 1.6875,
	} {
		if got := float64(typ.TypeSize()*8) / float64(typ.BlockSize()); got != bpw {
			t.Errorf("%v: %v bits per weight, want %v", typ, got, bpw)
		}
	}
	if got := TensorType(4).String(); got != "TensorType(4)" {
		t.Errorf("String of removed type = %q", got)
	}
	if got := (TensorInfo{Type: Q4_K, Shape: []uint64{512, 3}}).Size(); got != 2*144*3 {
		t.Errorf("Size = %d", got)
	}
	if got := (TensorInfo{Type: F32, Shape: []uint64{1 << 62, 4}}).NumElements(); got != -1 {
		t.Errorf("NumElements of an overflowing shape = %d", got)
	}
}
