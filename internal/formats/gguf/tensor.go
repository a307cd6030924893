package gguf

import (
	"math"
	"math/bits"
	"strconv"
)

// TensorType is a ggml tensor element type (ggml_type).
type TensorType uint32

// The ggml tensor types. Codes 4, 5, 31–33 and 36–38 belonged to types
// ggml has removed; files using them are refused, as ggml refuses them.
const (
	F32     TensorType = 0
	F16     TensorType = 1
	Q4_0    TensorType = 2
	Q4_1    TensorType = 3
	Q5_0    TensorType = 6
	Q5_1    TensorType = 7
	Q8_0    TensorType = 8
	Q8_1    TensorType = 9
	Q2_K    TensorType = 10
	Q3_K    TensorType = 11
	Q4_K    TensorType = 12
	Q5_K    TensorType = 13
	Q6_K    TensorType = 14
	Q8_K    TensorType = 15
	IQ2_XXS TensorType = 16
	IQ2_XS  TensorType = 17
	IQ3_XXS TensorType = 18
	IQ1_S   TensorType = 19
	IQ4_NL  TensorType = 20
	IQ3_S   TensorType = 21
	IQ2_S   TensorType = 22
	IQ4_XS  TensorType = 23
	I8      TensorType = 24
	I16     TensorType = 25
	I32     TensorType = 26
	I64     TensorType = 27
	F64     TensorType = 28
	IQ1_M   TensorType = 29
	BF16    TensorType = 30
	TQ1_0   TensorType = 34
	TQ2_0   TensorType = 35
	MXFP4   TensorType = 39
	NVFP4   TensorType = 40
	Q1_0    TensorType = 41
	Q2_0    TensorType = 42
)

type typeTraits struct {
	name      string
	blockSize int // elements per block
	typeSize  int // bytes per block
}

// tensorTypes is ggml's type_traits table (block size, bytes per block),
// cross-checked against gguf-py's GGML_QUANT_SIZES. Q8_1 is the ggml
// struct size (2×f16 + 32), not gguf-py's stale 40.
var tensorTypes = map[TensorType]typeTraits{
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	Q4_0:    {"Q4_0", 32, 18},
	Q4_1:    {"Q4_1", 32, 20},
	Q5_0:    {"Q5_0", 32, 22},
	Q5_1:    {"Q5_1", 32, 24},
	Q8_0:    {"Q8_0", 32, 34},
	Q8_1:    {"Q8_1", 32, 36},
	Q2_K:    {"Q2_K", 256, 84},
	Q3_K:    {"Q3_K", 256, 110},
	Q4_K:    {"Q4_K", 256, 144},
	Q5_K:    {"Q5_K", 256, 176},
	Q6_K:    {"Q6_K", 256, 210},
	Q8_K:    {"Q8_K", 256, 292},
	IQ2_XXS: {"IQ2_XXS", 256, 66},
	IQ2_XS:  {"IQ2_XS", 256, 74},
	IQ3_XXS: {"IQ3_XXS", 256, 98},
	IQ1_S:   {"IQ1_S", 256, 50},
	IQ4_NL:  {"IQ4_NL", 32, 18},
	IQ3_S:   {"IQ3_S", 256, 110},
	IQ2_S:   {"IQ2_S", 256, 82},
	IQ4_XS:  {"IQ4_XS", 256, 136},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	F64:     {"F64", 1, 8},
	IQ1_M:   {"IQ1_M", 256, 56},
	BF16:    {"BF16", 1, 2},
	TQ1_0:   {"TQ1_0", 256, 54},
	TQ2_0:   {"TQ2_0", 256, 66},
	MXFP4:   {"MXFP4", 32, 17},
	NVFP4:   {"NVFP4", 64, 36},
	Q1_0:    {"Q1_0", 128, 18},
	Q2_0:    {"Q2_0", 64, 18},
}

// String returns the type's ggml name, such as "Q4_K".
func (t TensorType) String() string {
	if tt, ok := tensorTypes[t]; ok {
		return tt.name
	}
	return "TensorType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// BlockSize returns the number of elements per block of t, or 0 if t is
// not a known type.
func (t TensorType) BlockSize() int { return tensorTypes[t].blockSize }

// TypeSize returns the number of bytes per block of t, or 0 if t is not a
// known type.
func (t TensorType) TypeSize() int { return tensorTypes[t].typeSize }

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name string
	// Shape lists the dimensions in ggml order: Shape[0] is the innermost
	// (contiguous) dimension. An empty shape is a scalar.
	Shape []uint64
	Type  TensorType
	// Offset is the position of the tensor's data relative to
	// [File.DataOffset]. [Write] ignores it and lays tensors out itself.
	Offset uint64
}

// NumElements returns the product of t's dimensions, or -1 if it overflows
// int64. It cannot be -1 for a tensor returned by [Read].
func (t TensorInfo) NumElements() int64 {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// Size returns the number of bytes of t's data, or -1 if t's type is
// unknown, its first dimension is not a whole number of blocks, or the size
// overflows int64. It is never -1 for a tensor returned by [Read].
func (t TensorInfo) Size() int64 {
	n, ok := t.size()
	if !ok {
		return -1
	}
	return n
}

func numElements(shape []uint64) (int64, bool) {
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return int64(n), true
}

// size computes ggml_nbytes for a contiguous tensor: the rows of
// Shape[0]/blockSize blocks times the product of the other dimensions.
func (t TensorInfo) size() (int64, bool) {
	tt, ok := tensorTypes[t.Type]
	if !ok {
		return 0, false
	}
	if _, ok := numElements(t.Shape); !ok {
		return 0, false
	}
	n := uint64(tt.typeSize)
	for i, d := range t.Shape {
		if i == 0 {
			if d%uint64(tt.blockSize) != 0 {
				return 0, false
			}
			d /= uint64(tt.blockSize)
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	if len(t.Shape) == 0 && tt.blockSize != 1 {
		return 0, false // a scalar is one element, not a whole block
	}
	return int64(n), true
}
