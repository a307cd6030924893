package pickle

import "strconv"

// An Op is a pickle opcode byte.
type Op byte

// The opcodes of pickle protocols 0 to 5, with the names that CPython's
// pickletools uses.
const (
	OpMark           Op = '('    // push a mark on the metastack
	OpStop           Op = '.'    // end of pickle: pop the result
	OpPop            Op = '0'    // discard the top of the stack (or a mark)
	OpPopMark        Op = '1'    // discard everything up to the last mark
	OpDup            Op = '2'    // duplicate the top of the stack
	OpFloat          Op = 'F'    // text float
	OpInt            Op = 'I'    // text int (also 00/01 booleans)
	OpBinInt         Op = 'J'    // 4-byte signed int
	OpBinInt1        Op = 'K'    // 1-byte unsigned int
	OpLong           Op = 'L'    // text long
	OpBinInt2        Op = 'M'    // 2-byte unsigned int
	OpNone           Op = 'N'    // push None
	OpPersID         Op = 'P'    // persistent id from a text line
	OpBinPersID      Op = 'Q'    // persistent id from the stack
	OpReduce         Op = 'R'    // call stack[-2](*stack[-1])
	OpString         Op = 'S'    // quoted, escaped text string
	OpBinString      Op = 'T'    // string with 4-byte length
	OpShortBinString Op = 'U'    // string with 1-byte length
	OpUnicode        Op = 'V'    // raw-unicode-escape text line
	OpBinUnicode     Op = 'X'    // UTF-8 string with 4-byte length
	OpAppend         Op = 'a'    // list.append
	OpBuild          Op = 'b'    // __setstate__ or __dict__ update
	OpGlobal         Op = 'c'    // import module.name from two text lines
	OpDict           Op = 'd'    // build a dict from the items after the mark
	OpEmptyDict      Op = '}'    // push {}
	OpAppends        Op = 'e'    // list.extend with the items after the mark
	OpGet            Op = 'g'    // push memo[int(text line)]
	OpBinGet         Op = 'h'    // push memo[1-byte index]
	OpInst           Op = 'i'    // import and instantiate with the items after the mark
	OpLongBinGet     Op = 'j'    // push memo[4-byte index]
	OpList           Op = 'l'    // build a list from the items after the mark
	OpEmptyList      Op = ']'    // push []
	OpObj            Op = 'o'    // instantiate the first item after the mark with the rest
	OpPut            Op = 'p'    // memo[int(text line)] = top
	OpBinPut         Op = 'q'    // memo[1-byte index] = top
	OpLongBinPut     Op = 'r'    // memo[4-byte index] = top
	OpSetItem        Op = 's'    // obj[key] = value
	OpTuple          Op = 't'    // build a tuple from the items after the mark
	OpEmptyTuple     Op = ')'    // push ()
	OpSetItems       Op = 'u'    // obj[k] = v for the pairs after the mark
	OpBinFloat       Op = 'G'    // 8-byte big-endian float
	OpProto          Op = '\x80' // protocol version
	OpNewObj         Op = '\x81' // cls.__new__(cls, *args)
	OpExt1           Op = '\x82' // global from the copyreg extension registry, 1-byte code
	OpExt2           Op = '\x83' // same, 2-byte code
	OpExt4           Op = '\x84' // same, 4-byte code
	OpTuple1         Op = '\x85' // 1-tuple
	OpTuple2         Op = '\x86' // 2-tuple
	OpTuple3         Op = '\x87' // 3-tuple
	OpNewTrue        Op = '\x88' // push True
	OpNewFalse       Op = '\x89' // push False
	OpLong1          Op = '\x8a' // int with 1-byte length
	OpLong4          Op = '\x8b' // int with 4-byte length
	OpBinBytes       Op = 'B'    // bytes with 4-byte length
	OpShortBinBytes  Op = 'C'    // bytes with 1-byte length
	OpShortBinUni    Op = '\x8c' // UTF-8 string with 1-byte length
	OpBinUnicode8    Op = '\x8d' // UTF-8 string with 8-byte length
	OpBinBytes8      Op = '\x8e' // bytes with 8-byte length
	OpEmptySet       Op = '\x8f' // push set()
	OpAddItems       Op = '\x90' // set.add for the items after the mark
	OpFrozenSet      Op = '\x91' // build a frozenset from the items after the mark
	OpNewObjEx       Op = '\x92' // cls.__new__(cls, *args, **kwargs)
	OpStackGlobal    Op = '\x93' // import stack[-2].stack[-1]
	OpMemoize        Op = '\x94' // memo[len(memo)] = top
	OpFrame          Op = '\x95' // 8-byte frame length
	OpByteArray8     Op = '\x96' // bytearray with 8-byte length
	OpNextBuffer     Op = '\x97' // push the next out-of-band buffer
	OpReadOnlyBuffer Op = '\x98' // make the top buffer read-only
)

