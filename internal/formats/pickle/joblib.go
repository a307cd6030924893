package pickle

import (
	"math/bits"
	"strconv"
	"strings"
)

// The classes after whose BUILD joblib's NumpyUnpickler reads raw array
// bytes from the stream (joblib/numpy_pickle.py, NumpyArrayWrapper.
// read_array). Old scikit-learn releases vendored joblib under
// sklearn.externals.
var arrayWrappers = map[qualName]bool{
	{"joblib.numpy_pickle", "NumpyArrayWrapper"}:                   true,
	{"sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"}: true,
}

func (m *machine) isArrayWrapper(i int32) bool {
	im := &m.res.Imports[i]
	return !im.Dynamic && arrayWrappers[qualName{im.Module, im.Name}]
}

// joblibArray follows the array payload joblib reads after the BUILD of a
// NumpyArrayWrapper: an optional padding-length byte and padding, then
// prod(shape)*itemsize raw bytes, or a nested pickle for object arrays.
// The wrapper on the stack is replaced by the array, as joblib does.
func (m *machine) joblibArray(at int64, inst, state *value) error {
	o := inst.obj
	// The wrapper has no __setstate__: BUILD updates __dict__ from a dict
	// state, or from both halves of a (state, slotstate) pair.
	merge := func(d *value) error {
		if d == nil || d.kind != KindDict {
			return nil
		}
		// Looking through the state costs work proportional to its size;
		// charge it to the opcode budget so repeated BUILDs of a large
		// state cannot run unbounded.
		cost := int64(len(d.items) / 2)
		if m.res.Ops+cost > m.lim.MaxOps {
			return &LimitError{Limit: "ops", Offset: at}
		}
		m.res.Ops += cost
		for i := 0; i+1 < len(d.items); i += 2 {
			if k, ok := d.items[i].constStr(); ok && isWrapperAttr(k) {
				o.attrs = append(o.attrs, d.items[i], d.items[i+1])
			}
		}
		return nil
	}
	if state.kind == KindTuple && len(state.items) == 2 {
		if err := merge(state.items[0]); err != nil {
			return err
		}
		if err := merge(state.items[1]); err != nil {
			return err
		}
	} else if err := merge(state); err != nil {
		return err
	}
	attr := func(k string) (*value, bool) {
		var found *value
		for i := 0; i+1 < len(o.attrs); i += 2 {
			if s, _ := o.attrs[i].constStr(); s == k {
				found = o.attrs[i+1]
			}
		}
		return found, found != nil
	}
	unsupported := func(msg string) error {
		return &UnsupportedError{Offset: at, Msg: "joblib array: " + msg}
	}

	if m.f.frameEnd > m.in.off {
		// joblib reads the payload from the file, after the frame the
		// unpickler has already buffered, and then resumes opcodes inside
		// the frame. Writers commit the frame before the payload; a
		// stream that does not is not followed.
		return unsupported("payload inside a frame")
	}
	if m.f.frameEnd == m.in.off {
		m.f.frameEnd = -1 // the frame ends with this BUILD, as joblib writes it
	}
	dt, ok := attr("dtype")
	if !ok {
		return unsupported("wrapper has no dtype")
	}
	itemsize, hasObject, err := m.dtypeInfo(dt)
	if err != "" {
		return unsupported(err)
	}
	start := m.in.off
	result := &value{kind: KindObject, imp: -1, obj: &object{by: OpBuild, cls: -1, array: true}}
	if hasObject {
		// read_array calls pickle.load on the file: a plain nested pickle
		// with a fresh memo, not subject to joblib's array handling.
		saved, savedJoblib := m.f, m.joblibOK
		m.resetFrame()
		m.joblibOK = false
		_, _, err := m.runPickle()
		m.f, m.joblibOK = saved, savedJoblib
		if err == errEmpty {
			return &SyntaxError{Offset: start, Op: OpBuild, Msg: "joblib object array: stream ends before its pickle"}
		}
		if err != nil {
			return err
		}
		m.res.Arrays = append(m.res.Arrays, Array{Offset: start, Object: true})
		m.setTop(result)
		return nil
	}
	shape, ok := attr("shape")
	if !ok || shape.kind != KindTuple && shape.kind != KindList {
		return unsupported("shape is not a constant tuple")
	}
	count := uint64(1)
	for _, d := range shape.items {
		n, ok := d.constInt()
		if !ok || n < 0 {
			return unsupported("shape has a dimension that is not a constant non-negative int")
		}
		hi, lo := bits.Mul64(count, uint64(n))
		if hi != 0 || lo > 1<<62 {
			return unsupported("array size overflows")
		}
		count = lo
	}
	hi, size := bits.Mul64(count, uint64(itemsize))
	if hi != 0 || size > 1<<62 {
		return unsupported("array size overflows")
	}
	total := int64(size)
	if al, ok := attr("numpy_array_alignment_bytes"); ok && al.kind != KindNone {
		b, err := m.in.readFixed(1)
		if err != nil {
			return m.ioErr(err, at, OpBuild)
		}
		m.in.exempt++
		m.res.Skipped++
		pad := int64(b[0])
		total += 1 + pad
		if err := m.skipPayload(pad, at); err != nil {
			return err
		}
	}
	if err := m.skipPayload(int64(size), at); err != nil {
		return err
	}
	m.res.Arrays = append(m.res.Arrays, Array{Offset: start, Size: total})
	m.setTop(result)
	return nil
}

