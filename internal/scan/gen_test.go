package scan

// Generators for the test corpus: PyTorch zips and legacy files, joblib
// dumps, .npy files, written byte by byte so that tests need neither
// Python nor downloads, and so that hostile variants can bend every field.

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"strings"

	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

// ---- zip ----

// zipEntry describes one member of a generated zip.
type testEntry struct {
	name      string
	localName string // "" = name
	data      []byte
	sparse    int64 // if > 0, data is this many zero bytes left as a hole
	deflate   bool
	flags     uint16
	badCRC    bool
	method    uint16 // overrides the method written in both headers when non-zero
}

type memWS struct {
	buf []byte
	off int64
}

func (m *memWS) Write(p []byte) (int, error) {
	if need := m.off + int64(len(p)); need > int64(len(m.buf)) {
		m.buf = append(m.buf, make([]byte, need-int64(len(m.buf)))...)
	}
	copy(m.buf[m.off:], p)
	m.off += int64(len(p))
	return len(p), nil
}

func (m *memWS) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = off
	case io.SeekCurrent:
		m.off += off
	case io.SeekEnd:
		m.off = int64(len(m.buf)) + off
	}
	return m.off, nil
}

type centralRec struct {
	e                  testEntry
	crc                uint32
	csize, usize, lhOf uint64
}

// zipWriter writes zips with full control over the headers. Members whose
// size or offset does not fit in 32 bits get zip64 extra fields.
type zipWriter struct {
	w       io.WriteSeeker
	off     int64
	central []centralRec
	// comment is appended to the end record.
	comment []byte
}

func (z *zipWriter) write(p []byte) {
	n, err := z.w.Write(p)
	if err != nil {
		panic(err)
	}
	z.off += int64(n)
}

func (z *zipWriter) add(e testEntry) {
	data := e.data
	usize := uint64(len(data))
	crc := crc32.ChecksumIEEE(data)
	method := uint16(0)
	if e.deflate {
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.BestCompression)
		fw.Write(data)
		fw.Close()
		data = b.Bytes()
		method = 8
	}
	if e.sparse > 0 {
		usize = uint64(e.sparse)
		crc = 0 // not computed for holes; nothing checks it
	}
	if e.method != 0 {
		method = e.method
	}
	csize := uint64(len(data))
	if e.sparse > 0 {
		csize = usize
	}
	if e.badCRC {
		crc ^= 0xdeadbeef
	}
	lname := e.localName
	if lname == "" {
		lname = e.name
	}
	big := csize >= 0xffffffff || usize >= 0xffffffff
	var extra []byte
	if big {
		extra = binary.LittleEndian.AppendUint16(extra, 1)
		extra = binary.LittleEndian.AppendUint16(extra, 16)
		extra = binary.LittleEndian.AppendUint64(extra, usize)
		extra = binary.LittleEndian.AppendUint64(extra, csize)
	}
	lh := make([]byte, 30)
	binary.LittleEndian.PutUint32(lh, sigLocal)
	binary.LittleEndian.PutUint16(lh[4:], 20)
	binary.LittleEndian.PutUint16(lh[6:], e.flags)
	binary.LittleEndian.PutUint16(lh[8:], method)
	binary.LittleEndian.PutUint32(lh[14:], crc)
	binary.LittleEndian.PutUint32(lh[18:], clamp32(csize, big))
	binary.LittleEndian.PutUint32(lh[22:], clamp32(usize, big))
	binary.LittleEndian.PutUint16(lh[26:], uint16(len(lname)))
	binary.LittleEndian.PutUint16(lh[28:], uint16(len(extra)))
	z.central = append(z.central, centralRec{e: e, crc: crc, csize: csize, usize: usize, lhOf: uint64(z.off)})
	z.central[len(z.central)-1].e.method = method
	z.write(lh)
	z.write([]byte(lname))
	z.write(extra)
	if e.sparse > 0 {
		if _, err := z.w.Seek(e.sparse, io.SeekCurrent); err != nil {
			panic(err)
		}
		z.off += e.sparse
		return
	}
	z.write(data)
}

func clamp32(v uint64, big bool) uint32 {
	if big {
		return 0xffffffff
	}
	return uint32(v)
}

