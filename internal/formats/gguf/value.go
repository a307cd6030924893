package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type code of a metadata value (gguf_type).
type ValueType uint32

// The metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
	"string", "array", "uint64", "int64", "float64",
}

// String returns the type's name, such as "uint32".
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return "ValueType(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// valid reports whether t is a known type code.
func (t ValueType) valid() bool { return t <= TypeFloat64 }

// size returns the encoded size of a fixed-size type, or 0 for string and
// array.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize returns the fewest bytes one encoded value of type t occupies;
// multiplying an untrusted count by it bounds what the count can cost.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8 // u64 length
	case TypeArray:
		return 12 // u32 element type + u64 count
	}
	return t.size()
}

// Value is a metadata value. The zero Value is Uint8(0). Values are
// immutable; build them with [Uint8] ... [Float64], [String], [Bool],
// [Array] and [ArrayOf].
type Value struct {
	typ ValueType
	// num holds integers (sign-extended), bools (0/1) and floats (their
	// IEEE bits, so NaN payloads survive a round trip).
	num uint64
	str string
	// arr holds an array's elements: []uint8, []int8, []uint16, []int16,
	// []uint32, []int32, []float32, []bool, []string, []uint64, []int64,
	// []float64, or []Value whose elements are all arrays.
	arr  any
	elem ValueType
}

// Uint8 returns a uint8 value.
func Uint8(v uint8) Value { return Value{typ: TypeUint8, num: uint64(v)} }

// Int8 returns an int8 value.
func Int8(v int8) Value { return Value{typ: TypeInt8, num: uint64(int64(v))} }

// Uint16 returns a uint16 value.
func Uint16(v uint16) Value { return Value{typ: TypeUint16, num: uint64(v)} }

// Int16 returns an int16 value.
func Int16(v int16) Value { return Value{typ: TypeInt16, num: uint64(int64(v))} }

// Uint32 returns a uint32 value.
func Uint32(v uint32) Value { return Value{typ: TypeUint32, num: uint64(v)} }

// Int32 returns an int32 value.
func Int32(v int32) Value { return Value{typ: TypeInt32, num: uint64(int64(v))} }

// Uint64 returns a uint64 value.
func Uint64(v uint64) Value { return Value{typ: TypeUint64, num: v} }

// Int64 returns an int64 value.
func Int64(v int64) Value { return Value{typ: TypeInt64, num: uint64(v)} }

// Float32 returns a float32 value.
func Float32(v float32) Value { return Value{typ: TypeFloat32, num: uint64(math.Float32bits(v))} }

// Float64 returns a float64 value.
func Float64(v float64) Value { return Value{typ: TypeFloat64, num: math.Float64bits(v)} }

// Bool returns a bool value.
func Bool(v bool) Value {
	var n uint64
	if v {
		n = 1
	}
	return Value{typ: TypeBool, num: n}
}

// String returns a string value.
func String(s string) Value { return Value{typ: TypeString, str: s} }

// Scalar is the set of Go types that [Array] accepts as elements.
type Scalar interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string | uint64 | int64 | float64
}

// Array returns an array value of xs, whose element type follows from T.
// The slice is retained, not copied.
func Array[T Scalar](xs []T) Value {
	var elem ValueType
	switch any(xs).(type) {
	case []uint8:
		elem = TypeUint8
	case []int8:
		elem = TypeInt8
	case []uint16:
		elem = TypeUint16
	case []int16:
		elem = TypeInt16
	case []uint32:
		elem = TypeUint32
	case []int32:
		elem = TypeInt32
	case []float32:
		elem = TypeFloat32
	case []bool:
		elem = TypeBool
	case []string:
		elem = TypeString
	case []uint64:
		elem = TypeUint64
	case []int64:
		elem = TypeInt64
	case []float64:
		elem = TypeFloat64
	}
	if xs == nil {
		xs = []T{}
	}
	return Value{typ: TypeArray, elem: elem, arr: xs}
}

// ArrayOf returns an array whose elements are arrays (a nested array). It
// panics if an element is not an array.
func ArrayOf(xs ...Value) Value {
	for i, x := range xs {
		if x.typ != TypeArray {
			panic(fmt.Sprintf("gguf.ArrayOf: element %d is a %v, not an array", i, x.typ))
		}
	}
	if xs == nil {
		xs = []Value{}
	}
	return Value{typ: TypeArray, elem: TypeArray, arr: xs}
}

// Type returns v's type.
func (v Value) Type() ValueType { return v.typ }

