package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// rawFile assembles a file from a literal header and dataLen zero bytes.
func rawFile(header string, dataLen int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

func read(b []byte) (*Header, error) {
	return ReadHeader(bytes.NewReader(b), int64(len(b)))
}

func TestReadHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    []byte
		want    []Tensor          // nil: don't check
		meta    map[string]string // checked when want != nil
		wantErr string            // substring; "" means success
	}{
		{
			name: "one tensor",
			file: rawFile(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}`, 24),
			want: []Tensor{{Name: "w", Dtype: F32, Shape: []int64{2, 3}, Begin: 0, End: 24}},
		},
		{
			name: "metadata and data order",
			file: rawFile(`{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 8),
			want: []Tensor{
				{Name: "a", Dtype: U8, Shape: []int64{4}, Begin: 0, End: 4},
				{Name: "b", Dtype: BF16, Shape: []int64{2}, Begin: 4, End: 8},
			},
			meta: map[string]string{"format": "pt"},
		},
		{name: "empty header", file: rawFile(`{}`, 0), want: []Tensor{}},
		{name: "null metadata", file: rawFile(`{"__metadata__":null}`, 0), want: []Tensor{}},
		{
			name: "scalar and empty tensors",
			file: rawFile(`{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,7],"data_offsets":[4,4]},"z":{"dtype":"I8","shape":[0],"data_offsets":[0,0]}}`, 4),
			want: []Tensor{
				{Name: "z", Dtype: I8, Shape: []int64{0}, Begin: 0, End: 0},
				{Name: "s", Dtype: F32, Shape: []int64{}, Begin: 0, End: 4},
				{Name: "e", Dtype: F32, Shape: []int64{0, 7}, Begin: 4, End: 4},
			},
		},
		{
			name: "whitespace around JSON",
			file: rawFile(" \n\t{\"a\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}    ", 2),
			want: []Tensor{{Name: "a", Dtype: F4, Shape: []int64{4}, Begin: 0, End: 2}},
		},
		{
			name: "unknown tensor field ignored",
			file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":{"x":[1,{"y":null}]}}}`, 1),
			want: []Tensor{{Name: "a", Dtype: U8, Shape: []int64{1}, Begin: 0, End: 1}},
		},
		{name: "too short", file: []byte{1, 0, 0}, wantErr: "shorter than the 8-byte"},
		{name: "header too large", file: binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1), wantErr: "exceeds the limit"},
		{name: "header beyond file", file: append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), wantErr: "exceeds the 2 bytes"},
		{name: "zero-length header", file: rawFile(``, 0), wantErr: "unexpected end of JSON"},
		{name: "not UTF-8", file: rawFile("{\"\xff\":1}", 0), wantErr: "not valid UTF-8"},
		{name: "not JSON", file: rawFile(`{"a":`, 0), wantErr: "JSON"},
		{name: "top-level array", file: rawFile(`[]`, 0), wantErr: `expected "{"`},
		{name: "trailing garbage", file: rawFile(`{} x`, 0), wantErr: "unexpected data after"},
		{name: "two objects", file: rawFile(`{}{}`, 0), wantErr: "unexpected data after"},
		{name: "unknown dtype", file: rawFile(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16), wantErr: `unknown dtype "F128"`},
		{name: "hub-only alias refused", file: rawFile(`{"a":{"dtype":"E8M0","shape":[1],"data_offsets":[0,1]}}`, 1), wantErr: `unknown dtype "E8M0"`},
		{name: "missing dtype", file: rawFile(`{"a":{"shape":[1],"data_offsets":[0,1]}}`, 1), wantErr: "missing dtype"},
		{name: "missing shape", file: rawFile(`{"a":{"dtype":"U8","data_offsets":[0,1]}}`, 1), wantErr: "missing shape"},
		{name: "missing offsets", file: rawFile(`{"a":{"dtype":"U8","shape":[1]}}`, 1), wantErr: "missing data_offsets"},
		{name: "duplicate tensor", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), wantErr: `duplicate tensor "a"`},
		{name: "duplicate tensor via escape", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), wantErr: `duplicate tensor "a"`},
		{name: "duplicate metadata", file: rawFile(`{"__metadata__":{},"__metadata__":{}}`, 0), wantErr: "duplicate key"},
		{name: "duplicate field", file: rawFile(`{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1), wantErr: `duplicate field "dtype"`},
		{name: "metadata value not string", file: rawFile(`{"__metadata__":{"n":1}}`, 0), wantErr: "expected a string"},
		{name: "metadata nested", file: rawFile(`{"__metadata__":{"n":{"x":"y"}}}`, 0), wantErr: "expected a string"},
		{name: "metadata duplicate key", file: rawFile(`{"__metadata__":{"k":"1","k":"2"}}`, 0), wantErr: `duplicate key "k"`},
		{name: "metadata not object", file: rawFile(`{"__metadata__":"x"}`, 0), wantErr: "expected an object"},
		{name: "negative dim", file: rawFile(`{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, 1), wantErr: "not a non-negative integer"},
		{name: "fractional dim", file: rawFile(`{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}`, 1), wantErr: "not a non-negative integer"},
		{name: "exponent dim", file: rawFile(`{"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}}`, 1), wantErr: "not a non-negative integer"},
		{name: "huge dim", file: rawFile(`{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,1]}}`, 1), wantErr: "too large"},
		{name: "shape overflow", file: rawFile(`{"a":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, 0), wantErr: "overflows"},
		{name: "bits overflow", file: rawFile(`{"a":{"dtype":"U64","shape":[1152921504606846976],"data_offsets":[0,0]}}`, 0), wantErr: "overflows"},
		{name: "sub-byte misaligned", file: rawFile(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, 2), wantErr: "not a whole number of bytes"},
		{name: "shape not array", file: rawFile(`{"a":{"dtype":"U8","shape":3,"data_offsets":[0,3]}}`, 3), wantErr: `expected "["`},
		{name: "three offsets", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 1), wantErr: "more than 2 elements"},
		{name: "one offset", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, 1), wantErr: "1 elements, want 2"},
		{name: "tensor not object", file: rawFile(`{"a":[]}`, 0), wantErr: `expected "{"`},
		{name: "not starting at 0", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), wantErr: "do not start where"},
		{name: "gap", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}`, 3), wantErr: "do not start where"},
		{name: "overlap", file: rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}`, 3), wantErr: "do not start where"},
		{name: "same range twice", file: rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2), wantErr: "do not start where"},
		{name: "end before begin", file: rawFile(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}}`, 1), wantErr: "do not start where"},
		{name: "span mismatch", file: rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, 4), wantErr: "span 4 bytes but [2] of F32 is 8 bytes"},
		{name: "trailing data", file: rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 2), wantErr: "cover 1 bytes but the data section is 2"},
		{name: "truncated data", file: rawFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, 3), wantErr: "cover 4 bytes but the data section is 3"},
		{name: "empty header with data", file: rawFile(`{}`, 1), wantErr: "cover 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := read(tt.file)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ReadHeader succeeded, want error containing %q", tt.wantErr)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadHeader: %v", err)
			}
			if tt.want == nil {
				return
			}
			if diff := cmp.Diff(tt.want, h.Tensors, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("tensors mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.meta, h.Metadata, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("metadata mismatch (-want +got):\n%s", diff)
			}
			if got, want := h.DataStart+h.DataSize(), int64(len(tt.file)); got != want {
				t.Errorf("DataStart+DataSize = %d, want file size %d", got, want)
			}
			for _, tensor := range tt.want {
				got, ok := h.Lookup(tensor.Name)
				if !ok || got.Name != tensor.Name || got.Begin != tensor.Begin {
					t.Errorf("Lookup(%q) = %v, %v", tensor.Name, got, ok)
				}
			}
			if _, ok := h.Lookup("missing"); ok {
				t.Error(`Lookup("missing") succeeded`)
			}
		})
	}
}