func (z *zipWriter) close() {
	cdStart := z.off
	for _, c := range z.central {
		big := c.csize >= 0xffffffff || c.usize >= 0xffffffff || c.lhOf >= 0xffffffff
		var extra []byte
		if big {
			extra = binary.LittleEndian.AppendUint16(extra, 1)
			extra = binary.LittleEndian.AppendUint16(extra, 24)
			extra = binary.LittleEndian.AppendUint64(extra, c.usize)
			extra = binary.LittleEndian.AppendUint64(extra, c.csize)
			extra = binary.LittleEndian.AppendUint64(extra, c.lhOf)
		}
		h := make([]byte, 46)
		binary.LittleEndian.PutUint32(h, sigCentral)
		binary.LittleEndian.PutUint16(h[4:], 20)
		binary.LittleEndian.PutUint16(h[6:], 20)
		binary.LittleEndian.PutUint16(h[8:], c.e.flags)
		binary.LittleEndian.PutUint16(h[10:], c.e.method)
		binary.LittleEndian.PutUint32(h[16:], c.crc)
		binary.LittleEndian.PutUint32(h[20:], clamp32(c.csize, big))
		binary.LittleEndian.PutUint32(h[24:], clamp32(c.usize, big))
		binary.LittleEndian.PutUint16(h[28:], uint16(len(c.e.name)))
		binary.LittleEndian.PutUint16(h[30:], uint16(len(extra)))
		binary.LittleEndian.PutUint32(h[42:], clamp32(c.lhOf, big))
		z.write(h)
		z.write([]byte(c.e.name))
		z.write(extra)
	}
	cdSize := z.off - cdStart
	if cdStart >= 0xffffffff {
		rec := make([]byte, 56)
		binary.LittleEndian.PutUint32(rec, sigEnd64)
		binary.LittleEndian.PutUint64(rec[4:], 44)
		binary.LittleEndian.PutUint64(rec[24:], uint64(len(z.central)))
		binary.LittleEndian.PutUint64(rec[32:], uint64(len(z.central)))
		binary.LittleEndian.PutUint64(rec[40:], uint64(cdSize))
		binary.LittleEndian.PutUint64(rec[48:], uint64(cdStart))
		at := z.off
		z.write(rec)
		loc := make([]byte, 20)
		binary.LittleEndian.PutUint32(loc, sigEnd64Locat)
		binary.LittleEndian.PutUint64(loc[8:], uint64(at))
		binary.LittleEndian.PutUint32(loc[16:], 1)
		z.write(loc)
	}
	end := make([]byte, 22)
	binary.LittleEndian.PutUint32(end, sigEnd)
	binary.LittleEndian.PutUint16(end[8:], uint16(len(z.central)))
	binary.LittleEndian.PutUint16(end[10:], uint16(len(z.central)))
	binary.LittleEndian.PutUint32(end[12:], uint32(cdSize))
	binary.LittleEndian.PutUint32(end[16:], clamp32(uint64(cdStart), cdStart >= 0xffffffff))
	binary.LittleEndian.PutUint16(end[20:], uint16(len(z.comment)))
	z.write(end)
	z.write(z.comment)
}

func makeZip(entries ...testEntry) []byte {
	m := &memWS{}
	z := &zipWriter{w: m}
	for _, e := range entries {
		z.add(e)
	}
	z.close()
	return m.buf
}

// ---- PyTorch ----

type tensor struct {
	name    string
	key     string
	numel   int
	storage string // torch.<storage> class, default FloatStorage
}

// torchStateDict writes what torch.save(state_dict) pickles (protocol 2):
// an OrderedDict of tensors rebuilt by _rebuild_tensor_v2 from storages
// loaded through BINPERSID ('storage', type, key, location, numel), with
// the _metadata attribute set by BUILD.
func torchStateDict(tensors []tensor, rebuild string) []byte {
	if rebuild == "" {
		rebuild = "_rebuild_tensor_v2"
	}
	b := pickletest.New().Proto(2).Global("collections", "OrderedDict").Put(0).Op(pickle.OpEmptyTuple, pickle.OpReduce).Put(1)
	memo := 2
	b.Op(pickle.OpMark)
	rebuildMemo := -1
	for _, t := range tensors {
		st := t.storage
		if st == "" {
			st = "FloatStorage"
		}
		b.Unicode(t.name).Put(memo)
		memo++
		if rebuildMemo < 0 {
			b.Global("torch._utils", rebuild).Put(memo)
			rebuildMemo = memo
			memo++
		} else {
			b.Get(rebuildMemo)
		}
		b.Op(pickle.OpMark)
		b.Op(pickle.OpMark).Unicode("storage").Global("torch", st).Unicode(t.key).Unicode("cpu").Int(int64(t.numel)).Op(pickle.OpTuple).Put(memo).Op(pickle.OpBinPersID)
		memo++
		b.Int(0).Int(int64(t.numel)).Op(pickle.OpTuple1).Int(1).Op(pickle.OpTuple1, pickle.OpNewFalse)
		b.Get(0).Op(pickle.OpEmptyTuple, pickle.OpReduce).Put(memo)
		memo++
		b.Op(pickle.OpTuple, pickle.OpReduce).Put(memo)
		memo++
	}
	b.Op(pickle.OpSetItems)
	// state_dict._metadata = OrderedDict([('', {'version': 1})])
	b.Op(pickle.OpEmptyDict).Unicode("_metadata").Get(0).Op(pickle.OpEmptyTuple, pickle.OpReduce)
	b.Unicode("").Op(pickle.OpEmptyDict).Unicode("version").Int(1).Op(pickle.OpSetItem, pickle.OpSetItem)
	b.Op(pickle.OpSetItem, pickle.OpBuild, pickle.OpStop)
	return b.Bytes()
}

