// Package pickletest assembles pickle streams opcode by opcode, for tests
// of the pickle analyser and of the scanners built on it. It writes exactly
// the bytes it is told to, which is what hostile test inputs need: nothing
// here checks that the result is a valid pickle.
package pickletest

import (
	"encoding/binary"
	"math/big"
	"strconv"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// A Builder accumulates a pickle stream. The zero value is ready to use;
// every method appends and returns the builder for chaining.
type Builder struct {
	buf []byte
}

// New returns an empty builder.
func New() *Builder { return &Builder{} }

// Bytes returns the stream built so far.
func (b *Builder) Bytes() []byte { return b.buf }

// Len returns the number of bytes built so far.
func (b *Builder) Len() int { return len(b.buf) }

// Op appends opcodes that take no argument.
func (b *Builder) Op(ops ...pickle.Op) *Builder {
	for _, o := range ops {
		b.buf = append(b.buf, byte(o))
	}
	return b
}

// Raw appends bytes as they are.
func (b *Builder) Raw(p []byte) *Builder {
	b.buf = append(b.buf, p...)
	return b
}

// Proto appends PROTO v.
func (b *Builder) Proto(v byte) *Builder { return b.Raw([]byte{byte(pickle.OpProto), v}) }

// Frame appends FRAME n.
func (b *Builder) Frame(n uint64) *Builder {
	b.buf = append(b.buf, byte(pickle.OpFrame))
	b.buf = binary.LittleEndian.AppendUint64(b.buf, n)
	return b
}

// Global appends GLOBAL module name.
func (b *Builder) Global(module, name string) *Builder {
	return b.Raw([]byte("c" + module + "\n" + name + "\n"))
}

// Inst appends INST module name (the MARK and arguments come before).
func (b *Builder) Inst(module, name string) *Builder {
	return b.Raw([]byte("i" + module + "\n" + name + "\n"))
}

// StackGlobal appends SHORT_BINUNICODE module, SHORT_BINUNICODE name and
// STACK_GLOBAL, as protocol 4 writes a global.
func (b *Builder) StackGlobal(module, name string) *Builder {
	return b.ShortUnicode(module).ShortUnicode(name).Op(pickle.OpStackGlobal)
}

// String appends a protocol-0 STRING with single quotes.
func (b *Builder) String(s string) *Builder {
	q := strconv.Quote(s)
	return b.Raw([]byte("S'" + q[1:len(q)-1] + "'\n"))
}

// UnicodeLine appends a protocol-0 UNICODE.
func (b *Builder) UnicodeLine(s string) *Builder { return b.Raw([]byte("V" + s + "\n")) }

// Unicode appends BINUNICODE s.
func (b *Builder) Unicode(s string) *Builder {
	b.buf = append(b.buf, byte(pickle.OpBinUnicode))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(s)))
	b.buf = append(b.buf, s...)
	return b
}

// ShortUnicode appends SHORT_BINUNICODE s (len(s) < 256).
func (b *Builder) ShortUnicode(s string) *Builder {
	b.buf = append(b.buf, byte(pickle.OpShortBinUni), byte(len(s)))
	b.buf = append(b.buf, s...)
	return b
}

// ShortBinString appends SHORT_BINSTRING s (len(s) < 256).
func (b *Builder) ShortBinString(s string) *Builder {
	b.buf = append(b.buf, byte(pickle.OpShortBinString), byte(len(s)))
	b.buf = append(b.buf, s...)
	return b
}

// BinBytes appends BINBYTES p.
func (b *Builder) BinBytes(p []byte) *Builder {
	b.buf = append(b.buf, byte(pickle.OpBinBytes))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(p)))
	b.buf = append(b.buf, p...)
	return b
}

// Int appends the shortest binary encoding of n, as the pickler does:
// BININT1, BININT2, BININT or LONG1.
func (b *Builder) Int(n int64) *Builder {
	switch {
	case n >= 0 && n < 256:
		return b.Raw([]byte{byte(pickle.OpBinInt1), byte(n)})
	case n >= 0 && n < 65536:
		b.buf = append(b.buf, byte(pickle.OpBinInt2))
		b.buf = binary.LittleEndian.AppendUint16(b.buf, uint16(n))
		return b
	case n >= -1<<31 && n < 1<<31:
		b.buf = append(b.buf, byte(pickle.OpBinInt))
		b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(int32(n)))
		return b
	}
	return b.Long1(big.NewInt(n))
}

// Long1 appends LONG1 n in two's complement.
func (b *Builder) Long1(n *big.Int) *Builder {
	var le []byte
	if n.Sign() != 0 {
		nbytes := n.BitLen()/8 + 1
		v := new(big.Int).Set(n)
		if n.Sign() < 0 {
			v.Add(v, new(big.Int).Lsh(big.NewInt(1), uint(8*nbytes)))
		}
		be := v.FillBytes(make([]byte, nbytes))
		for i := len(be) - 1; i >= 0; i-- {
			le = append(le, be[i])
		}
	}
	b.buf = append(b.buf, byte(pickle.OpLong1), byte(len(le)))
	b.buf = append(b.buf, le...)
	return b
}

