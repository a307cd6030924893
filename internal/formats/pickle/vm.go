package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// TorchMagic is the decimal value of the first pickle of a legacy (pre-1.6)
// PyTorch file.
const TorchMagic = "119547037146038801333356"

// torchLegacyPickles is the number of pickles torch.load reads from a legacy
// file: magic number, protocol version, sys_info, the object, storage keys.
const torchLegacyPickles = 5

// errEmpty ends a stream cleanly: no byte remained where a pickle could
// start.
var errEmpty = errors.New("no pickle")

// Scan emulates the unpickler over r, reading it sequentially from its
// current position, and returns what it found. If r is an [io.Seeker],
// long payloads are skipped by seeking instead of reading. Scan never
// panics on malformed input and never allocates more than the limits in
// opts allow; see [Result.Err] for how it stopped.
func Scan(r io.Reader, opts Options) *Result {
	m := newMachine(r, opts)
	m.run()
	return &m.res
}

type importKey struct {
	module, name, rawModule, rawName string
	dynamic                          bool
	ext                              int64
}

type actionKey struct {
	op     Op
	target Ref
}

// frame is the per-pickle state: each pickle.load starts with an empty
// stack, metastack and memo.
type frame struct {
	stack    []*value
	marks    []int
	memo     memo
	proto    int
	ops      int // opcodes executed in this pickle
	frameEnd int64
}

type machine struct {
	in   *input
	lim  Limits
	opts Options
	res  Result

	f frame

	importIdx map[importKey]int
	actionIdx map[actionKey]int // index into res.Actions
	actions   map[actionKey]int // index into pending
	pending   []Action          // actions of the current top-level pickle

	// pickle-scoped counters used to decide whether a failed pickle after
	// the first is just trailing data
	pickleImports int

	gets, puts int64
	frameIssue bool
	joblibOK   bool // joblib dialect active for the current pickle
}

func newMachine(r io.Reader, opts Options) *machine {
	lim := opts.Limits.withDefaults()
	m := &machine{
		in:        newInput(r, opts.Size, lim.MaxBytes),
		lim:       lim,
		opts:      opts,
		importIdx: make(map[importKey]int),
		actionIdx: make(map[actionKey]int),
		actions:   make(map[actionKey]int),
	}
	return m
}

func (m *machine) resetFrame() {
	m.f = frame{frameEnd: -1}
}

func (m *machine) run() {
	maxPickles := m.lim.MaxPickles
	defer func() {
		m.res.Bytes = m.in.off - m.in.exempt
		if m.gets > 10_000 && m.gets > 50*(m.puts+1) {
			m.finding(IssueMemoExpansion, -1, 0, fmt.Sprintf("%d memo GETs for %d PUTs", m.gets, m.puts))
		}
	}()
	for {
		start := m.in.off
		if len(m.res.Pickles) > 0 {
			// Between pickles: carry on only if a pickle may follow.
			b, err := m.in.peekByte()
			if err == io.EOF {
				m.res.End = start
				return
			}
			if err != nil {
				m.fail(err, start, 0)
				return
			}
			if m.opts.Single {
				m.res.Trailing = true
				m.res.End = start
				return
			}
			if len(m.res.Pickles) >= maxPickles {
				if m.res.TorchLegacy {
					m.res.Trailing = true
					m.res.End = start
					return
				}
				m.fail(&LimitError{Limit: "pickles", Offset: start}, start, 0)
				return
			}
			if !Op(b).Valid() {
				m.trailing(start)
				return
			}
		}
		nFindings, nPersistent, nArrays, opcodes := len(m.res.Findings), len(m.res.Persistent), len(m.res.Arrays), m.res.Opcodes
		m.pickleImports = 0
		m.resetFrame()
		m.joblibOK = m.opts.Joblib
		top, op, err := m.runPickle()
		if err == errEmpty {
			m.res.End = start
			return
		}
		if err != nil {
			tentative := len(m.res.Pickles) > 0
			if tentative && !errors.Is(err, ErrIncomplete) && isSyntax(err) &&
				m.pickleImports == 0 && len(m.res.Persistent) == nPersistent {
				// Garbage after a complete pickle from which nothing could
				// be imported: trailing data, not a malformed pickle.
				m.res.Findings = m.res.Findings[:nFindings]
				m.res.Arrays = m.res.Arrays[:nArrays]
				m.res.Opcodes = opcodes
				m.pending = m.pending[:0]
				clear(m.actions)
				m.trailing(start)
				return
			}
			m.flushActions()
			m.fail(err, m.in.off, op)
			return
		}
		m.flushActions()
		p := Pickle{Offset: start, End: m.in.off, Protocol: m.f.proto, Int: top.decimal()}
		m.res.Pickles = append(m.res.Pickles, p)
		m.res.End = m.in.off
		if len(m.res.Pickles) == 1 && m.opts.TorchLegacy && p.Int == TorchMagic {
			m.res.TorchLegacy = true
			maxPickles = min(maxPickles, torchLegacyPickles)
		}
	}
}

