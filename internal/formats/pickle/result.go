package pickle

import (
	"errors"
	"fmt"
)

// Limits bound the work done on one stream. A zero field selects the
// default from [DefaultLimits]; a negative field is treated as zero, so a
// stream with any content exceeds it.
type Limits struct {
	// MaxBytes bounds the bytes of the stream consumed: opcodes, their
	// arguments and skipped string payloads, but not joblib array
	// payloads, which are skipped without being parsed.
	MaxBytes int64
	// MaxOps bounds the opcodes executed, over all pickles of the stream.
	MaxOps int64
	// MaxStack bounds the values live on the stack, counting those below
	// MARKs, and separately the number of open MARKs.
	MaxStack int
	// MaxMemo bounds the number of memo entries of one pickle.
	MaxMemo int
	// MaxString bounds the length of one string, bytes or text-line
	// argument. Only short strings are kept; longer ones are skipped and
	// treated as opaque values.
	MaxString int64
	// MaxPickles bounds the number of pickles read from the stream.
	MaxPickles int
}

// DefaultLimits returns the limits used for zero fields. The opcode, stack
// and memo budgets follow fickling's interpreter limits; the byte and string
// budgets are generous because long strings are skipped, not stored.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:   4 << 30,
		MaxOps:     1_000_000,
		MaxStack:   100_000,
		MaxMemo:    500_000,
		MaxString:  4 << 30,
		MaxPickles: 1_000,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick64 := func(v, def int64) int64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	pick := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return v
	}
	return Limits{
		MaxBytes:   pick64(l.MaxBytes, d.MaxBytes),
		MaxOps:     pick64(l.MaxOps, d.MaxOps),
		MaxStack:   pick(l.MaxStack, d.MaxStack),
		MaxMemo:    pick(l.MaxMemo, d.MaxMemo),
		MaxString:  pick64(l.MaxString, d.MaxString),
		MaxPickles: pick(l.MaxPickles, d.MaxPickles),
	}
}

// Options configure [Scan].
type Options struct {
	Limits Limits
	// Size is the number of bytes the stream holds from its current
	// position, or a value <= 0 if unknown. When known, lengths that run
	// past the end are rejected without reading.
	Size int64
	// Joblib follows joblib's NumpyUnpickler: after a BUILD of a
	// joblib.numpy_pickle.NumpyArrayWrapper, the raw array bytes that
	// joblib wrote into the stream are skipped (or, for object arrays, the
	// nested pickle is parsed) and parsing resumes after them. Without it
	// the bytes are parsed as opcodes, as pickle.load would.
	Joblib bool
	// TorchLegacy follows torch.load's legacy format: if the first pickle
	// of the stream is PyTorch's magic number, exactly five pickles are
	// read and the rest is raw storage data.
	TorchLegacy bool
	// Single reads one pickle and stops after its STOP, as one
	// pickle.load call does; bytes after it are not examined (Trailing is
	// set if there are any). Callers that interleave pickles with their
	// own records use it with [Result.End].
	Single bool
}

// A ValueKind classifies an emulated value.
type ValueKind uint8

// Value kinds. KindObject is anything the unpickler would have to compute
// (a call result, an instance, a persistent object, an array read by
// joblib): its content is unknown.
const (
	KindNone ValueKind = iota
	KindBool
	KindInt
	KindFloat
	KindStr
	KindBytes
	KindByteArray
	KindTuple
	KindList
	KindDict
	KindSet
	KindFrozenSet
	KindGlobal
	KindObject
	KindBuffer
)

var kindNames = [...]string{"None", "bool", "int", "float", "str", "bytes", "bytearray",
	"tuple", "list", "dict", "set", "frozenset", "global", "object", "buffer"}