// torchZip writes a PyTorch ≥ 1.6 archive around a data.pkl.
func torchZip(dataPkl []byte, tensors []tensor, extra ...testEntry) []byte {
	entries := []testEntry{{name: "archive/data.pkl", data: dataPkl}}
	for _, t := range tensors {
		entries = append(entries, testEntry{name: "archive/data/" + t.key, data: floats(t.numel)})
	}
	entries = append(entries,
		testEntry{name: "archive/version", data: []byte("3\n")},
		testEntry{name: "archive/byteorder", data: []byte("little")},
		testEntry{name: "archive/.data/serialization_id", data: []byte("1234567890123456789012345678901234567890")})
	return makeZip(append(entries, extra...)...)
}

// floats returns n float32 values of plausible weights.
func floats(n int) []byte {
	out := make([]byte, 0, 4*n)
	for i := range n {
		out = binary.LittleEndian.AppendUint32(out, 0x3c000000+uint32(i*7919)%0x02000000)
	}
	return out
}

var torchMagic = func() []byte {
	n, _ := new(big.Int).SetString(pickle.TorchMagic, 10)
	return pickletest.New().Proto(2).Long1(n).Stop().Bytes()
}()

// torchLegacy writes a pre-1.6 torch.save file: magic number, protocol
// version, sys_info, the object, the storage keys, then each storage as an
// int64 element count and raw elements.
func torchLegacy(obj []byte, tensors []tensor) []byte {
	var out []byte
	out = append(out, torchMagic...)
	out = append(out, pickletest.New().Proto(2).Int(1001).Stop().Bytes()...)
	si := pickletest.New().Proto(2).Op(pickle.OpEmptyDict, pickle.OpMark).Unicode("protocol_version").Int(1001).
		Unicode("little_endian").Op(pickle.OpNewTrue).Unicode("type_sizes").Op(pickle.OpEmptyDict, pickle.OpMark).
		Unicode("short").Int(2).Unicode("int").Int(4).Unicode("long").Int(4).Op(pickle.OpSetItems, pickle.OpSetItems, pickle.OpStop)
	out = append(out, si.Bytes()...)
	out = append(out, obj...)
	keys := pickletest.New().Proto(2).Op(pickle.OpEmptyList, pickle.OpMark)
	for _, t := range tensors {
		keys.Unicode(t.key)
	}
	out = append(out, keys.Op(pickle.OpAppends, pickle.OpStop).Bytes()...)
	for _, t := range tensors {
		out = binary.LittleEndian.AppendUint64(out, uint64(t.numel))
		out = append(out, floats(t.numel)...)
	}
	return out
}

// ---- numpy ----

// npy writes a version 1.0 .npy file.
func npy(descr string, shape string, data []byte) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	total := 10 + len(h) + 1
	h += strings.Repeat(" ", (64-total%64)%64) + "\n"
	out := []byte("\x93NUMPY\x01\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	out = append(out, h...)
	return append(out, data...)
}

// objectArrayPickle writes what numpy pickles for an object array (protocol
// 3): _reconstruct, then BUILD with (version, shape, dtype, fortran, items).
// items appends the pickled elements to the list.
func objectArrayPickle(n int, items func(b *pickletest.Builder)) []byte {
	b := pickletest.New().Proto(3).Global("numpy.core.multiarray", "_reconstruct").Put(0).Global("numpy", "ndarray").Put(1)
	b.Int(0).Op(pickle.OpTuple1).BinBytes([]byte("b")).Op(pickle.OpTuple3, pickle.OpReduce).Put(2)
	b.Op(pickle.OpMark).Int(1).Int(int64(n)).Op(pickle.OpTuple1)
	b.Global("numpy", "dtype").Unicode("O8").Op(pickle.OpNewFalse, pickle.OpNewTrue, pickle.OpTuple3, pickle.OpReduce)
	b.Op(pickle.OpMark).Int(3).Unicode("|").Op(pickle.OpNone, pickle.OpNone, pickle.OpNone).Int(-1).Int(-1).Int(63).Op(pickle.OpTuple, pickle.OpBuild)
	b.Op(pickle.OpNewFalse, pickle.OpEmptyList, pickle.OpMark)
	items(b)
	b.Op(pickle.OpAppends, pickle.OpTuple, pickle.OpBuild, pickle.OpStop)
	return b.Bytes()
}

// ---- joblib ----

// joblibDump writes joblib.dump({'w': float64 array, 'i': int32 array,
// 'meta': 'v1'}) with protocol 4 framing, the frame committed before each
// array payload as joblib does. tail, if set, is pickled after the arrays.
func joblibDump(tail func(b *pickletest.Builder)) []byte {
	b := pickletest.New().Proto(4).Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("w")
	b.JoblibArray("<f8", []int64{4, 2}, floats(16))
	b.ShortUnicode("i").JoblibArray("<i4", []int64{3}, floats(3))
	b.ShortUnicode("meta").ShortUnicode("v1")
	if tail != nil {
		tail(b)
	}
	return b.Op(pickle.OpSetItems, pickle.OpStop).Bytes()
}