func isSyntax(err error) bool {
	_, ok := err.(*SyntaxError)
	return ok
}

func (m *machine) trailing(at int64) {
	m.res.Trailing = true
	m.res.End = at
	m.finding(IssueTrailing, at, 0, "bytes after the last pickle do not form a pickle")
}

// fail records the error that stopped the analysis.
func (m *machine) fail(err error, off int64, op Op) {
	m.res.Err = err
	m.res.End = off
	switch {
	case errors.Is(err, ErrIncomplete):
		issue := IssueLimit
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			issue = IssueJoblibArray
		}
		m.finding(issue, off, op, err.Error())
	case isSyntax(err):
		m.finding(IssueMalformed, err.(*SyntaxError).Offset, op, err.Error())
	}
}

// finding records a finding. Repeats of an issue only count: a stream
// cannot grow the findings beyond one per issue.
func (m *machine) finding(issue Issue, off int64, op Op, detail string) {
	for i := range m.res.Findings {
		if m.res.Findings[i].Issue == issue {
			m.res.Findings[i].Count++
			return
		}
	}
	m.res.Findings = append(m.res.Findings, Finding{Issue: issue, Offset: off, Op: op, Detail: detail, Count: 1})
}

func (m *machine) flushActions() {
	for _, a := range m.pending {
		k := actionKey{a.Op, a.Target}
		if i, ok := m.actionIdx[k]; ok {
			m.res.Actions[i].Count += a.Count
			continue
		}
		m.actionIdx[k] = len(m.res.Actions)
		m.res.Actions = append(m.res.Actions, a)
	}
	m.pending = m.pending[:0]
	clear(m.actions)
}

