package scan

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	ggufmt "github.com/agorahub/agora/internal/formats/gguf"
	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

func scanBytes(t testing.TB, name string, p []byte, lim Limits) Result {
	t.Helper()
	return ScanFile(t.Context(), bytes.NewReader(p), int64(len(p)), name, lim)
}

func gz(p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func zl(p []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

// bz2OsSystem is osSystem compressed by bzip2 (bz2.compress in Python):
// the standard library reads bzip2 but cannot write it.
var bz2OsSystem, _ = hex.DecodeString("425a68393141592653591f2f22a5000004d380001000c118000e228c2020002221a1b44f298a600028bc8e0424b8257e99358bb9229c28480f97915280")

var (
	osSystem  = pickletest.Reduce0("os", "system", "id")
	benignPkl = pickletest.New().Proto(2).Op(pickle.OpEmptyDict).Unicode("a").Int(1).Op(pickle.OpSetItem, pickle.OpStop).Bytes()
	sd        = []tensor{{name: "layer.weight", key: "0", numel: 64}, {name: "layer.bias", key: "1", numel: 8}}
)

// evilTail pickles a call to os.system as a dict value, for use inside
// another pickle before its SETITEMS.
func evilTail(b *pickletest.Builder) {
	b.ShortUnicode("x").Call("os", "system", "id")
}

type corpusCase struct {
	name string
	data []byte
	lim  Limits
	// for the hostile corpus: the status the scan must end in (default:
	// scanned) and whether the verdict must be dangerous (default) or
	// only not safe.
	status     Status
	notSafeYet bool
	// for the benign corpus
	weightsOnly bool
	kind        Kind
	noPickle    bool
}

func hostileCorpus() []corpusCase {
	b := pickletest.New
	dataPkl := torchStateDict(sd, "")

	// An innocuous-looking data.pkl whose last value is a call to os.system.
	dataPklEvil := func() []byte {
		p := torchStateDict(sd, "")
		// Replace STOP by: POP, os.system('id'), STOP.
		return slices.Concat(p[:len(p)-1], []byte("0"), osSystem)
	}()

	memoPoison := b().Proto(4).
		// modelscan #85: BUILD writes "os"/"system" as attributes of
		// numpy.prod, getattr reads them back, STACK_GLOBAL imports them.
		StackGlobal("numpy", "prod").Put(0).Op(pickle.OpNone, pickle.OpEmptyDict).
		ShortUnicode("a").ShortUnicode("os").ShortUnicode("b").ShortUnicode("system").Op(pickle.OpMark).Op(pickle.OpSetItems).
		Op(pickle.OpTuple2, pickle.OpBuild, pickle.OpPop).
		StackGlobal("builtins", "getattr").Put(1).Get(0).ShortUnicode("a").Op(pickle.OpTuple2, pickle.OpReduce).Put(2).Op(pickle.OpPop).
		Get(1).Get(0).ShortUnicode("b").Op(pickle.OpTuple2, pickle.OpReduce).Put(3).Op(pickle.OpPop).
		Get(2).Get(3).Op(pickle.OpStackGlobal).ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()
	// The same trick without getattr or BUILD: the memo holds the real
	// strings but the opcodes around each PUT say otherwise.
	memoShuffle := b().Proto(4).ShortUnicode("os").ShortUnicode("system").Op(pickle.OpTuple2).
		ShortUnicode("decoy").Op(pickle.OpPop).Op(pickle.OpDup).Put(9).Op(pickle.OpPop).Op(pickle.OpPop).
		ShortUnicode("os").Put(5).Op(pickle.OpPop).ShortUnicode("torch").Op(pickle.OpPop).
		ShortUnicode("system").Put(6).ShortUnicode("_rebuild_tensor_v2").Op(pickle.OpPop, pickle.OpPop).
		Get(5).Get(6).Op(pickle.OpStackGlobal).ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()
	dynamic := b().Proto(4).Call("builtins", "str", "os").Call("codecs", "decode", "flfgrz", "rot13").Op(pickle.OpStackGlobal).
		ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()
	// modelscan #330: only allowlisted-looking names, a dunder attribute.
	dunder := b().Proto(2).Global("numpy", "__builtins__").Op(pickle.OpPop).Global("numpy", "size").Op(pickle.OpNone, pickle.OpEmptyDict).
		Unicode("shape").Global("numpy", "__builtins__").Op(pickle.OpSetItem, pickle.OpTuple2, pickle.OpBuild).Op(pickle.OpStop).Bytes()
	importlib := b().Proto(2).Call("importlib", "import_module", "builtins").Op(pickle.OpStop).Bytes()
	nested := func(module, name string) []byte {
		return b().Proto(2).Global(module, name).BinBytes(osSystem).Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()
	}
	ext := b().Proto(2).Raw([]byte{byte(pickle.OpExt2), 0x39, 0x05}).Unicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()
	objPop := b().Op(pickle.OpMark).Global("os", "system").String("id").Op(pickle.OpObj, pickle.OpPop, pickle.OpNone, pickle.OpStop).Bytes()
	inst := b().Op(pickle.OpMark).String("id").Inst("subprocess", "check_output").Op(pickle.OpStop).Bytes()
	newobjEx := b().Proto(4).StackGlobal("subprocess", "Popen").Op(pickle.OpMark).ShortUnicode("id").Op(pickle.OpTuple, pickle.OpEmptyDict, pickle.OpNewObjEx, pickle.OpStop).Bytes()
	dotted := b().Proto(4).StackGlobal("pathlib", "os.system").ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()
	submodule := b().Proto(2).Global("asyncio.unix_events", "_UnixSubprocessTransport._start").Op(pickle.OpStop).Bytes()
	builtinImport := b().Proto(2).Call("builtins", "__import__", "os").Op(pickle.OpStop).Bytes()
	deactivate := b().Proto(2).Call("fickling.hook", "deactivate_safe_ml_environment").Op(pickle.OpStop).Bytes()
	fx := b().Proto(2).Call("torch.fx.graph_module", "reduce_graph_module", "import os").Op(pickle.OpStop).Bytes()

	// Legacy torch: the payload in the second pickle (protocol version),
	// which scanners that read only the first never see.
	legacySecond := slices.Concat(torchMagic, osSystem, torchLegacy(torchStateDict(sd[:1], ""), sd[:1])[len(torchMagic)+len(b().Proto(2).Int(1001).Stop().Bytes()):])
	legacyObj := torchLegacy(slices.Concat(torchStateDict(sd[:1], "")[:len(torchStateDict(sd[:1], ""))-1], []byte("0"), osSystem), sd[:1])

	joblibAfter := joblibDump(evilTail)
	joblibObject := func() []byte {
		p := pickletest.New().Proto(4).Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("o")
		p.JoblibArray("|O", []int64{1}, objectArrayPickle(1, func(b *pickletest.Builder) { b.Call("os", "system", "id") }))
		return p.Op(pickle.OpSetItems, pickle.OpStop).Bytes()
	}()
	joblibPolyglot := func() []byte {
		p := pickletest.New().Proto(4).Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("w").JoblibWrapper("|u1", []int64{32})
		p.Raw([]byte("N")).Raw(bytes.Repeat([]byte("0N"), 39))
		tail := []byte("0cos\nsystem\n(S'id'\ntR0")
		tail = append(tail, bytes.Repeat([]byte("N0"), (32-len(tail))/2)...)
		return p.Raw(tail[:32]).Op(pickle.OpSetItems, pickle.OpStop).Bytes()
	}()

	objNpy := npy("|O", "(1,)", objectArrayPickle(1, func(b *pickletest.Builder) { b.Call("os", "system", "id") }))
	structNpy := func() []byte {
		h := "{'descr': [('a', '<f8'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }"
		h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
		out := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(h)))
		return slices.Concat(out, []byte(h), osSystem)
	}()
	weirdHeaderNpy := func() []byte {
		h := "{'descr': '|' 'O', 'fortran_order': False, 'shape': (1,)}\n"
		out := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(h)))
		return slices.Concat(out, []byte(h), osSystem)
	}()

	zipOf := func(es ...testEntry) []byte { return makeZip(es...) }
	dup := torchZip(dataPkl, sd, testEntry{name: "archive/data.pkl", data: dataPklEvil})
	caseDup := torchZip(dataPkl, sd, testEntry{name: "archive/DATA.PKL", data: dataPklEvil})
	localName := torchZip(dataPkl, sd, testEntry{name: "archive/extra/weights.bin", localName: "archive/harmless.txt", data: osSystem})

	many := b().Proto(2)
	for range 2000 {
		many.Op(pickle.OpNone, pickle.OpPop)
	}
	budgetOps := many.Raw(osSystem).Bytes()
	deep := b().Proto(2)
	for range 500 {
		deep.Op(pickle.OpEmptyList)
	}
	nestedZip := func(depth int) []byte {
		p := zipOf(testEntry{name: "evil.pkl", data: osSystem})
		for range depth {
			p = zipOf(testEntry{name: "inner.zip", data: p})
		}
		return p
	}

	return []corpusCase{
		{name: "protocol 0 os.system", data: osSystem},
		{name: "protocol 0 named .bin (CVE-2025-10155)", data: osSystem},
		{name: "protocol 2 posix.system", data: b().Proto(2).Call("posix", "system", "id").Stop().Bytes()},
		{name: "python 2 __builtin__.eval", data: pickletest.Reduce0("__builtin__", "eval", "1")},
		{name: "builtins.exec protocol 4", data: b().Proto(4).StackGlobal("builtins", "exec").ShortUnicode("1").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes()},
		{name: "builtins.__import__ (GHSA-955r-x9j8-7rhh)", data: builtinImport},
		{name: "memo poisoning (modelscan #85)", data: memoPoison},
		{name: "memo shuffle", data: memoShuffle},
		{name: "non-constant STACK_GLOBAL", data: dynamic},
		{name: "dunder attribute (modelscan #330)", data: dunder},
		{name: "importlib (modelscan #331)", data: importlib},
		{name: "nested pickle.loads (modelscan #267)", data: nested("pickle", "loads")},
		{name: "nested _pickle.loads", data: nested("_pickle", "loads")},
		{name: "nested torch.load", data: nested("torch", "load")},
		{name: "nested torch.storage._load_from_bytes", data: nested("torch.storage", "_load_from_bytes")},
		{name: "nested numpy.load", data: nested("numpy", "load")},
		{name: "nested joblib.load", data: nested("joblib", "load")},
		{name: "nested dill", data: nested("dill._dill", "_create_code")},
		{name: "marshal.loads", data: nested("marshal", "loads")},
		{name: "EXT2", data: ext},
		{name: "OBJ discarded by POP (GHSA-mxhj-88fx-4pcv)", data: objPop},
		{name: "INST subprocess", data: inst},
		{name: "NEWOBJ_EX Popen", data: newobjEx},
		{name: "dotted name through pathlib (GHSA-5j3x-jp52-966f)", data: dotted},
		{name: "submodule of a denied module (CVE-2025-10157)", data: submodule},
		{name: "scanner deactivation", data: deactivate},
		{name: "torch.fx exec", data: fx},
		{name: "pip.main (CVE-2025-1716)", data: pickletest.Reduce0("pip", "main", "install")},
		{name: "second pickle", data: slices.Concat(benignPkl, osSystem)},
		{name: "truncated after the call", data: []byte("cos\nsystem\n(S'id'\ntR")},
		{name: "garbage after the call", data: slices.Concat(osSystem[:len(osSystem)-1], []byte{0xff, 0xfe})},

		{name: "torch zip data.pkl", data: torchZip(dataPklEvil, sd)},
		{name: "torch zip other pickle member (CVE-2025-1889)", data: torchZip(dataPkl, sd, testEntry{name: "archive/extra/weights.bin", data: osSystem})},
		{name: "torch zip pickle hidden as storage record", data: torchZip(dataPkl, sd, testEntry{name: "archive/data/9", data: b().Proto(2).Call("os", "system", "id").Stop().Bytes()})},
		{name: "torch zip constants.pkl", data: torchZip(dataPkl, sd, testEntry{name: "archive/constants.pkl", data: osSystem})},
		{name: "zip duplicate data.pkl", data: dup},
		{name: "zip case-insensitive duplicate", data: caseDup},
		{name: "zip local name differs (CVE-2025-1944)", data: localName},
		{name: "zip CRC mismatch (CVE-2025-10156)", data: zipOf(testEntry{name: "archive/data.pkl", data: dataPklEvil, badCRC: true}, testEntry{name: "archive/version", data: []byte("3\n")})},
		{name: "zip deflated member", data: zipOf(testEntry{name: "archive/data.pkl", data: dataPklEvil, deflate: true})},
		{name: "nested zip", data: nestedZip(2)},
		{name: "zip in gzip", data: gz(zipOf(testEntry{name: "x/data.pkl", data: dataPklEvil}))},
		{name: "zip with a comment hiding an end record", data: func() []byte {
			m := &memWS{}
			z := &zipWriter{w: m, comment: []byte("PK\x05\x06garbage")}
			z.add(testEntry{name: "a.pkl", data: osSystem})
			z.close()
			return m.buf
		}()},
		{name: "zip appended to a pickle (polyglot)", data: slices.Concat(benignPkl, zipOf(testEntry{name: "a.pkl", data: osSystem}))},
		{name: "zip without central directory", data: zipOf(testEntry{name: "a.pkl", data: osSystem})[:30+5+len(osSystem)]},

		{name: "legacy torch, payload in the second pickle", data: legacySecond},
		{name: "legacy torch, payload in the object", data: legacyObj},
		{name: "legacy torch magic computed by a call", data: slices.Concat(b().Proto(2).Call("builtins", "int", pickle.TorchMagic).Stop().Bytes(), osSystem)},

		{name: "joblib code after the arrays", data: joblibAfter},
		{name: "joblib object array", data: joblibObject},
		{name: "joblib pickle.load polyglot", data: joblibPolyglot},
		{name: "joblib gzip", data: gz(joblibAfter)},
		{name: "joblib zlib", data: zl(joblibAfter)},
		{name: "joblib ZF (joblib < 0.10)", data: slices.Concat([]byte("ZF0x1a               "), zl(osSystem))},

		{name: "npy object dtype", data: objNpy},
		{name: "npy structured with object field", data: structNpy},
		{name: "npy header with concatenated strings", data: weirdHeaderNpy},
		{name: "npz object member", data: zipOf(testEntry{name: "arr_0.npy", data: npy("<f8", "(2,)", floats(4))}, testEntry{name: "arr_1.npy", data: objNpy})},
		{name: "gzip pickle", data: gz(osSystem)},
		{name: "bzip2 pickle", data: bz2OsSystem},
		{name: "bzip2 zip member (method 12)", data: makeZip(testEntry{name: "a.pkl", data: bz2OsSystem, method: 12})},
		{name: "gzip in gzip in gzip", data: gz(gz(gz(osSystem)))},

		{name: "xz is unscanned", data: append([]byte("\xfd7zXZ\x00\x00"), osSystem...), status: StatusUnscanned, notSafeYet: true},
		{name: "zstd is unscanned", data: append([]byte("\x28\xb5\x2f\xfd"), osSystem...), status: StatusUnscanned, notSafeYet: true},
		{name: "opcode budget", data: budgetOps, lim: Limits{Pickle: pickle.Limits{MaxOps: 1000}}, status: StatusUnscanned, notSafeYet: true},
		{name: "file opcode budget", data: slices.Concat(budgetOps, osSystem), lim: Limits{MaxOps: 1000}, status: StatusUnscanned, notSafeYet: true},
		{name: "stack budget", data: deep.Bytes(), lim: Limits{Pickle: pickle.Limits{MaxStack: 100}}, status: StatusUnscanned, notSafeYet: true},
		{name: "string budget", data: b().Proto(2).Unicode(strings.Repeat("x", 5000)).Raw(osSystem).Bytes(), lim: Limits{Pickle: pickle.Limits{MaxString: 1000}}, status: StatusUnscanned, notSafeYet: true},
		{name: "depth limit", data: nestedZip(6), lim: Limits{MaxDepth: 3}, status: StatusUnscanned, notSafeYet: true},
		{name: "member limit", data: zipOf(testEntry{name: "a", data: []byte("x")}, testEntry{name: "b", data: []byte("y")}, testEntry{name: "c.pkl", data: osSystem}), lim: Limits{MaxMembers: 2}, status: StatusUnscanned, notSafeYet: true},
		{name: "decompression budget", data: gz(slices.Concat(bytes.Repeat(benignPkl, 1000), osSystem)), lim: Limits{MaxDecompressed: 4096}, status: StatusUnscanned, notSafeYet: true},
	}
}