// ArrayType returns the element type of an array, and 0 for other values.
func (v Value) ArrayType() ValueType { return v.elem }

// Len returns the number of elements of an array, and 0 for other values.
func (v Value) Len() int {
	switch a := v.arr.(type) {
	case nil:
		return 0
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	case []Value:
		return len(a)
	}
	return 0
}

// Index returns element i of an array. It panics if v is not an array or i
// is out of range.
func (v Value) Index(i int) Value {
	switch a := v.arr.(type) {
	case []uint8:
		return Uint8(a[i])
	case []int8:
		return Int8(a[i])
	case []uint16:
		return Uint16(a[i])
	case []int16:
		return Int16(a[i])
	case []uint32:
		return Uint32(a[i])
	case []int32:
		return Int32(a[i])
	case []float32:
		return Float32(a[i])
	case []bool:
		return Bool(a[i])
	case []string:
		return String(a[i])
	case []uint64:
		return Uint64(a[i])
	case []int64:
		return Int64(a[i])
	case []float64:
		return Float64(a[i])
	case []Value:
		return a[i]
	}
	panic("gguf: Index of a non-array " + v.typ.String())
}

func (v Value) signed() bool {
	switch v.typ {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		return true
	}
	return false
}

func (v Value) integer() bool {
	switch v.typ {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

// AsInt returns an integer value of any width as an int64. It reports
// false for other types and for a uint64 above MaxInt64.
func (v Value) AsInt() (int64, bool) {
	if !v.integer() || (!v.signed() && v.num > math.MaxInt64) {
		return 0, false
	}
	return int64(v.num), true
}

// AsUint returns an integer value of any width as a uint64. It reports
// false for other types and for negative values.
func (v Value) AsUint() (uint64, bool) {
	if !v.integer() || (v.signed() && int64(v.num) < 0) {
		return 0, false
	}
	return v.num, true
}

// AsFloat returns a float32 or float64 value as a float64.
func (v Value) AsFloat() (float64, bool) {
	switch v.typ {
	case TypeFloat32:
		return float64(math.Float32frombits(uint32(v.num))), true
	case TypeFloat64:
		return math.Float64frombits(v.num), true
	}
	return 0, false
}

// AsBool returns a bool value.
func (v Value) AsBool() (bool, bool) { return v.num != 0, v.typ == TypeBool }

// AsString returns a string value.
func (v Value) AsString() (string, bool) { return v.str, v.typ == TypeString }

// Strings returns the elements of an array of strings. The slice is shared
// with v and must not be modified.
func (v Value) Strings() ([]string, bool) {
	s, ok := v.arr.([]string)
	return s, ok
}

// Any returns v as a plain Go value: uint8 ... float64, bool or string for
// scalars; for arrays, the typed slice ([]uint32, []string, ...) shared with
// v, or []any for nested arrays.
func (v Value) Any() any {
	switch v.typ {
	case TypeUint8:
		return uint8(v.num)
	case TypeInt8:
		return int8(v.num)
	case TypeUint16:
		return uint16(v.num)
	case TypeInt16:
		return int16(v.num)
	case TypeUint32:
		return uint32(v.num)
	case TypeInt32:
		return int32(v.num)
	case TypeUint64:
		return v.num
	case TypeInt64:
		return int64(v.num)
	case TypeFloat32:
		return math.Float32frombits(uint32(v.num))
	case TypeFloat64:
		return math.Float64frombits(v.num)
	case TypeBool:
		return v.num != 0
	case TypeString:
		return v.str
	case TypeArray:
		if vs, ok := v.arr.([]Value); ok {
			out := make([]any, len(vs))
			for i, x := range vs {
				out[i] = x.Any()
			}
			return out
		}
		return v.arr
	}
	return nil
}

// String formats v for people, eliding long strings and arrays.
func (v Value) String() string {
	switch v.typ {
	case TypeString:
		s := v.str
		if len(s) > 64 {
			s = s[:64] + "…"
		}
		return strconv.Quote(s)
	case TypeArray:
		var b strings.Builder
		fmt.Fprintf(&b, "[%v × %d]{", v.elem, v.Len())
		for i := range min(v.Len(), 8) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.Index(i).String())
		}
		if v.Len() > 8 {
			b.WriteString(", …")
		}
		b.WriteString("}")
		return b.String()
	}
	return fmt.Sprint(v.Any())
}

// KV is one metadata key-value pair.
type KV struct {
	Key   string
	Value Value
}