// syntax builds a SyntaxError at the current opcode.
func (m *machine) syntax(at int64, op Op, format string, args ...any) error {
	return &SyntaxError{Offset: at, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// ioErr converts an input error into what the machine reports.
func (m *machine) ioErr(err error, at int64, op Op) error {
	if err == errTruncated {
		return m.syntax(at, op, "truncated argument")
	}
	return err
}

// ---- stack ----

func (m *machine) base() int {
	if n := len(m.f.marks); n > 0 {
		return m.f.marks[n-1]
	}
	return 0
}

func (m *machine) push(v *value) error {
	if len(m.f.stack) >= m.lim.MaxStack {
		return &LimitError{Limit: "stack", Offset: m.in.off}
	}
	m.f.stack = append(m.f.stack, v)
	return nil
}

func (m *machine) pop(at int64, op Op) (*value, error) {
	n := len(m.f.stack)
	if n <= m.base() {
		return nil, m.syntax(at, op, "stack underflow")
	}
	v := m.f.stack[n-1]
	m.f.stack[n-1] = nil
	m.f.stack = m.f.stack[:n-1]
	return v, nil
}

// popN pops the top n values and returns them in stack order (the
// deepest first); on underflow nothing is popped.
func (m *machine) popN(at int64, op Op, n int) ([]*value, error) {
	l := len(m.f.stack)
	if l-n < m.base() {
		return nil, m.syntax(at, op, "stack underflow")
	}
	vs := slices.Clone(m.f.stack[l-n:])
	clear(m.f.stack[l-n:])
	m.f.stack = m.f.stack[:l-n]
	return vs, nil
}

func (m *machine) top(at int64, op Op) (*value, error) {
	n := len(m.f.stack)
	if n <= m.base() {
		return nil, m.syntax(at, op, "stack underflow")
	}
	return m.f.stack[n-1], nil
}

func (m *machine) setTop(v *value) { m.f.stack[len(m.f.stack)-1] = v }

// popMark returns the items above the last mark (a fresh slice) and removes
// them and the mark.
func (m *machine) popMark(at int64, op Op) ([]*value, error) {
	n := len(m.f.marks)
	if n == 0 {
		return nil, m.syntax(at, op, "no MARK on the metastack")
	}
	b := m.f.marks[n-1]
	m.f.marks = m.f.marks[:n-1]
	items := make([]*value, len(m.f.stack)-b)
	copy(items, m.f.stack[b:])
	clear(m.f.stack[b:])
	m.f.stack = m.f.stack[:b]
	return items, nil
}

// ---- recording ----

func (m *machine) addImport(op Op, at int64, rawModule, rawName string, modOK, nameOK bool, ext int64) *value {
	module, name := rawModule, rawName
	if modOK && nameOK && ext == 0 {
		module, name = MapName(rawModule, rawName)
	}
	if !modOK {
		module, rawModule = "", ""
	}
	if !nameOK {
		name, rawName = "", ""
	}
	key := importKey{module, name, rawModule, rawName, !modOK || !nameOK || ext != 0, ext}
	i, ok := m.importIdx[key]
	if !ok {
		i = len(m.res.Imports)
		m.importIdx[key] = i
		m.res.Imports = append(m.res.Imports, Import{
			Module: module, Name: name, RawModule: rawModule, RawName: rawName,
			Dynamic: key.dynamic, Ext: ext, Op: op, Offset: at,
		})
		if modOK && !isDottedIdent(rawModule) || nameOK && !isDottedIdent(rawName) {
			m.finding(IssueBadName, at, op, fmt.Sprintf("%q %q is not a dotted identifier", rawModule, rawName))
		}
	}
	m.res.Imports[i].Count++
	m.pickleImports++
	return &value{kind: KindGlobal, imp: int32(i)}
}

func (m *machine) ref(v *value) Ref {
	r := Ref{Kind: v.kind, Import: -1, Class: -1}
	switch v.kind {
	case KindGlobal:
		r.Import = int(v.imp)
	case KindObject:
		r.Import = int(v.imp)
		r.Class = int(v.obj.cls)
		r.By = v.obj.by
	}
	return r
}

func (m *machine) action(op Op, at int64, target *value) {
	r := m.ref(target)
	k := actionKey{op, r}
	if i, ok := m.actions[k]; ok {
		m.pending[i].Count++
		return
	}
	m.actions[k] = len(m.pending)
	m.pending = append(m.pending, Action{Op: op, Target: r, Count: 1, Offset: at})
}

func (m *machine) use(v *value, u Use) {
	switch {
	case v.kind == KindGlobal:
		m.res.Imports[v.imp].Uses |= u
	case v.kind == KindObject:
		if v.imp >= 0 {
			m.res.Imports[v.imp].Uses |= u
		}
		if v.obj.cls >= 0 && v.obj.cls != v.imp {
			m.res.Imports[v.obj.cls].Uses |= u
		}
	}
}

func (m *machine) importIs(i int32, module, name string) bool {
	if i < 0 {
		return false
	}
	im := &m.res.Imports[i]
	return im.Module == module && im.Name == name
}

// call records a call or instantiation of callee and returns its result.
func (m *machine) call(op Op, at int64, callee, args *value) *value {
	m.action(op, at, callee)
	var u Use
	switch op {
	case OpReduce:
		u = UseCall
	case OpNewObj, OpNewObjEx:
		u = UseNew
	default:
		u = UseInstantiate
	}
	res := &value{kind: KindObject, imp: -1, obj: &object{by: op, cls: -1, args: args}}
	if callee.kind == KindGlobal {
		m.res.Imports[callee.imp].Uses |= u
		res.imp = callee.imp
		res.obj.cls = callee.imp
		if op == OpReduce && args != nil && args.kind == KindTuple && len(args.items) > 0 &&
			(m.importIs(callee.imp, "copyreg", "_reconstructor") || m.importIs(callee.imp, "copyreg", "__newobj__") ||
				m.importIs(callee.imp, "copyreg", "__newobj_ex__")) {
			if c := args.items[0]; c.kind == KindGlobal {
				res.obj.cls = c.imp
				m.res.Imports[c.imp].Uses |= UseNew
			}
		}
	} else {
		m.finding(IssueCallNonGlobal, at, op, "callable is a "+callee.kind.String())
	}
	if m.joblibOK && res.obj.cls >= 0 && m.isArrayWrapper(res.obj.cls) && op != OpNewObj && op != OpNewObjEx &&
		res.obj.cls == callee.imp && args != nil && (args.kind == KindTuple || args.kind == KindList) {
		// NumpyArrayWrapper(subclass, shape, order, dtype, allow_mmap=False,
		// numpy_array_alignment_bytes=16) sets its attributes in __init__.
		params := []string{"subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"}
		res.obj.attrs = append(res.obj.attrs, &value{kind: KindStr, s: "numpy_array_alignment_bytes"}, newInt(16))
		for i, a := range args.items {
			if i < len(params) {
				res.obj.attrs = append(res.obj.attrs, &value{kind: KindStr, s: params[i]}, a)
			}
		}
	}
	return res
}

// ---- the interpreter ----

// runPickle executes one pickle up to its STOP and returns the value it
// produced, the last opcode, and the error that stopped it, if any.
func (m *machine) runPickle() (*value, Op, error) {
	for {
		at := m.in.off
		if m.res.Ops >= m.lim.MaxOps {
			return nil, 0, &LimitError{Limit: "ops", Offset: at}
		}
		b, err := m.in.readByte()
		if err != nil {
			if err == errTruncated {
				if m.f.ops == 0 {
					return nil, 0, errEmpty
				}
				return nil, 0, m.syntax(at, 0, "stream ends without STOP")
			}
			return nil, 0, err
		}
		op := Op(b)
		m.res.Ops++
		m.f.ops++
		if op.Valid() {
			m.res.Opcodes.Add(op)
		}
		done, top, err := m.step(op, at)
		if err != nil {
			return nil, op, err
		}
		if m.f.frameEnd >= 0 {
			if m.in.off > m.f.frameEnd {
				m.frameViolation(at, op, "opcode crosses the end of its frame")
				m.f.frameEnd = -1
			} else if m.in.off == m.f.frameEnd {
				m.f.frameEnd = -1
			}
		}
		if done {
			return top, op, nil
		}
	}
}

func (m *machine) frameViolation(at int64, op Op, msg string) {
	if !m.frameIssue {
		m.frameIssue = true
		m.finding(IssueFrame, at, op, msg)
	}
}

func (m *machine) readLine(at int64, op Op) ([]byte, bool, error) {
	line, opaque, err := m.in.readLine(m.lim.MaxString)
	if err != nil {
		return nil, false, m.ioErr(err, at, op)
	}
	return line, opaque, nil
}

func (m *machine) readFixed(at int64, op Op, n int) ([]byte, error) {
	b, err := m.in.readFixed(n)
	if err != nil {
		return nil, m.ioErr(err, at, op)
	}
	return b, nil
}

// readLen reads a little-endian length of n bytes.
func (m *machine) readLen(at int64, op Op, n int, signed bool) (int64, error) {
	b, err := m.readFixed(at, op, n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return int64(b[0]), nil
	case 4:
		if signed {
			l := int64(int32(binary.LittleEndian.Uint32(b)))
			if l < 0 {
				return 0, m.syntax(at, op, "negative length")
			}
			return l, nil
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	default:
		u := binary.LittleEndian.Uint64(b)
		if u > math.MaxInt64 {
			return 0, m.syntax(at, op, "length exceeds the maximum size")
		}
		return int64(u), nil
	}
}

func (m *machine) readData(at int64, op Op, n int64) ([]byte, bool, error) {
	data, opaque, err := m.in.readBytes(n, m.lim.MaxString)
	if err != nil {
		return nil, false, m.ioErr(err, at, op)
	}
	return data, opaque, nil
}

// step executes one opcode. It returns done at STOP, with the pickle's
// result.
func (m *machine) step(op Op, at int64) (done bool, result *value, err error) {
	switch op {
	case OpProto:
		b, err := m.readFixed(at, op, 1)
		if err != nil {
			return false, nil, err
		}
		if b[0] > 5 {
			return false, nil, m.syntax(at, op, "unsupported protocol %d", b[0])
		}
		if m.f.ops > 1 {
			m.finding(IssueProto, at, op, "PROTO is not the first opcode of its pickle")
		}
		m.f.proto = max(m.f.proto, int(b[0]))
		m.res.Protocol = max(m.res.Protocol, int(b[0]))
		return false, nil, nil

	case OpFrame:
		n, err := m.readLen(at, op, 8, false)
		if err != nil {
			return false, nil, err
		}
		if rem := m.in.remaining(); rem >= 0 && n > rem {
			return false, nil, m.syntax(at, op, "frame runs past the end of the stream")
		}
		if m.f.frameEnd > at {
			m.frameViolation(at, op, "FRAME before the end of the current frame")
		}
		if n > 0 {
			m.f.frameEnd = m.in.off + n
		} else {
			m.f.frameEnd = -1
		}
		return false, nil, nil

	case OpStop:
		v, err := m.pop(at, op)
		if err != nil {
			return false, nil, err
		}
		return true, v, nil

	// ---- constants ----
	case OpNone:
		return false, nil, m.push(valNone)
	case OpNewTrue:
		return false, nil, m.push(valTrue)
	case OpNewFalse:
		return false, nil, m.push(valFalse)

	case OpInt:
		line, opaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		switch {
		case !opaque && string(line) == "00":
			return false, nil, m.push(valFalse)
		case !opaque && string(line) == "01":
			return false, nil, m.push(valTrue)
		}
		return false, nil, m.push(m.textInt(line, opaque))
	case OpLong:
		line, opaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		if n := len(line); n > 0 && line[n-1] == 'L' {
			line = line[:n-1]
		}
		return false, nil, m.push(m.textInt(line, opaque))
	case OpBinInt:
		b, err := m.readFixed(at, op, 4)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.push(newInt(int64(int32(binary.LittleEndian.Uint32(b)))))
	case OpBinInt1:
		b, err := m.readFixed(at, op, 1)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.push(newInt(int64(b[0])))
	case OpBinInt2:
		b, err := m.readFixed(at, op, 2)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.push(newInt(int64(binary.LittleEndian.Uint16(b))))
	case OpLong1, OpLong4:
		w := 1
		if op == OpLong4 {
			w = 4
		}
		n, err := m.readLen(at, op, w, true)
		if err != nil {
			return false, nil, err
		}
		data, opaque, err := m.readData(at, op, n)
		if err != nil {
			return false, nil, err
		}
		if opaque {
			return false, nil, m.push(&value{kind: KindInt, opaque: true})
		}
		return false, nil, m.push(intFromLE(data))
	case OpFloat:
		if _, _, err := m.readLine(at, op); err != nil {
			return false, nil, err
		}
		return false, nil, m.push(&value{kind: KindFloat})
	case OpBinFloat:
		if _, err := m.readFixed(at, op, 8); err != nil {
			return false, nil, err
		}
		return false, nil, m.push(&value{kind: KindFloat})

	// ---- strings ----
	case OpString:
		line, opaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		if opaque {
			return false, nil, m.push(&value{kind: KindStr, opaque: true})
		}
		if len(line) < 2 || line[0] != line[len(line)-1] || line[0] != '\'' && line[0] != '"' {
			return false, nil, m.syntax(at, op, "STRING argument is not quoted")
		}
		return false, nil, m.push(newStr(escapeDecode(line[1:len(line)-1]), false))
	case OpUnicode:
		line, opaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		if opaque {
			return false, nil, m.push(&value{kind: KindStr, opaque: true})
		}
		return false, nil, m.push(&value{kind: KindStr, s: rawUnicodeEscapeDecode(line)})
	case OpBinString, OpShortBinString, OpBinUnicode, OpShortBinUni, OpBinUnicode8,
		OpBinBytes, OpShortBinBytes, OpBinBytes8, OpByteArray8:
		var w int
		signed := false
		kind := KindStr
		switch op {
		case OpShortBinString, OpShortBinUni, OpShortBinBytes:
			w = 1
		case OpBinString:
			w, signed = 4, true
		case OpBinUnicode, OpBinBytes:
			w = 4
		default:
			w = 8
		}
		switch op {
		case OpBinBytes, OpShortBinBytes, OpBinBytes8:
			kind = KindBytes
		case OpByteArray8:
			kind = KindByteArray
		}
		n, err := m.readLen(at, op, w, signed)
		if err != nil {
			return false, nil, err
		}
		data, opaque, err := m.readData(at, op, n)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.push(&value{kind: kind, s: string(data), opaque: opaque})

	// ---- containers ----
	case OpEmptyTuple:
		return false, nil, m.push(&value{kind: KindTuple})
	case OpEmptyList:
		return false, nil, m.push(&value{kind: KindList})
	case OpEmptyDict:
		return false, nil, m.push(&value{kind: KindDict})
	case OpEmptySet:
		return false, nil, m.push(&value{kind: KindSet})
	case OpTuple, OpList, OpFrozenSet:
		items, err := m.popMark(at, op)
		if err != nil {
			return false, nil, err
		}
		kind := KindTuple
		if op == OpList {
			kind = KindList
		} else if op == OpFrozenSet {
			kind = KindFrozenSet
		}
		return false, nil, m.push(&value{kind: kind, items: items})
	case OpDict:
		items, err := m.popMark(at, op)
		if err != nil {
			return false, nil, err
		}
		if len(items)%2 != 0 {
			return false, nil, m.syntax(at, op, "odd number of items for DICT")
		}
		return false, nil, m.push(&value{kind: KindDict, items: items})
	case OpTuple1, OpTuple2, OpTuple3:
		n := int(op-OpTuple1) + 1
		if len(m.f.stack)-m.base() < n {
			return false, nil, m.syntax(at, op, "stack underflow")
		}
		items := make([]*value, n)
		copy(items, m.f.stack[len(m.f.stack)-n:])
		m.f.stack = m.f.stack[:len(m.f.stack)-n]
		return false, nil, m.push(&value{kind: KindTuple, items: items})

	case OpAppend:
		v, err := m.pop(at, op)
		if err != nil {
			return false, nil, err
		}
		t, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		m.mutate(op, at, t, v)
		return false, nil, nil
	case OpAppends, OpAddItems:
		items, err := m.popMark(at, op)
		if err != nil {
			return false, nil, err
		}
		t, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		m.mutate(op, at, t, items...)
		return false, nil, nil
	case OpSetItem:
		kv, err := m.popN(at, op, 2)
		if err != nil {
			return false, nil, err
		}
		k, v := kv[0], kv[1]
		t, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		m.mutate(op, at, t, k, v)
		return false, nil, nil
	case OpSetItems:
		items, err := m.popMark(at, op)
		if err != nil {
			return false, nil, err
		}
		t, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		if len(items)%2 != 0 {
			m.mutate(op, at, t, items[:len(items)-1]...)
			return false, nil, m.syntax(at, op, "odd number of items for SETITEMS")
		}
		m.mutate(op, at, t, items...)
		return false, nil, nil

	// ---- stack manipulation ----
	case OpMark:
		if len(m.f.marks) >= m.lim.MaxStack {
			return false, nil, &LimitError{Limit: "marks", Offset: at}
		}
		m.f.marks = append(m.f.marks, len(m.f.stack))
		return false, nil, nil
	case OpPop:
		if len(m.f.stack) > m.base() {
			_, err := m.pop(at, op)
			return false, nil, err
		}
		_, err := m.popMark(at, op)
		return false, nil, err
	case OpPopMark:
		_, err := m.popMark(at, op)
		return false, nil, err
	case OpDup:
		v, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.push(v)

	// ---- memo ----
	case OpGet, OpBinGet, OpLongBinGet:
		idx, err := m.memoIndex(op, at)
		if err != nil {
			return false, nil, err
		}
		v, ok := m.f.memo.get(idx)
		if !ok {
			return false, nil, m.syntax(at, op, "memo key %d not found", idx)
		}
		m.gets++
		return false, nil, m.push(v)
	case OpPut, OpBinPut, OpLongBinPut, OpMemoize:
		var idx int64
		if op == OpMemoize {
			idx = int64(m.f.memo.len())
		} else {
			idx, err = m.memoIndex(op, at)
			if err != nil {
				return false, nil, err
			}
		}
		v, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		old, exists := m.f.memo.get(idx)
		if !exists && m.f.memo.len() >= m.lim.MaxMemo {
			return false, nil, &LimitError{Limit: "memo", Offset: at}
		}
		if exists && old != v {
			m.finding(IssueMemoOverwrite, at, op, fmt.Sprintf("memo key %d overwritten", idx))
		}
		m.f.memo.set(idx, v)
		m.puts++
		return false, nil, nil

	// ---- imports ----
	case OpGlobal, OpInst:
		mod, modOpaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		name, nameOpaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		modOK := !modOpaque && utf8.Valid(mod)
		nameOK := !nameOpaque && utf8.Valid(name)
		if !modOK || !nameOK {
			m.finding(IssueBadName, at, op, "global name is not valid UTF-8 text or is too long")
		}
		g := m.addImport(op, at, string(mod), string(name), modOK, nameOK, 0)
		if op == OpGlobal {
			return false, nil, m.push(g)
		}
		args, err := m.popMark(at, op)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.push(m.call(op, at, g, &value{kind: KindTuple, items: args}))
	case OpStackGlobal:
		mn, err := m.popN(at, op, 2)
		if err != nil {
			return false, nil, err
		}
		mod, name := mn[0], mn[1]
		ms, modOK := mod.constStr()
		ns, nameOK := name.constStr()
		for _, v := range []*value{mod, name} {
			switch v.kind {
			case KindStr, KindGlobal, KindObject:
			default:
				return false, nil, m.syntax(at, op, "STACK_GLOBAL operand is a %v, not a str", v.kind)
			}
		}
		if !modOK || !nameOK {
			m.finding(IssueDynamicGlobal, at, op, fmt.Sprintf("STACK_GLOBAL operands are a %s and a %s, not both constant strings",
				describe(mod), describe(name)))
		}
		return false, nil, m.push(m.addImport(op, at, ms, ns, modOK, nameOK, 0))
	case OpExt1, OpExt2, OpExt4:
		var code int64
		switch op {
		case OpExt1:
			b, err := m.readFixed(at, op, 1)
			if err != nil {
				return false, nil, err
			}
			code = int64(b[0])
		case OpExt2:
			b, err := m.readFixed(at, op, 2)
			if err != nil {
				return false, nil, err
			}
			code = int64(binary.LittleEndian.Uint16(b))
		default:
			b, err := m.readFixed(at, op, 4)
			if err != nil {
				return false, nil, err
			}
			code = int64(int32(binary.LittleEndian.Uint32(b)))
		}
		m.finding(IssueExtension, at, op, fmt.Sprintf("copyreg extension code %d", code))
		ext := code
		if ext == 0 {
			ext = math.MinInt64 // keep "is an extension" distinguishable from 0
		}
		return false, nil, m.push(m.addImport(op, at, "", "", false, false, ext))

	// ---- calls ----
	case OpReduce:
		args, err := m.pop(at, op)
		if err != nil {
			return false, nil, err
		}
		fn, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		m.setTop(m.call(op, at, fn, args))
		return false, nil, nil
	case OpNewObj:
		ca, err := m.popN(at, op, 2)
		if err != nil {
			return false, nil, err
		}
		cls, args := ca[0], ca[1]
		return false, nil, m.push(m.call(op, at, cls, args))
	case OpNewObjEx:
		cak, err := m.popN(at, op, 3)
		if err != nil {
			return false, nil, err
		}
		cls, args, kwargs := cak[0], cak[1], cak[2]
		m.action(op, at, kwargs)
		return false, nil, m.push(m.call(op, at, cls, args))
	case OpObj:
		items, err := m.popMark(at, op)
		if err != nil {
			return false, nil, err
		}
		if len(items) == 0 {
			return false, nil, m.syntax(at, op, "OBJ without a class")
		}
		return false, nil, m.push(m.call(op, at, items[0], &value{kind: KindTuple, items: items[1:]}))
	case OpBuild:
		state, err := m.pop(at, op)
		if err != nil {
			return false, nil, err
		}
		inst, err := m.top(at, op)
		if err != nil {
			return false, nil, err
		}
		return false, nil, m.build(at, inst, state)

	// ---- persistent ids ----
	case OpPersID:
		line, opaque, err := m.readLine(at, op)
		if err != nil {
			return false, nil, err
		}
		pid := &value{kind: KindStr, s: string(line), opaque: opaque}
		m.persistent(op, at, pid)
		return false, nil, m.push(&value{kind: KindObject, imp: -1, obj: &object{by: op, cls: -1, args: pid}})
	case OpBinPersID:
		pid, err := m.pop(at, op)
		if err != nil {
			return false, nil, err
		}
		m.persistent(op, at, pid)
		return false, nil, m.push(&value{kind: KindObject, imp: -1, obj: &object{by: op, cls: -1, args: pid}})

	// ---- out-of-band buffers ----
	case OpNextBuffer:
		m.finding(IssueOutOfBand, at, op, "the stream refers to out-of-band buffers")
		return false, nil, m.push(&value{kind: KindBuffer})
	case OpReadOnlyBuffer:
		_, err := m.top(at, op)
		return false, nil, err
	}
	return false, nil, m.syntax(at, op, "unknown opcode")
}

func (m *machine) textInt(line []byte, opaque bool) *value {
	if opaque {
		return &value{kind: KindInt, opaque: true}
	}
	if v, ok := parseTextInt(line); ok {
		return v
	}
	// int(text, 0) might accept a form we do not parse; carry on with an
	// unknown int rather than stopping where Python would not.
	return &value{kind: KindInt, opaque: true}
}

// memoIndex reads the index argument of a GET or PUT opcode.
func (m *machine) memoIndex(op Op, at int64) (int64, error) {
	switch op {
	case OpBinGet, OpBinPut:
		b, err := m.readFixed(at, op, 1)
		if err != nil {
			return 0, err
		}
		return int64(b[0]), nil
	case OpLongBinGet, OpLongBinPut:
		b, err := m.readFixed(at, op, 4)
		if err != nil {
			return 0, err
		}
		return int64(binary.LittleEndian.Uint32(b)), nil
	}
	line, opaque, err := m.readLine(at, op)
	if err != nil {
		return 0, err
	}
	v, ok := parseTextInt(line)
	if opaque || !ok || v.opaque || v.s != "" {
		return 0, m.syntax(at, op, "memo index is not an int")
	}
	if v.i < 0 {
		return 0, m.syntax(at, op, "negative memo index")
	}
	return v.i, nil
}

// mutate records APPEND(S), SETITEM(S) and ADDITEMS on t and applies them to
// emulated containers.
func (m *machine) mutate(op Op, at int64, t *value, items ...*value) {
	m.action(op, at, t)
	switch t.kind {
	case KindList, KindDict, KindSet:
		t.items = append(t.items, items...)
	case KindGlobal:
		m.use(t, UseMutate)
	case KindObject:
		m.use(t, UseMutateInstance)
	}
}

// build records BUILD of inst with state.
func (m *machine) build(at int64, inst, state *value) error {
	m.action(OpBuild, at, inst)
	switch inst.kind {
	case KindGlobal:
		m.use(inst, UseBuild)
		im := m.res.Imports[inst.imp]
		m.finding(IssueBuildGlobal, at, OpBuild, "BUILD sets state on the imported object "+im.String())
		return nil
	case KindObject:
		m.use(inst, UseBuildInstance)
		inst.obj.state = state
	default:
		return nil
	}
	if !m.joblibOK || inst.obj.cls < 0 || !m.isArrayWrapper(inst.obj.cls) {
		return nil
	}
	return m.joblibArray(at, inst, state)
}

func (m *machine) persistent(op Op, at int64, pid *value) {
	m.action(op, at, pid)
	p := PersistentID{Op: op, Offset: at, Kind: pid.kind, Storage: -1}
	switch pid.kind {
	case KindStr:
		p.Tag = pid.s
	case KindTuple:
		p.Len = len(pid.items)
		if p.Len > 0 {
			p.Tag, _ = pid.items[0].constText()
		}
		if p.Len > 1 && pid.items[1].kind == KindGlobal {
			p.Storage = int(pid.items[1].imp)
		}
		if p.Len > 2 {
			p.Key, _ = pid.items[2].constText()
		}
	}
	m.res.Persistent = append(m.res.Persistent, p)
}

// describe names a value for findings.
func describe(v *value) string {
	switch v.kind {
	case KindStr:
		if v.opaque {
			return "string too long to keep"
		}
		return fmt.Sprintf("str %q", v.s)
	case KindObject:
		return "computed value (" + v.obj.by.String() + ")"
	}
	return v.kind.String()
}

// memo is the unpickler's memo: a dense slice for the small consecutive
// indices picklers write, a map for anything else, so that a hostile index
// cannot make it allocate.
type memo struct {
	dense  []*value
	sparse map[int64]*value
	n      int
}

func (mm *memo) len() int { return mm.n }

func (mm *memo) get(i int64) (*value, bool) {
	if i >= 0 && i < int64(len(mm.dense)) {
		v := mm.dense[i]
		return v, v != nil
	}
	v, ok := mm.sparse[i]
	return v, ok
}

func (mm *memo) set(i int64, v *value) {
	if i >= 0 && i < int64(len(mm.dense)) {
		if mm.dense[i] == nil {
			mm.n++
		}
		mm.dense[i] = v
		return
	}
	if i == int64(len(mm.dense)) && mm.sparse[i] == nil {
		mm.dense = append(mm.dense, v)
		mm.n++
		return
	}
	if mm.sparse == nil {
		mm.sparse = make(map[int64]*value)
	}
	if _, ok := mm.sparse[i]; !ok {
		mm.n++
	}
	mm.sparse[i] = v
}