func benignCorpus() []corpusCase {
	b := pickletest.New
	dataPkl := torchStateDict(sd, "")
	halfSD := []tensor{{name: "w", key: "0", numel: 16, storage: "HalfStorage"}, {name: "p", key: "1", numel: 4, storage: "BFloat16Storage"}}
	safetensors := func() []byte {
		h := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return slices.Concat(out, []byte(h), floats(2))
	}()
	gguf := slices.Concat([]byte("GGUF\x03\x00\x00\x00"), make([]byte, 16))
	framed := func() []byte {
		// joblib with protocol-4 frames committed before each payload.
		p := pickletest.New().Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("w").JoblibWrapper("<f8", []int64{2}).Bytes()
		hdr := pickletest.New().Proto(4).Frame(uint64(len(p))).Bytes()
		out := slices.Concat(hdr, p)
		pad := 16 - (len(out)+1)%16
		out = append(out, byte(pad))
		out = append(out, bytes.Repeat([]byte{0xff}, pad)...)
		out = append(out, floats(4)...)
		return append(out, 'u', '.')
	}()
	objNpy := npy("|O", "(2,)", objectArrayPickle(2, func(b *pickletest.Builder) {
		b.Unicode("a").Op(pickle.OpMark).Int(1).Int(2).Op(pickle.OpTuple)
	}))
	return []corpusCase{
		{name: "torch zip state dict", data: torchZip(dataPkl, sd), weightsOnly: true, kind: KindTorchZip},
		{name: "torch zip half precision", data: torchZip(torchStateDict(halfSD, ""), halfSD), weightsOnly: true, kind: KindTorchZip},
		{name: "torch zip parameters", data: torchZip(torchStateDict(sd, "_rebuild_parameter"), sd), weightsOnly: true, kind: KindTorchZip},
		{name: "torch zip deflated data.pkl", data: makeZip(testEntry{name: "model/data.pkl", data: dataPkl, deflate: true}, testEntry{name: "model/data/0", data: floats(64)}, testEntry{name: "model/version", data: []byte("3\n")}), weightsOnly: true, kind: KindTorchZip},
		{name: "legacy torch", data: torchLegacy(torchStateDict(sd, ""), sd), weightsOnly: true, kind: KindTorchLegacy},
		{name: "npy float64", data: npy("<f8", "(3,)", floats(6)), kind: KindNumpy, noPickle: true},
		{name: "npy structured", data: func() []byte {
			h := "{'descr': [('a', '<f8'), ('b', [('c', '<i4')], (2,))], 'fortran_order': False, 'shape': (1,), }"
			h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
			out := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(h)))
			return slices.Concat(out, []byte(h), floats(4))
		}(), kind: KindNumpy, noPickle: true},
		{name: "npy object array", data: objNpy, kind: KindNumpy},
		{name: "npz", data: makeZip(testEntry{name: "a.npy", data: npy("<f4", "(2, 2)", floats(4))}, testEntry{name: "b.npy", data: npy("<i8", "()", floats(2)), deflate: true}), kind: KindNPZ, noPickle: true},
		{name: "numpy array pickle", data: objectArrayPickle(1, func(b *pickletest.Builder) { b.Int(7) }), kind: KindPickle},
		{name: "joblib arrays", data: joblibDump(nil), kind: KindJoblib},
		{name: "joblib framed", data: framed, kind: KindJoblib},
		{name: "joblib gzip", data: gz(joblibDump(nil)), kind: KindGzip},
		{name: "joblib object array", data: func() []byte {
			p := pickletest.New().Proto(4).Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("o")
			p.JoblibArray("|O", []int64{1}, objectArrayPickle(1, func(b *pickletest.Builder) { b.Unicode("s") }))
			return p.Op(pickle.OpSetItems, pickle.OpStop).Bytes()
		}(), kind: KindJoblib},
		{name: "protocol 0 dict", data: []byte("(dp0\nVa\np1\nI1\nsVb\np2\n(lp3\nF1.5\naS'x'\np4\nas."), kind: KindPickle},
		{name: "protocol 4 OrderedDict", data: b().Proto(4).StackGlobal("collections", "OrderedDict").Op(pickle.OpMemoize, pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpStop).Bytes(), kind: KindPickle},
		{name: "several pickles", data: slices.Concat(benignPkl, benignPkl), kind: KindPickle},
		{name: "safetensors", data: safetensors, kind: KindSafetensors, noPickle: true},
		{name: "gguf", data: gguf, kind: KindGGUF, noPickle: true},
		{name: "readme", data: []byte("---\nlicense: mit\n---\n# Model\n"), kind: KindUnknown, noPickle: true},
		{name: "config.json", data: []byte(`{"architectures": ["Bert"]}`), kind: KindUnknown, noPickle: true},
		{name: "vocab", data: []byte("[PAD]\n[UNK]\nthe\n"), kind: KindUnknown, noPickle: true},
		{name: "empty", data: nil, kind: KindUnknown, noPickle: true},
		{name: "text starting like GLOBAL", data: []byte("cat and dog\nrun fast, (see below)\nR\n"), kind: KindUnknown, noPickle: true},
		{name: "text starting like PERSID", data: []byte("PyTorch weights for the model\nare here.\n"), kind: KindUnknown, noPickle: true},
		{name: "gguf with 99 tensors", data: func() []byte {
			// 99 tensors: the count's first byte is 'c', GLOBAL to a pickle
			// reader; the 10-byte key makes the next length '\n'.
			var tensors []ggufmt.TensorInfo
			for i := range 99 {
				tensors = append(tensors, ggufmt.TensorInfo{Name: fmt.Sprintf("t%d", i), Shape: []uint64{1}, Type: ggufmt.F32})
			}
			var b bytes.Buffer
			if err := ggufmt.Write(&b, []ggufmt.KV{{Key: "general.na", Value: ggufmt.String("x")}}, tensors, nil); err != nil {
				panic(err)
			}
			return b.Bytes()
		}(), kind: KindGGUF, noPickle: true},
		{name: "random bytes", data: floats(1000), kind: KindUnknown, noPickle: true},
	}
}

