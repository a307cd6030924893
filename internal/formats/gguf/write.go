package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// WriteOptions adjusts [Write]. The zero value writes a little-endian
// version 3 file with zero-filled tensor data.
type WriteOptions struct {
	// ByteOrder is binary.LittleEndian (nil) or binary.BigEndian.
	ByteOrder binary.ByteOrder
	// Version is 2 or 3 (0 means 3).
	Version uint32
	// TensorData, if set, is called once per tensor and returns the data
	// of tensors[i]: exactly its [TensorInfo.Size] bytes, or nil for
	// zeros.
	TensorData func(i int) []byte
}

// Write encodes a GGUF file with the metadata kv and the tensors to w. The
// tensors' Offset fields are ignored: Write lays the data out as ggml does,
// in order, each tensor padded to the alignment (general.alignment from kv,
// which must then be a uint32 power of 2, or [DefaultAlignment]).
//
// Write checks what a reader needs to make sense of the file (unique,
// non-empty keys; known value and tensor types; unique tensor names; sizes
// that are whole blocks and do not overflow) but not [Read]'s size limits,
// so tests can build files that exceed them. It fails before writing
// anything if a check fails.
func Write(w io.Writer, kv []KV, tensors []TensorInfo, opts *WriteOptions) error {
	var o WriteOptions
	if opts != nil {
		o = *opts
	}
	if o.ByteOrder == nil {
		o.ByteOrder = binary.LittleEndian
	}
	if o.Version == 0 {
		o.Version = 3
	}
	if o.Version != 2 && o.Version != 3 {
		return fmt.Errorf("gguf write: version %d, want 2 or 3", o.Version)
	}
	if o.ByteOrder != binary.LittleEndian && o.ByteOrder != binary.BigEndian {
		return fmt.Errorf("gguf write: byte order %v, want binary.LittleEndian or binary.BigEndian", o.ByteOrder)
	}

	alignment := uint64(DefaultAlignment)
	keys := make(map[string]bool, len(kv))
	for _, p := range kv {
		if p.Key == "" {
			return fmt.Errorf("gguf write: empty key")
		}
		if keys[p.Key] {
			return fmt.Errorf("gguf write: duplicate key %q", p.Key)
		}
		keys[p.Key] = true
		if err := checkValue(p.Value); err != nil {
			return fmt.Errorf("gguf write: key %q: %w", p.Key, err)
		}
		if p.Key == KeyAlignment {
			a, ok := p.Value.AsUint()
			if p.Value.Type() != TypeUint32 || !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("gguf write: %s must be a uint32 power of 2", KeyAlignment)
			}
			alignment = a
		}
	}
	sizes := make([]uint64, len(tensors))
	data := make([][]byte, len(tensors))
	names := make(map[string]bool, len(tensors))
	for i, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("gguf write: duplicate tensor %q", t.Name)
		}
		names[t.Name] = true
		n, ok := t.size()
		if !ok {
			return fmt.Errorf("gguf write: tensor %q: unknown type, partial block or overflowing size (%v %v)", t.Name, t.Type, t.Shape)
		}
		sizes[i] = uint64(n)
		if o.TensorData != nil {
			data[i] = o.TensorData(i)
			if data[i] != nil && uint64(len(data[i])) != sizes[i] {
				return fmt.Errorf("gguf write: tensor %q: %d bytes of data, want %d", t.Name, len(data[i]), n)
			}
		}
	}

	e := &encoder{w: bufio.NewWriter(w), order: o.ByteOrder}
	e.bytes([]byte("GGUF"))
	e.u32(o.Version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kv)))
	for _, p := range kv {
		e.str(p.Key)
		e.u32(uint32(p.Value.Type()))
		e.value(p.Value)
	}
	var off uint64
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(off)
		off += sizes[i] + pad(sizes[i], alignment)
	}
	e.zeros(pad(e.n, alignment))
	for i := range tensors {
		if data[i] != nil {
			e.bytes(data[i])
		} else {
			e.zeros(sizes[i])
		}
		e.zeros(pad(sizes[i], alignment))
	}
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

func pad(n, alignment uint64) uint64 { return (alignment - n%alignment) % alignment }

// checkValue checks that v is a well-formed value: a known type and, for
// arrays, elements of the declared type (nested arrays included).
func checkValue(v Value) error {
	if !v.typ.valid() {
		return fmt.Errorf("unknown value type %d", v.typ)
	}
	if v.typ != TypeArray {
		return nil
	}
	if vs, ok := v.arr.([]Value); ok {
		if v.elem != TypeArray {
			return fmt.Errorf("array of %v holds arrays", v.elem)
		}
		for _, x := range vs {
			if err := checkValue(x); err != nil {
				return err
			}
		}
		return nil
	}
	if v.arr == nil || !v.elem.valid() || v.elem == TypeArray {
		return fmt.Errorf("malformed array")
	}
	return nil
}

// encoder writes values in a byte order, remembering the first error.
type encoder struct {
	w     *bufio.Writer
	order binary.ByteOrder
	n     uint64 // bytes written
	err   error
	buf   [8]byte
}

func (e *encoder) bytes(p []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(p)
	e.n += uint64(len(p))
}

func (e *encoder) zeros(n uint64) {
	var z [4096]byte
	for n > 0 && e.err == nil {
		k := min(n, uint64(len(z)))
		e.bytes(z[:k])
		n -= k
	}
}

func (e *encoder) u8(v uint8) { e.bytes([]byte{v}) }

func (e *encoder) u16(v uint16) {
	e.order.PutUint16(e.buf[:2], v)
	e.bytes(e.buf[:2])
}

func (e *encoder) u32(v uint32) {
	e.order.PutUint32(e.buf[:4], v)
	e.bytes(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	e.order.PutUint64(e.buf[:8], v)
	e.bytes(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
		e.n += uint64(len(s))
	}
}

// value writes v without its type code.
func (e *encoder) value(v Value) {
	switch v.typ {
	case TypeUint8, TypeInt8, TypeBool:
		e.u8(uint8(v.num))
	case TypeUint16, TypeInt16:
		e.u16(uint16(v.num))
	case TypeUint32, TypeInt32, TypeFloat32:
		e.u32(uint32(v.num))
	case TypeUint64, TypeInt64, TypeFloat64:
		e.u64(v.num)
	case TypeString:
		e.str(v.str)
	case TypeArray:
		e.u32(uint32(v.elem))
		e.u64(uint64(v.Len()))
		switch a := v.arr.(type) {
		case []uint8:
			e.bytes(a)
		case []int8:
			for _, x := range a {
				e.u8(uint8(x))
			}
		case []bool:
			for _, x := range a {
				if x {
					e.u8(1)
				} else {
					e.u8(0)
				}
			}
		case []uint16:
			for _, x := range a {
				e.u16(x)
			}
		case []int16:
			for _, x := range a {
				e.u16(uint16(x))
			}
		case []uint32:
			for _, x := range a {
				e.u32(x)
			}
		case []int32:
			for _, x := range a {
				e.u32(uint32(x))
			}
		case []float32:
			for _, x := range a {
				e.u32(math.Float32bits(x))
			}
		case []uint64:
			for _, x := range a {
				e.u64(x)
			}
		case []int64:
			for _, x := range a {
				e.u64(uint64(x))
			}
		case []float64:
			for _, x := range a {
				e.u64(math.Float64bits(x))
			}
		case []string:
			for _, x := range a {
				e.str(x)
			}
		case []Value:
			for _, x := range a {
				e.value(x) // an array: element type, count, elements
			}
		}
	}
}