var opNameMap = map[Op]string{
	OpMark: "MARK", OpStop: "STOP", OpPop: "POP", OpPopMark: "POP_MARK", OpDup: "DUP",
	OpFloat: "FLOAT", OpInt: "INT", OpBinInt: "BININT", OpBinInt1: "BININT1", OpLong: "LONG",
	OpBinInt2: "BININT2", OpNone: "NONE", OpPersID: "PERSID", OpBinPersID: "BINPERSID",
	OpReduce: "REDUCE", OpString: "STRING", OpBinString: "BINSTRING",
	OpShortBinString: "SHORT_BINSTRING", OpUnicode: "UNICODE", OpBinUnicode: "BINUNICODE",
	OpAppend: "APPEND", OpBuild: "BUILD", OpGlobal: "GLOBAL", OpDict: "DICT",
	OpEmptyDict: "EMPTY_DICT", OpAppends: "APPENDS", OpGet: "GET", OpBinGet: "BINGET",
	OpInst: "INST", OpLongBinGet: "LONG_BINGET", OpList: "LIST", OpEmptyList: "EMPTY_LIST",
	OpObj: "OBJ", OpPut: "PUT", OpBinPut: "BINPUT", OpLongBinPut: "LONG_BINPUT",
	OpSetItem: "SETITEM", OpTuple: "TUPLE", OpEmptyTuple: "EMPTY_TUPLE", OpSetItems: "SETITEMS",
	OpBinFloat: "BINFLOAT", OpProto: "PROTO", OpNewObj: "NEWOBJ", OpExt1: "EXT1",
	OpExt2: "EXT2", OpExt4: "EXT4", OpTuple1: "TUPLE1", OpTuple2: "TUPLE2", OpTuple3: "TUPLE3",
	OpNewTrue: "NEWTRUE", OpNewFalse: "NEWFALSE", OpLong1: "LONG1", OpLong4: "LONG4",
	OpBinBytes: "BINBYTES", OpShortBinBytes: "SHORT_BINBYTES", OpShortBinUni: "SHORT_BINUNICODE",
	OpBinUnicode8: "BINUNICODE8", OpBinBytes8: "BINBYTES8", OpEmptySet: "EMPTY_SET",
	OpAddItems: "ADDITEMS", OpFrozenSet: "FROZENSET", OpNewObjEx: "NEWOBJ_EX",
	OpStackGlobal: "STACK_GLOBAL", OpMemoize: "MEMOIZE", OpFrame: "FRAME",
	OpByteArray8: "BYTEARRAY8", OpNextBuffer: "NEXT_BUFFER", OpReadOnlyBuffer: "READONLY_BUFFER",
}

var opNames = func() (names [256]string) {
	for o, n := range opNameMap {
		names[o] = n
	}
	return names
}()

// String returns the pickletools name of o, or its byte value in hex for a
// byte that is not an opcode.
func (o Op) String() string {
	if s := opNames[o]; s != "" {
		return s
	}
	return "0x" + strconv.FormatUint(uint64(o), 16)
}

// Valid reports whether o is an opcode of some pickle protocol.
func (o Op) Valid() bool { return opNames[o] != "" }

// An OpSet is a set of opcodes.
type OpSet [4]uint64

// Add adds o to s.
func (s *OpSet) Add(o Op) { s[o>>6] |= 1 << (o & 63) }

// Has reports whether s contains o.
func (s OpSet) Has(o Op) bool { return s[o>>6]&(1<<(o&63)) != 0 }

// Union adds every opcode of t to s.
func (s *OpSet) Union(t OpSet) {
	for i := range s {
		s[i] |= t[i]
	}
}

// Ops returns the opcodes of s in byte order.
func (s OpSet) Ops() []Op {
	var out []Op
	for i := 0; i < 256; i++ {
		if s.Has(Op(i)) {
			out = append(out, Op(i))
		}
	}
	return out
}