// boundedReaderAt fails the test on reads outside [0, size) and records the
// largest buffer the parser asked to fill.
type boundedReaderAt struct {
	t       testing.TB
	r       io.ReaderAt
	size    int64
	maxRead int
}

func (b *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > b.size {
		b.t.Errorf("ReadAt(len %d, off %d) outside the %d-byte file", len(p), off, b.size)
	}
	b.maxRead = max(b.maxRead, len(p))
	return b.r.ReadAt(p, off)
}

func TestReadHeaderBoundedRead(t *testing.T) {
	t.Parallel()
	// A header length just under the limit in a tiny file must be refused
	// before anything of that size is allocated or read.
	b := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize-1)
	b = append(b, "{}"...)
	br := &boundedReaderAt{t: t, r: bytes.NewReader(b), size: int64(len(b))}
	if _, err := ReadHeader(br, br.size); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ReadHeader: %v, want ErrInvalid", err)
	}
	if br.maxRead > 8 {
		t.Errorf("read %d bytes at once, want at most the 8-byte prefix", br.maxRead)
	}
}

type errReaderAt struct{ err error }

func (e errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, e.err }

func TestReadHeaderIOError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := ReadHeader(errReaderAt{boom}, 100)
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
		t.Errorf("ReadHeader = %v, want the reader's error and not ErrInvalid", err)
	}
	// A reader shorter than the declared size reports an unexpected EOF.
	b := rawFile(`{}`, 0)
	_, err = ReadHeader(bytes.NewReader(b[:9]), int64(len(b)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadHeader of a short reader = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tensors   []TensorSpec
		meta      map[string]string
		wantParam map[string]int64
		wantTotal int64
	}{
		{
			name: "per dtype",
			tensors: []TensorSpec{
				{Name: "a", Dtype: BF16, Shape: []int64{3, 4}},
				{Name: "b", Dtype: BF16, Shape: []int64{5}},
				{Name: "c", Dtype: F32, Shape: []int64{2, 2, 2}},
				{Name: "d", Dtype: F4, Shape: []int64{8}},
			},
			wantParam: map[string]int64{"BF16": 17, "F32": 8, "F4": 8},
			wantTotal: 33,
		},
		{
			name: "scalars and scale-only dtype skipped",
			tensors: []TensorSpec{
				{Name: "w", Dtype: F8E4M3, Shape: []int64{64}},
				{Name: "w.scale", Dtype: F8E8M0, Shape: []int64{2}},
				{Name: "step", Dtype: I64, Shape: []int64{}},
				{Name: "empty", Dtype: F16, Shape: []int64{0, 5}},
			},
			wantParam: map[string]int64{"F8_E4M3": 64, "F16": 0},
			wantTotal: 64,
		},
		{
			name:      "declared total smaller wins",
			tensors:   []TensorSpec{{Name: "w", Dtype: U8, Shape: []int64{100}}},
			meta:      map[string]string{"total_parameters": "42"},
			wantParam: map[string]int64{"U8": 100},
			wantTotal: 42,
		},
		{
			name:      "declared total capped",
			tensors:   []TensorSpec{{Name: "w", Dtype: U8, Shape: []int64{100}}},
			meta:      map[string]string{"total_parameters": "99999999999999999999999"},
			wantParam: map[string]int64{"U8": 100},
			wantTotal: 100,
		},
		{
			name:      "declared total parsed like parseInt",
			tensors:   []TensorSpec{{Name: "w", Dtype: U8, Shape: []int64{100}}},
			meta:      map[string]string{"total_parameters": "  7e3"},
			wantParam: map[string]int64{"U8": 100},
			wantTotal: 7,
		},
		{
			name:      "negative declared total ignored",
			tensors:   []TensorSpec{{Name: "w", Dtype: U8, Shape: []int64{100}}},
			meta:      map[string]string{"total_parameters": "-5"},
			wantParam: map[string]int64{"U8": 100},
			wantTotal: 100,
		},
		{
			name:      "non-numeric declared total ignored",
			tensors:   []TensorSpec{{Name: "w", Dtype: U8, Shape: []int64{100}}},
			meta:      map[string]string{"total_parameters": "lots"},
			wantParam: map[string]int64{"U8": 100},
			wantTotal: 100,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Write(&buf, tt.tensors, tt.meta); err != nil {
				t.Fatal(err)
			}
			h, err := read(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantParam, h.Parameters()); diff != "" {
				t.Errorf("Parameters mismatch (-want +got):\n%s", diff)
			}
			if got := h.Total(); got != tt.wantTotal {
				t.Errorf("Total = %d, want %d", got, tt.wantTotal)
			}
			want := Count{Parameters: tt.wantParam, Total: tt.wantTotal}
			if diff := cmp.Diff(want, h.Count()); diff != "" {
				t.Errorf("Count mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	specs := []TensorSpec{
		{Name: "z", Dtype: U8, Shape: []int64{2}},
		{Name: "a", Dtype: F32, Shape: []int64{2}, Data: data},
		{Name: "m", Dtype: BF16, Shape: []int64{1, 3}},
		{Name: "<html>&", Dtype: BOOL, Shape: []int64{}},
	}
	meta := map[string]string{"format": "pt", "ünïcode": "\"quoted\"\n"}
	var buf bytes.Buffer
	if err := Write(&buf, specs, meta); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if hl := binary.LittleEndian.Uint64(b); hl%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", hl)
	}
	h, err := read(b)
	if err != nil {
		t.Fatal(err)
	}
	// Reference layout: descending dtype order (F32 > BF16 > U8 > BOOL).
	var order []string
	for _, t := range h.Tensors {
		order = append(order, t.Name)
	}
	if diff := cmp.Diff([]string{"a", "m", "z", "<html>&"}, order); diff != "" {
		t.Errorf("layout mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(meta, h.Metadata); diff != "" {
		t.Errorf("metadata mismatch (-want +got):\n%s", diff)
	}
	a, _ := h.Lookup("a")
	if got := b[h.DataStart+a.Begin : h.DataStart+a.End]; !bytes.Equal(got, data) {
		t.Errorf("tensor a data = %v, want %v", got, data)
	}
	z, _ := h.Lookup("z")
	if got := b[h.DataStart+z.Begin : h.DataStart+z.End]; !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("tensor z data = %v, want zeros", got)
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tensors []TensorSpec
		wantErr string
	}{
		{"reserved name", []TensorSpec{{Name: "__metadata__", Dtype: U8}}, "reserved"},
		{"duplicate", []TensorSpec{{Name: "a", Dtype: U8}, {Name: "a", Dtype: U8}}, "duplicate"},
		{"unknown dtype", []TensorSpec{{Name: "a", Dtype: "X"}}, "unknown dtype"},
		{"negative dim", []TensorSpec{{Name: "a", Dtype: U8, Shape: []int64{-1}}}, "overflows"},
		{"odd F4", []TensorSpec{{Name: "a", Dtype: F4, Shape: []int64{1}}}, "whole number of bytes"},
		{"data length", []TensorSpec{{Name: "a", Dtype: F32, Shape: []int64{1}, Data: []byte{1}}}, "1 bytes of data, want 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			err := Write(&buf, tt.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Write = %v, want error containing %q", err, tt.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

func TestParseIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		wantShards []string
		wantSize   int64
		wantErr    string
	}{
		{
			name:       "typical",
			in:         `{"metadata":{"total_size":123,"total_parameters":"61"},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}`,
			wantShards: []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"},
			wantSize:   123,
		},
		{
			name:       "extra keys and subdirectory",
			in:         ` {"dtype":"bfloat16","weight_map":{"a":"sub/x.safetensors"},"metadata":null} `,
			wantShards: []string{"sub/x.safetensors"},
		},
		{name: "odd total_size ignored", in: `{"metadata":{"total_size":"12"},"weight_map":{}}`, wantShards: []string{}},
		{name: "missing weight_map", in: `{"metadata":{}}`, wantErr: "missing weight_map"},
		{name: "not object", in: `[]`, wantErr: `expected "{"`},
		{name: "duplicate top key", in: `{"weight_map":{},"weight_map":{}}`, wantErr: `duplicate key "weight_map"`},
		{name: "duplicate tensor", in: `{"weight_map":{"a":"x.safetensors","a":"y.safetensors"}}`, wantErr: `duplicate tensor "a"`},
		{name: "duplicate metadata", in: `{"metadata":{"k":1,"k":2},"weight_map":{}}`, wantErr: `duplicate key "k"`},
		{name: "shard not string", in: `{"weight_map":{"a":1}}`, wantErr: "expected a string"},
		{name: "dotdot", in: `{"weight_map":{"a":"../x.safetensors"}}`, wantErr: "unsafe shard name"},
		{name: "absolute", in: `{"weight_map":{"a":"/etc/passwd"}}`, wantErr: "unsafe shard name"},
		{name: "url", in: `{"weight_map":{"a":"http://x/y"}}`, wantErr: "unsafe shard name"},
		{name: "backslash", in: `{"weight_map":{"a":"a\\b"}}`, wantErr: "unsafe shard name"},
		{name: "trailing garbage", in: `{"weight_map":{}} {}`, wantErr: "unexpected data"},
		{name: "truncated", in: `{"weight_map":{"a":`, wantErr: "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix, err := ParseIndex(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseIndex = %v, want ErrInvalid containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantShards, ix.Shards(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Shards mismatch (-want +got):\n%s", diff)
			}
			if ix.TotalSize != tt.wantSize {
				t.Errorf("TotalSize = %d, want %d", ix.TotalSize, tt.wantSize)
			}
		})
	}
}