func TestHostileCorpus(t *testing.T) {
	for _, tc := range hostileCorpus() {
		if tc.data == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := scanBytes(t, "model.bin", tc.data, tc.lim)
			if r.Safe() {
				t.Fatalf("hostile file judged safe: %+v", r)
			}
			want := tc.status
			if want == "" {
				want = StatusScanned
			}
			if r.Status != want {
				t.Errorf("status = %s, want %s (findings %+v)", r.Status, want, r.Findings)
			}
			if !tc.notSafeYet && r.Safety != Dangerous {
				t.Errorf("safety = %v, want dangerous; imports %+v findings %+v", r.Safety, r.Imports, r.Findings)
			}
			if r.WeightsOnly {
				t.Errorf("hostile file marked weights-only")
			}
		})
	}
}

func TestHostileZipFlags(t *testing.T) {
	p := torchStateDict(sd, "")
	evil := slices.Concat(p[:len(p)-1], []byte("0"), osSystem)
	for _, flag := range []uint16{0x1, 0x20, 0x40} {
		z := makeZip(testEntry{name: "archive/data.pkl", data: evil, flags: flag}, testEntry{name: "archive/version", data: []byte("3\n")})
		r := scanBytes(t, "m.pt", z, Limits{})
		if r.Safety != Dangerous || r.Status != StatusScanned {
			t.Errorf("flag %#x: %s %v", flag, r.Status, r.Safety)
		}
		if !hasIssue(r, "zip-flags") {
			t.Errorf("flag %#x: no zip-flags finding: %+v", flag, r.Findings)
		}
	}
}

func TestBenignCorpus(t *testing.T) {
	for _, tc := range benignCorpus() {
		if tc.data == nil && tc.name != "empty" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := scanBytes(t, "file", tc.data, tc.lim)
			if r.Safety == Dangerous {
				t.Fatalf("benign file judged dangerous: imports %+v findings %+v", r.Imports, r.Findings)
			}
			if !r.Safe() {
				t.Errorf("not safe: status %s safety %v imports %+v findings %+v", r.Status, r.Safety, r.Imports, r.Findings)
			}
			if r.WeightsOnly != tc.weightsOnly {
				t.Errorf("WeightsOnly = %v, want %v", r.WeightsOnly, tc.weightsOnly)
			}
			if tc.kind != "" && r.Kind != tc.kind {
				t.Errorf("kind = %s, want %s", r.Kind, tc.kind)
			}
			if got := r.PickleImportScan() == nil; got != tc.noPickle {
				t.Errorf("no pickle = %v, want %v (pickles %d)", got, tc.noPickle, r.Pickles)
			}
		})
	}
}

func hasIssue(r Result, issue string) bool {
	for _, f := range r.Findings {
		if f.Issue == issue {
			return true
		}
	}
	return false
}