// String returns the Python name of the kind ("str", "tuple", ...).
func (k ValueKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// A Use is a bit set of the ways an import is used.
type Use uint16

// Uses of an import. An import whose Uses is zero was only referenced as a
// value (as an argument, in a persistent id, in a container).
const (
	// UseCall: called by REDUCE.
	UseCall Use = 1 << iota
	// UseNew: instantiated by NEWOBJ or NEWOBJ_EX (cls.__new__).
	UseNew
	// UseInstantiate: instantiated by INST or OBJ (cls(*args)).
	UseInstantiate
	// UseBuild: BUILD applied to the imported object itself, which sets
	// attributes on a module-level function, class or module.
	UseBuild
	// UseBuildInstance: BUILD applied to an object the import created,
	// running its __setstate__ or updating its __dict__.
	UseBuildInstance
	// UseMutate: APPEND(S), SETITEM(S) or ADDITEMS applied to the
	// imported object itself, calling its append/extend/__setitem__/add.
	UseMutate
	// UseMutateInstance: the same applied to an object the import
	// created (filling an OrderedDict, for instance).
	UseMutateInstance
)

// String lists the uses, e.g. "call|build".
func (u Use) String() string {
	names := []string{"call", "new", "instantiate", "build", "build-instance", "mutate", "mutate-instance"}
	s := ""
	for i, n := range names {
		if u&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "value"
	}
	return s
}

// An Import is a global the stream imports, deduplicated by name.
type Import struct {
	// Module and Name are the resolved global, after the Python 2 to 3
	// renaming the unpickler applies (_compat_pickle). Name may be dotted:
	// the unpickler walks it attribute by attribute.
	Module, Name string
	// RawModule and RawName are the strings as written in the stream.
	RawModule, RawName string
	// Dynamic is set when the module or the name is not a constant string
	// (a STACK_GLOBAL operand computed by a call, or a string too long to
	// keep); the unknown part is empty. An EXT import is always dynamic.
	Dynamic bool
	// Ext is the copyreg extension code of an EXT1/EXT2/EXT4 import.
	Ext int64
	// Op is the opcode of the first occurrence.
	Op Op
	// Offset is the stream offset of the first occurrence's opcode.
	Offset int64
	// Count is the number of times the import opcode was executed.
	Count int
	// Uses accumulates how the imported object was used.
	Uses Use
}

// String renders the import as module.name, with "?" for unknown parts.
func (im Import) String() string {
	if im.Ext != 0 {
		return fmt.Sprintf("copyreg extension %d", im.Ext)
	}
	m, n := im.Module, im.Name
	if m == "" {
		m = "?"
	}
	if n == "" {
		n = "?"
	}
	return m + "." + n
}

// A Ref describes a value an opcode acted on.
type Ref struct {
	Kind ValueKind
	// Import is, for a KindGlobal, the index in [Result.Imports] of the
	// global; for a KindObject, the index of the callable that created
	// it, or -1 if that was not an imported global.
	Import int
	// Class is, for a KindObject, the index of the class it is an
	// instance of when known (the callable, or the class argument of
	// copyreg._reconstructor), otherwise -1.
	Class int
	// By is, for a KindObject, the opcode that created it.
	By Op
}

// An Action is one distinct way the stream acted on a value: a call, an
// instantiation, a BUILD, a container mutation or a persistent load.
// Actions are aggregated by (Op, Target).
type Action struct {
	Op     Op
	Target Ref
	Count  int
	Offset int64 // of the first occurrence
}

// A PersistentID is a PERSID or BINPERSID load.
type PersistentID struct {
	Op     Op
	Offset int64
	Kind   ValueKind // the pid's kind: str for PERSID, usually tuple for BINPERSID
	Len    int       // number of elements of a tuple pid
	// Tag is the pid itself for PERSID, or the first element of a tuple
	// pid when it is a constant string or bytes ("storage" for PyTorch).
	Tag string
	// Key is the third element of a tuple pid when it is a constant
	// string or bytes: the storage record name in PyTorch files.
	Key string
	// Storage is, for a tuple pid, the import index of its second
	// element when that is a global (the storage type), otherwise -1.
	Storage int
}

// An Array is a joblib array payload that was skipped or parsed.
type Array struct {
	Offset int64 // of the first payload byte (the padding length, if any)
	Size   int64 // bytes skipped, padding included; 0 for object arrays
	Object bool  // an object array, stored as a nested pickle
}

// A Pickle is one STOP-terminated pickle of the stream.
type Pickle struct {
	Offset, End int64
	// Protocol is the highest PROTO seen in this pickle, or 0.
	Protocol int
	// Int is the decimal value of the pickle's result when it is a
	// constant int, otherwise "".
	Int string
}

// An Issue names a structural finding.
type Issue string

// Structural findings.
const (
	// IssueDynamicGlobal: STACK_GLOBAL with an operand that is not a
	// constant string.
	IssueDynamicGlobal Issue = "dynamic-global"
	// IssueExtension: EXT1/EXT2/EXT4, an import through the copyreg
	// extension registry.
	IssueExtension Issue = "extension-code"
	// IssueBuildGlobal: BUILD on an imported object itself: setattr on a
	// module-level object, the primitive behind several bypasses.
	IssueBuildGlobal Issue = "build-on-global"
	// IssueCallNonGlobal: a call or instantiation whose callable is not an
	// imported global (a call result, a persistent object, a constant).
	IssueCallNonGlobal Issue = "call-non-global"
	// IssueMemoOverwrite: a PUT to a memo index that was already set.
	IssueMemoOverwrite Issue = "memo-overwrite"
	// IssueMemoExpansion: far more memo GETs than PUTs, the shape of a
	// billion-laughs expansion.
	IssueMemoExpansion Issue = "memo-expansion"
	// IssueOutOfBand: NEXT_BUFFER, data supplied outside the stream.
	IssueOutOfBand Issue = "out-of-band-buffer"
	// IssueFrame: an opcode crossing a FRAME boundary, or a FRAME starting
	// inside another; the C and Python unpicklers disagree on these.
	IssueFrame Issue = "frame-violation"
	// IssueProto: a PROTO that is not the first opcode, or repeated.
	IssueProto Issue = "misplaced-proto"
	// IssueBadName: a GLOBAL, INST or STACK_GLOBAL name that is not valid
	// UTF-8 or not a dotted Python identifier; the import is still
	// reported.
	IssueBadName Issue = "invalid-global-name"
	// IssueTrailing: bytes after the last pickle that are not a pickle.
	// Informational.
	IssueTrailing Issue = "trailing-data"
	// IssueJoblibArray: a joblib array whose payload could not be
	// followed.
	IssueJoblibArray Issue = "joblib-array"
	// IssueMalformed: the stream stopped on a syntax error (see
	// [Result.Err]).
	IssueMalformed Issue = "malformed"
	// IssueLimit: a budget was exhausted (see [Result.Err]).
	IssueLimit Issue = "budget-exhausted"
)

// A Finding is one structural finding: the first occurrence of an issue,
// with the number of times it occurred.
type Finding struct {
	Issue  Issue
	Offset int64
	Op     Op
	Detail string
	Count  int
}

// Result is what [Scan] learned about a stream.
type Result struct {
	Imports    []Import
	Actions    []Action
	Persistent []PersistentID
	Findings   []Finding
	Pickles    []Pickle
	Arrays     []Array
	// Opcodes is the set of opcodes executed.
	Opcodes OpSet
	// Protocol is the highest PROTO seen.
	Protocol int
	// TorchLegacy is set when the stream was read as a legacy PyTorch
	// file (see [Options.TorchLegacy]).
	TorchLegacy bool
	// Ops is the number of opcodes executed.
	Ops int64
	// Bytes is the number of stream bytes consumed, skipped string
	// payloads included and joblib array payloads excluded.
	Bytes int64
	// Skipped is the number of joblib array payload bytes skipped.
	Skipped int64
	// End is the stream offset where analysis stopped: after the last
	// pickle, at the error, or where trailing data begins.
	End int64
	// Trailing is true when bytes that are not a pickle follow the last
	// pickle (from End), or when TorchLegacy storage data follows.
	Trailing bool
	// Err is nil when the whole stream was parsed. A [*LimitError] means a
	// budget was exhausted, an [*UnsupportedError] that the machine could
	// not follow the stream (both match [ErrIncomplete]), a [*SyntaxError]
	// that the stream is malformed, and any other error comes from the
	// reader. In every case the fields
	// above describe what was seen before it.
	Err error
}

// Complete reports whether the whole stream was analysed.
func (r *Result) Complete() bool { return r.Err == nil }

// IsPickle reports whether the stream is a pickle as far as a loader is
// concerned: at least one pickle ran to STOP, or something was imported or
// persistently loaded before the stream failed. Bytes that fail to parse
// before any of that cannot make an unpickler run code.
func (r *Result) IsPickle() bool {
	return len(r.Pickles) > 0 || len(r.Imports) > 0 || len(r.Persistent) > 0
}

// ErrIncomplete is matched by every error that leaves part of a stream
// unexamined although an unpickler might go on reading it: a [*LimitError]
// or an [*UnsupportedError].
var ErrIncomplete = errors.New("pickle: analysis incomplete")

// ErrLimit is matched by every [*LimitError].
var ErrLimit = errors.New("pickle: analysis budget exhausted")

// A LimitError reports which budget a stream exhausted.
type LimitError struct {
	Limit  string // "bytes", "ops", "stack", "marks", "memo", "string", "pickles"
	Offset int64
}

// Error describes the error with its stream offset.
func (e *LimitError) Error() string {
	return fmt.Sprintf("pickle: %s budget exhausted at offset %d", e.Limit, e.Offset)
}

// Is makes errors.Is(err, ErrLimit) and errors.Is(err, ErrIncomplete) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit || target == ErrIncomplete }

// An UnsupportedError reports a construct the machine cannot follow the way
// the loader would, such as a joblib array whose size it cannot determine.
type UnsupportedError struct {
	Offset int64
	Msg    string
}

// Error describes the error with its stream offset.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("pickle: cannot follow %s at offset %d", e.Msg, e.Offset)
}

// Is makes errors.Is(err, ErrIncomplete) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrIncomplete }

// A SyntaxError reports a malformed stream: an unknown opcode, a truncated
// argument, a stack or memo access that would fail in the unpickler.
type SyntaxError struct {
	Offset int64
	Op     Op
	Msg    string
}

// Error describes the error with its stream offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("pickle: %s at offset %d (%v)", e.Msg, e.Offset, e.Op)
}