func TestParseIndexLimits(t *testing.T) {
	t.Parallel()
	big := `{"weight_map":{"a":"` + strings.Repeat("x", 200) + `"}}`
	if _, err := parseIndex(strings.NewReader(big), 100); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger than 100 bytes") {
		t.Errorf("parseIndex over the limit = %v", err)
	}
	if _, err := parseIndex(strings.NewReader(big), int64(len(big))); err != nil {
		t.Errorf("parseIndex at the limit = %v", err)
	}

	var sb strings.Builder
	sb.WriteString(`{"weight_map":{`)
	for i := range MaxShards + 1 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"t%d":"s%d.safetensors"`, i, i)
	}
	sb.WriteString(`}}`)
	if _, err := ParseIndex(strings.NewReader(sb.String())); err == nil || !strings.Contains(err.Error(), "more than 10000 shards") {
		t.Errorf("ParseIndex with too many shards = %v", err)
	}

	sb.Reset()
	sb.WriteString(`{"weight_map":{},"metadata":{`)
	for i := range MaxIndexMetadata + 1 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":%d`, i, i)
	}
	sb.WriteString(`}}`)
	if _, err := ParseIndex(strings.NewReader(sb.String())); err == nil || !strings.Contains(err.Error(), "more than 1000 entries") {
		t.Errorf("ParseIndex with too much metadata = %v", err)
	}
}