func isWrapperAttr(k string) bool {
	switch k {
	case "subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes":
		return true
	}
	return false
}

// skipPayload skips n array bytes, which do not count against the byte
// budget.
func (m *machine) skipPayload(n, at int64) error {
	if rem := m.in.remaining(); rem >= 0 && n > rem {
		return &SyntaxError{Offset: at, Op: OpBuild, Msg: "joblib array payload runs past the end of the stream"}
	}
	before := m.in.off
	err := m.in.skip(n)
	m.in.exempt += m.in.off - before
	m.res.Skipped += m.in.off - before
	if err != nil {
		return m.ioErr(err, at, OpBuild)
	}
	return nil
}

// dtypeInfo returns the item size of a numpy dtype built by
// numpy.dtype(descr, align, copy) and its BUILD state, and whether it
// holds Python objects. A non-empty string explains why it cannot.
func (m *machine) dtypeInfo(dt *value) (itemsize int64, hasObject bool, why string) {
	if dt.kind != KindObject || dt.obj.by != OpReduce || !m.importIs(dt.imp, "numpy", "dtype") {
		return 0, false, "dtype is not a numpy.dtype(...) call"
	}
	args := dt.obj.args
	if args == nil || args.kind != KindTuple || len(args.items) == 0 {
		return 0, false, "numpy.dtype called without a descriptor"
	}
	descr, ok := args.items[0].constStr()
	if !ok {
		return 0, false, "dtype descriptor is not a constant string"
	}
	var elsize, flags int64 = -1, 0
	if st := dt.obj.state; st != nil && st.kind == KindTuple {
		if len(st.items) > 5 {
			if n, ok := st.items[5].constInt(); ok {
				elsize = n
			}
		}
		if len(st.items) > 7 {
			if n, ok := st.items[7].constInt(); ok {
				flags = n
			}
		}
	}
	d := strings.TrimLeft(descr, "<>|=!")
	if d == "" {
		return 0, false, "empty dtype descriptor"
	}
	kind, digits := d[0], d[1:]
	hasObject = kind == 'O' || flags&1 != 0
	if hasObject {
		return 8, true, ""
	}
	if elsize > 0 {
		return elsize, false, ""
	}
	if kind == '?' && digits == "" {
		return 1, false, ""
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, false, "unrecognised dtype descriptor " + strconv.Quote(descr)
	}
	switch kind {
	case 'U':
		return 4 * n, false, ""
	case 'b', 'i', 'u', 'f', 'c', 'm', 'M', 'S', 'a', 'V':
		return n, false, ""
	}
	return 0, false, "unrecognised dtype descriptor " + strconv.Quote(descr)
}