// TextInt appends a protocol-0 INT.
func (b *Builder) TextInt(n int64) *Builder {
	return b.Raw([]byte("I" + strconv.FormatInt(n, 10) + "\n"))
}

// Put appends BINPUT i, or LONG_BINPUT for i > 255.
func (b *Builder) Put(i int) *Builder {
	if i < 256 {
		return b.Raw([]byte{byte(pickle.OpBinPut), byte(i)})
	}
	b.buf = append(b.buf, byte(pickle.OpLongBinPut))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(i))
	return b
}

// Get appends BINGET i, or LONG_BINGET for i > 255.
func (b *Builder) Get(i int) *Builder {
	if i < 256 {
		return b.Raw([]byte{byte(pickle.OpBinGet), byte(i)})
	}
	b.buf = append(b.buf, byte(pickle.OpLongBinGet))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(i))
	return b
}

// TextPut appends a protocol-0 PUT.
func (b *Builder) TextPut(i int) *Builder { return b.Raw([]byte("p" + strconv.Itoa(i) + "\n")) }

// TextGet appends a protocol-0 GET.
func (b *Builder) TextGet(i int) *Builder { return b.Raw([]byte("g" + strconv.Itoa(i) + "\n")) }

// Stop appends STOP.
func (b *Builder) Stop() *Builder { return b.Op(pickle.OpStop) }

// Call appends GLOBAL module name, the string arguments as a tuple, and
// REDUCE: module.name(*args).
func (b *Builder) Call(module, name string, args ...string) *Builder {
	b.Global(module, name).Op(pickle.OpMark)
	for _, a := range args {
		b.Unicode(a)
	}
	return b.Op(pickle.OpTuple, pickle.OpReduce)
}

// Reduce0 returns the classic protocol-0 payload module.name(arg).
func Reduce0(module, name, arg string) []byte {
	return New().Global(module, name).Op(pickle.OpMark).String(arg).Op(pickle.OpTuple, pickle.OpReduce, pickle.OpStop).Bytes()
}

// NumpyDtype appends numpy.dtype(descr, False, True) and its BUILD state,
// as numpy pickles a dtype. elsize is -1 for fixed-size types; flags is 63
// for the object dtype and 0 otherwise.
func (b *Builder) NumpyDtype(descr string, elsize, flags int64) *Builder {
	b.StackGlobal("numpy", "dtype").ShortUnicode(descr).Op(pickle.OpNewFalse, pickle.OpNewTrue, pickle.OpTuple3, pickle.OpReduce)
	b.Op(pickle.OpMark).Int(3).ShortUnicode("<").Op(pickle.OpNone, pickle.OpNone, pickle.OpNone)
	return b.Int(elsize).Int(-1).Int(flags).Op(pickle.OpTuple, pickle.OpBuild)
}

// JoblibArray appends what joblib.dump writes for a numpy array: a
// joblib.numpy_pickle.NumpyArrayWrapper built with its state, then (for a
// non-object dtype) the padding-length byte and padding that align the
// payload to 16 bytes, then payload. For an object array, payload is the
// nested pickle. The builder is assumed to start at file offset 0, as the
// padding depends on the position.
func (b *Builder) JoblibArray(descr string, shape []int64, payload []byte) *Builder {
	b.JoblibWrapper(descr, shape)
	if !isObject(descr) {
		pad := 16 - (len(b.buf)+1)%16
		b.buf = append(b.buf, byte(pad))
		for range pad {
			b.buf = append(b.buf, 0xff)
		}
	}
	return b.Raw(payload)
}

func isObject(descr string) bool { return descr == "|O" || descr == "O8" || descr == "O" }

// JoblibWrapper appends the NumpyArrayWrapper and its BUILD alone, without
// the padding and payload that must follow.
func (b *Builder) JoblibWrapper(descr string, shape []int64) *Builder {
	object := isObject(descr)
	b.StackGlobal("joblib.numpy_pickle", "NumpyArrayWrapper").Op(pickle.OpEmptyTuple, pickle.OpNewObj)
	b.Op(pickle.OpEmptyDict, pickle.OpMark)
	b.ShortUnicode("subclass").StackGlobal("numpy", "ndarray")
	b.ShortUnicode("shape").Op(pickle.OpMark)
	for _, d := range shape {
		b.Int(d)
	}
	b.Op(pickle.OpTuple)
	b.ShortUnicode("order").ShortUnicode("C")
	b.ShortUnicode("dtype")
	if object {
		b.NumpyDtype("O8", -1, 63)
	} else {
		b.NumpyDtype(descr, -1, 0)
	}
	b.ShortUnicode("allow_mmap").Op(pickle.OpNewFalse)
	b.ShortUnicode("numpy_array_alignment_bytes").Int(16)
	return b.Op(pickle.OpSetItems, pickle.OpBuild)
}