func TestIndexCount(t *testing.T) {
	t.Parallel()
	header := func(specs ...TensorSpec) *Header {
		var buf bytes.Buffer
		if err := Write(&buf, specs, nil); err != nil {
			t.Fatal(err)
		}
		h, err := read(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	headers := map[string]*Header{
		"s1.safetensors": header(TensorSpec{Name: "a", Dtype: BF16, Shape: []int64{10}}, TensorSpec{Name: "b", Dtype: F32, Shape: []int64{2}}),
		"s2.safetensors": header(TensorSpec{Name: "c", Dtype: BF16, Shape: []int64{5}}),
	}
	tests := []struct {
		name  string
		index string
		want  Count
	}{
		{
			name:  "summed",
			index: `{"metadata":{"total_size":34},"weight_map":{"a":"s1.safetensors","b":"s1.safetensors","c":"s2.safetensors"}}`,
			want:  Count{Parameters: map[string]int64{"BF16": 15, "F32": 2}, Total: 17, Sharded: true},
		},
		{
			name:  "declared total as number",
			index: `{"metadata":{"total_parameters":16},"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}`,
			want:  Count{Parameters: map[string]int64{"BF16": 15, "F32": 2}, Total: 16, Sharded: true},
		},
		{
			name:  "declared zero number ignored",
			index: `{"metadata":{"total_parameters":0},"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}`,
			want:  Count{Parameters: map[string]int64{"BF16": 15, "F32": 2}, Total: 17, Sharded: true},
		},
		{
			name:  "declared total capped",
			index: `{"metadata":{"total_parameters":"1000"},"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}`,
			want:  Count{Parameters: map[string]int64{"BF16": 15, "F32": 2}, Total: 17, Sharded: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix, err := ParseIndex(strings.NewReader(tt.index))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ix.Count(headers)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Count mismatch (-want +got):\n%s", diff)
			}
		})
	}
	ix, err := ParseIndex(strings.NewReader(`{"weight_map":{"a":"s3.safetensors"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Count(headers); err == nil {
		t.Error("Count with a missing shard header succeeded")
	}
}

func TestShardNames(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"model-00001-of-00002.safetensors": true,
		"sub/dir/x.safetensors":            true,
		"":                                 false,
		".":                                false,
		"a/../b":                           false,
		"a..b":                             false,
		"./a":                              false,
		"a//b":                             false,
		"a/":                               false,
		"/a":                               false,
		"s3://bucket/a":                    false,
		"a\\b":                             false,
		"a\x00b":                           false,
		"a\nb":                             false,
		"\xff":                             false,
	} {
		if got := ValidShardName(name); got != want {
			t.Errorf("ValidShardName(%q) = %v, want %v", name, got, want)
		}
	}
	for _, tt := range []struct{ index, shard, want string }{
		{"model.safetensors.index.json", "a.safetensors", "a.safetensors"},
		{"transformer/diffusion_pytorch_model.safetensors.index.json", "a.safetensors", "transformer/a.safetensors"},
	} {
		if got := ShardPath(tt.index, tt.shard); got != tt.want {
			t.Errorf("ShardPath(%q, %q) = %q, want %q", tt.index, tt.shard, got, tt.want)
		}
	}
}
