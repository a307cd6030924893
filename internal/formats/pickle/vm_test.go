package pickle_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

// cpythonStreams are pickle.dumps(data, protocol=p) from CPython 3.11 for
//
//	data = {'a': [1, 2.5, 'x', b'y', None, True, False, (1, 2), {3},
//	              frozenset([4]), bytearray(b'z'), 10**30, -5, 'é\u1234',
//	              300, 70000, -70000, ()],
//	        'od': collections.OrderedDict(k=1), 'c': complex(1, 2)}
//
// They check the emulation against the real pickler's output for every
// protocol (memo use, framing, STACK_GLOBAL operands fetched by BINGET).
var cpythonStreams = []struct {
	proto   int
	hex     string
	imports []string
}{
	{0, "286470300a56610a70310a286c70320a49310a6146322e350a6156780a70330a61635f636f646563730a656e636f64650a70340a2856790a70350a566c6174696e310a70360a7470370a5270380a614e614930310a614930300a612849310a49320a7470390a61635f5f6275696c74696e5f5f0a7365740a7031300a28286c7031310a49330a61747031320a527031330a61635f5f6275696c74696e5f5f0a66726f7a656e7365740a7031340a28286c7031350a49340a61747031360a527031370a61635f5f6275696c74696e5f5f0a6279746561727261790a7031380a2867340a28567a0a7031390a67360a747032300a527032310a747032320a527032330a614c313030303030303030303030303030303030303030303030303030303030304c0a61492d350a6156e95c75313233340a7032340a61493330300a614937303030300a61492d37303030300a6128746173566f640a7032350a63636f6c6c656374696f6e730a4f726465726564446963740a7032360a2874527032370a566b0a7032380a49310a737356630a7032390a635f5f6275696c74696e5f5f0a636f6d706c65780a7033300a2846312e300a46322e300a747033310a527033320a732e",
		[]string{"_codecs.encode", "builtins.bytearray", "builtins.complex", "builtins.frozenset", "builtins.set", "collections.OrderedDict"}},
	{1, "7d71002858010000006171015d7102284b014740040000000000005801000000787103635f636f646563730a656e636f64650a710428580100000079710558060000006c6174696e3171067471075271084e4930310a4930300a284b014b02747109635f5f6275696c74696e5f5f0a7365740a710a285d710b4b036174710c52710d635f5f6275696c74696e5f5f0a66726f7a656e7365740a710e285d710f4b0461747110527111635f5f6275696c74696e5f5f0a6279746561727261790a71122868042858010000007a711368067471145271157471165271174c313030303030303030303030303030303030303030303030303030303030304c0a4afbffffff5805000000c3a9e188b471184d2c014a701101004a90eefeff296558020000006f64711963636f6c6c656374696f6e730a4f726465726564446963740a711a2952711b58010000006b711c4b0173580100000063711d635f5f6275696c74696e5f5f0a636f6d706c65780a711e28473ff000000000000047400000000000000074711f527120752e",
		[]string{"_codecs.encode", "builtins.bytearray", "builtins.complex", "builtins.frozenset", "builtins.set", "collections.OrderedDict"}},
	{2, "80027d71002858010000006171015d7102284b014740040000000000005801000000787103635f636f646563730a656e636f64650a7104580100000079710558060000006c6174696e3171068671075271084e88894b014b02867109635f5f6275696c74696e5f5f0a7365740a710a5d710b4b036185710c52710d635f5f6275696c74696e5f5f0a66726f7a656e7365740a710e5d710f4b0461857110527111635f5f6275696c74696e5f5f0a6279746561727261790a7112680458010000007a711368068671145271158571165271178a0d00000040eaed7446d09c2c9f0c4afbffffff5805000000c3a9e188b471184d2c014a701101004a90eefeff296558020000006f64711963636f6c6c656374696f6e730a4f726465726564446963740a711a2952711b58010000006b711c4b0173580100000063711d635f5f6275696c74696e5f5f0a636f6d706c65780a711e473ff000000000000047400000000000000086711f527120752e",
		[]string{"_codecs.encode", "builtins.bytearray", "builtins.complex", "builtins.frozenset", "builtins.set", "collections.OrderedDict"}},
	{3, "80037d71002858010000006171015d7102284b01474004000000000000580100000078710343017971044e88894b014b02867105636275696c74696e730a7365740a71065d71074b0361857108527109636275696c74696e730a66726f7a656e7365740a710a5d710b4b046185710c52710d636275696c74696e730a6279746561727261790a710e43017a710f8571105271118a0d00000040eaed7446d09c2c9f0c4afbffffff5805000000c3a9e188b471124d2c014a701101004a90eefeff296558020000006f64711363636f6c6c656374696f6e730a4f726465726564446963740a71142952711558010000006b71164b01735801000000637117636275696c74696e730a636f6d706c65780a7118473ff000000000000047400000000000000086711952711a752e",
		[]string{"builtins.bytearray", "builtins.complex", "builtins.frozenset", "builtins.set", "collections.OrderedDict"}},
	{4, "800495d4000000000000007d94288c0161945d94284b014740040000000000008c017894430179944e88894b014b0286948f94284b0390284b0491948c086275696c74696e73948c0962797465617272617994939443017a94859452948a0d00000040eaed7446d09c2c9f0c4afbffffff8c05c3a9e188b4944d2c014a701101004a90eefeff29658c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01738c01639468088c07636f6d706c6578949394473ff000000000000047400000000000000086945294752e",
		[]string{"builtins.bytearray", "builtins.complex", "collections.OrderedDict"}},
	{5, "800595c7000000000000007d94288c0161945d94284b014740040000000000008c017894430179944e88894b014b0286948f94284b0390284b0491949601000000000000007a948a0d00000040eaed7446d09c2c9f0c4afbffffff8c05c3a9e188b4944d2c014a701101004a90eefeff29658c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b01738c0163948c086275696c74696e73948c07636f6d706c6578949394473ff000000000000047400000000000000086945294752e",
		[]string{"builtins.complex", "collections.OrderedDict"}},
}

func names(r *pickle.Result) []string {
	var out []string
	for _, im := range r.Imports {
		out = append(out, im.String())
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func scan(p []byte, opts pickle.Options) *pickle.Result {
	if opts.Size == 0 {
		opts.Size = int64(len(p))
	}
	return pickle.Scan(bytes.NewReader(p), opts)
}

func isSyntax(err error) bool {
	_, ok := err.(*pickle.SyntaxError)
	return ok
}

func issues(r *pickle.Result) []pickle.Issue {
	var out []pickle.Issue
	for _, f := range r.Findings {
		out = append(out, f.Issue)
	}
	return out
}

func TestCPythonStreams(t *testing.T) {
	for _, tc := range cpythonStreams {
		p, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		// Through a plain reader too: no Seeker, no known size.
		for _, r := range []*pickle.Result{scan(p, pickle.Options{}), pickle.Scan(io.MultiReader(bytes.NewReader(p)), pickle.Options{})} {
			if r.Err != nil {
				t.Errorf("protocol %d: Err = %v", tc.proto, r.Err)
			}
			if got := names(r); !slices.Equal(got, tc.imports) {
				t.Errorf("protocol %d: imports = %v, want %v", tc.proto, got, tc.imports)
			}
			if len(r.Findings) != 0 {
				t.Errorf("protocol %d: findings = %+v, want none", tc.proto, r.Findings)
			}
			wantProto := tc.proto
			if wantProto < 2 {
				wantProto = 0 // no PROTO opcode before protocol 2
			}
			if len(r.Pickles) != 1 || r.Pickles[0].End != int64(len(p)) || r.Protocol != wantProto {
				t.Errorf("protocol %d: pickles = %+v, protocol %d", tc.proto, r.Pickles, r.Protocol)
			}
			if r.Bytes != int64(len(p)) {
				t.Errorf("protocol %d: Bytes = %d, want %d", tc.proto, r.Bytes, len(p))
			}
		}
	}
}

func TestCompatNames(t *testing.T) {
	r := scan(pickletest.Reduce0("__builtin__", "eval", "1+1"), pickle.Options{})
	if len(r.Imports) != 1 {
		t.Fatalf("imports = %+v", r.Imports)
	}
	im := r.Imports[0]
	if im.Module != "builtins" || im.Name != "eval" || im.RawModule != "__builtin__" || im.Uses != pickle.UseCall {
		t.Errorf("import = %+v, want builtins.eval from __builtin__, called", im)
	}
}

func TestStackGlobalOperands(t *testing.T) {
	b := pickletest.New
	tests := []struct {
		name    string
		p       []byte
		want    string // import
		dynamic bool
		err     bool
	}{
		{
			name: "constants",
			p:    b().Proto(4).StackGlobal("os", "system").ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes(),
			want: "os.system",
		},
		{
			// The operands come from the memo, stored long before and
			// after unrelated opcodes: only a real memo resolves them.
			name: "memo",
			p: b().Proto(4).ShortUnicode("os").Put(7).Op(pickle.OpPop).ShortUnicode("decoy").Put(8).Op(pickle.OpPop).
				ShortUnicode("system").Op(pickle.OpMemoize, pickle.OpPop).
				Get(7).Get(2).Op(pickle.OpStackGlobal).ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes(),
			want: "os.system",
		},
		{
			name: "protocol-0 strings",
			p:    b().String("posix").String("system").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes(),
			want: "posix.system",
		},
		{
			name: "escaped STRING",
			p:    b().Raw([]byte("S'\\x6fs'\n")).String("sys\\x74em").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes(),
			want: "os.sys\\x74em",
		},
		{
			name: "UNICODE escapes",
			p:    b().UnicodeLine(`\u006fs`).UnicodeLine("system").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes(),
			want: "os.system",
		},
		{
			// The module name is computed by a call: it is not known.
			name: "computed",
			p: b().Proto(4).Call("codecs", "decode", "bf", "rot13").ShortUnicode("system").Op(pickle.OpStackGlobal).
				ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes(),
			want:    "?.system",
			dynamic: true,
		},
		{
			name:    "persistent operand",
			p:       b().Proto(4).ShortUnicode("x").Op(pickle.OpBinPersID).ShortUnicode("system").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes(),
			want:    "?.system",
			dynamic: true,
		},
		{
			name: "bytes operand is rejected like the unpickler does",
			p:    b().Proto(4).BinBytes([]byte("os")).ShortUnicode("system").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes(),
			err:  true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(tc.p, pickle.Options{})
			if tc.err {
				if _, ok := r.Err.(*pickle.SyntaxError); !ok {
					t.Fatalf("Err = %v, want a SyntaxError", r.Err)
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("Err = %v", r.Err)
			}
			var got []string
			dyn := false
			for _, im := range r.Imports {
				if im.Name == "system" || im.Name == "sys\\x74em" {
					got = append(got, im.String())
					dyn = dyn || im.Dynamic
				}
			}
			if len(got) != 1 || got[0] != tc.want || dyn != tc.dynamic {
				t.Errorf("imports %v dynamic=%v, want %s dynamic=%v", got, dyn, tc.want, tc.dynamic)
			}
			if tc.dynamic != slices.Contains(issues(r), pickle.IssueDynamicGlobal) {
				t.Errorf("findings = %v", issues(r))
			}
		})
	}
}

func TestUses(t *testing.T) {
	b := pickletest.New
	tests := []struct {
		name  string
		p     []byte
		want  pickle.Use
		issue pickle.Issue
	}{
		{"reduce", pickletest.Reduce0("os", "system", "id"), pickle.UseCall, ""},
		{
			// fickling GHSA-mxhj-88fx-4pcv: an OBJ whose result is popped
			// still ran.
			name: "obj then pop",
			p:    b().Op(pickle.OpMark).Global("os", "system").String("id").Op(pickle.OpObj, pickle.OpPop, pickle.OpNone, pickle.OpStop).Bytes(),
			want: pickle.UseInstantiate,
		},
		{"inst", b().Op(pickle.OpMark).String("id").Inst("os", "system").Op(pickle.OpStop).Bytes(), pickle.UseInstantiate, ""},
		{"newobj", b().Proto(2).Global("subprocess", "Popen").Op(pickle.OpEmptyTuple, pickle.OpNewObj, pickle.OpStop).Bytes(), pickle.UseNew, ""},
		{
			name: "newobj_ex",
			p:    b().Proto(4).StackGlobal("subprocess", "Popen").Op(pickle.OpEmptyTuple, pickle.OpEmptyDict, pickle.OpNewObjEx, pickle.OpStop).Bytes(),
			want: pickle.UseNew,
		},
		{
			// modelscan #85 / #330: BUILD with a slot state sets attributes
			// on a module-level function.
			name:  "build on global",
			p:     b().Proto(2).Global("numpy", "prod").Op(pickle.OpNone, pickle.OpEmptyDict).Unicode("a").Unicode("os").Op(pickle.OpSetItem, pickle.OpTuple2, pickle.OpBuild, pickle.OpStop).Bytes(),
			want:  pickle.UseBuild,
			issue: pickle.IssueBuildGlobal,
		},
		{
			name: "build on instance",
			p:    b().Proto(2).Global("collections", "OrderedDict").Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpEmptyDict, pickle.OpBuild, pickle.OpStop).Bytes(),
			want: pickle.UseCall | pickle.UseBuildInstance,
		},
		{
			name: "setitem on global",
			p:    b().Proto(2).Global("os", "environ").Unicode("k").Unicode("v").Op(pickle.OpSetItem, pickle.OpStop).Bytes(),
			want: pickle.UseMutate,
		},
		{
			name: "reconstructor class",
			p: b().Global("copy_reg", "_reconstructor").Op(pickle.OpMark).Global("mymod", "Thing").Global("__builtin__", "object").
				Op(pickle.OpNone, pickle.OpTuple, pickle.OpReduce, pickle.OpEmptyDict, pickle.OpBuild, pickle.OpStop).Bytes(),
			want: 0, // checked below
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(tc.p, pickle.Options{})
			if r.Err != nil {
				t.Fatalf("Err = %v", r.Err)
			}
			if tc.name == "reconstructor class" {
				for _, im := range r.Imports {
					if im.Name == "Thing" && im.Uses != pickle.UseNew|pickle.UseBuildInstance {
						t.Errorf("mymod.Thing uses = %v", im.Uses)
					}
				}
				return
			}
			if r.Imports[0].Uses != tc.want {
				t.Errorf("uses = %v, want %v", r.Imports[0].Uses, tc.want)
			}
			if tc.issue != "" && !slices.Contains(issues(r), tc.issue) {
				t.Errorf("findings = %v, want %s", issues(r), tc.issue)
			}
		})
	}
}

func TestActions(t *testing.T) {
	// A torch-style tensor: REDUCE of _rebuild_tensor_v2 over a BINPERSID
	// storage, SETITEMS into an OrderedDict made by REDUCE, BUILD of it.
	b := pickletest.New().Proto(2).Global("collections", "OrderedDict").Put(0).Op(pickle.OpEmptyTuple, pickle.OpReduce).Put(1)
	b.Op(pickle.OpMark).Unicode("w").Global("torch._utils", "_rebuild_tensor_v2").Op(pickle.OpMark)
	b.Op(pickle.OpMark).Unicode("storage").Global("torch", "FloatStorage").Unicode("0").Unicode("cpu").Int(4).Op(pickle.OpTuple, pickle.OpBinPersID)
	b.Int(0).Int(4).Op(pickle.OpTuple1).Int(1).Op(pickle.OpTuple1, pickle.OpNewFalse).Get(0).Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpTuple, pickle.OpReduce)
	b.Op(pickle.OpSetItems, pickle.OpEmptyDict, pickle.OpBuild, pickle.OpStop)
	r := scan(b.Bytes(), pickle.Options{})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	got := map[string]int{}
	for _, a := range r.Actions {
		k := a.Op.String() + " " + a.Target.Kind.String()
		if a.Target.Import >= 0 {
			k += " " + r.Imports[a.Target.Import].String()
		}
		got[k] += a.Count
	}
	want := map[string]int{
		"REDUCE global collections.OrderedDict":         2,
		"REDUCE global torch._utils._rebuild_tensor_v2": 1,
		"BINPERSID tuple":                         1,
		"SETITEMS object collections.OrderedDict": 1,
		"BUILD object collections.OrderedDict":    1,
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("action %q count = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if len(r.Persistent) != 1 || r.Persistent[0].Tag != "storage" || r.Persistent[0].Key != "0" ||
		r.Imports[r.Persistent[0].Storage].String() != "torch.FloatStorage" {
		t.Errorf("persistent = %+v", r.Persistent)
	}
	for _, op := range []pickle.Op{pickle.OpGlobal, pickle.OpBinPersID, pickle.OpBinPut, pickle.OpBinGet} {
		if !r.Opcodes.Has(op) {
			t.Errorf("Opcodes lacks %v", op)
		}
	}
	if r.Opcodes.Has(pickle.OpStackGlobal) {
		t.Error("Opcodes has STACK_GLOBAL")
	}
}

func TestExtension(t *testing.T) {
	for _, op := range []pickle.Op{pickle.OpExt1, pickle.OpExt2, pickle.OpExt4} {
		p := pickletest.New().Proto(2).Op(op).Raw([]byte{1, 0, 0, 0}[:map[pickle.Op]int{pickle.OpExt1: 1, pickle.OpExt2: 2, pickle.OpExt4: 4}[op]]).
			Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpStop).Bytes()
		r := scan(p, pickle.Options{})
		if r.Err != nil || len(r.Imports) != 1 || r.Imports[0].Ext != 1 || !r.Imports[0].Dynamic || r.Imports[0].Uses != pickle.UseCall {
			t.Errorf("%v: err %v imports %+v", op, r.Err, r.Imports)
		}
		if !slices.Contains(issues(r), pickle.IssueExtension) {
			t.Errorf("%v: findings %v", op, issues(r))
		}
	}
}

func TestMultiplePickles(t *testing.T) {
	benign := pickletest.New().Proto(2).Op(pickle.OpEmptyDict, pickle.OpStop).Bytes()
	evil := pickletest.Reduce0("os", "system", "id")
	t.Run("second pickle", func(t *testing.T) {
		r := scan(slices.Concat(benign, benign, evil), pickle.Options{})
		if r.Err != nil || len(r.Pickles) != 3 || names(r)[0] != "os.system" {
			t.Errorf("err %v pickles %d imports %v", r.Err, len(r.Pickles), names(r))
		}
	})
	t.Run("trailing garbage", func(t *testing.T) {
		r := scan(slices.Concat(benign, []byte{0, 1, 2, 3}), pickle.Options{})
		if r.Err != nil || !r.Trailing || r.End != int64(len(benign)) || len(r.Pickles) != 1 {
			t.Errorf("err %v trailing %v end %d", r.Err, r.Trailing, r.End)
		}
	})
	t.Run("trailing opcodes that fail", func(t *testing.T) {
		// ']' 'a' underflows: garbage that happens to start with opcodes.
		r := scan(slices.Concat(benign, []byte("]a]]]")), pickle.Options{})
		if r.Err != nil || !r.Trailing || len(r.Findings) != 1 {
			t.Errorf("err %v trailing %v findings %+v", r.Err, r.Trailing, r.Findings)
		}
	})
	t.Run("truncated second pickle with an import", func(t *testing.T) {
		r := scan(slices.Concat(benign, []byte("cos\nsystem\n(S'id'\ntR")), pickle.Options{})
		if _, ok := r.Err.(*pickle.SyntaxError); !ok || len(r.Imports) != 1 || r.Imports[0].Uses != pickle.UseCall {
			t.Errorf("err %v imports %+v", r.Err, r.Imports)
		}
	})
	t.Run("max pickles", func(t *testing.T) {
		r := scan(slices.Concat(benign, benign, evil), pickle.Options{Limits: pickle.Limits{MaxPickles: 2}})
		if !errors.Is(r.Err, pickle.ErrLimit) {
			t.Errorf("err %v", r.Err)
		}
	})
}

func TestTorchLegacy(t *testing.T) {
	b := pickletest.New
	magic := b().Proto(2).Raw([]byte("\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19")).Stop().Bytes()
	version := b().Proto(2).Int(1001).Stop().Bytes()
	sysInfo := b().Proto(2).Op(pickle.OpEmptyDict).Stop().Bytes()
	obj := b().Proto(2).Global("collections", "OrderedDict").Op(pickle.OpEmptyTuple, pickle.OpReduce).Stop().Bytes()
	keys := b().Proto(2).Op(pickle.OpEmptyList).Stop().Bytes()
	// Raw storage bytes that happen to look like a pickle, then an import:
	// torch.load never unpickles them.
	data := slices.Concat([]byte{0x80, 0x02}, pickletest.Reduce0("os", "system", "id"))
	r := scan(slices.Concat(magic, version, sysInfo, obj, keys, data), pickle.Options{TorchLegacy: true})
	if r.Err != nil || !r.TorchLegacy || len(r.Pickles) != 5 || !r.Trailing || names(r)[0] != "collections.OrderedDict" || len(r.Imports) != 1 {
		t.Errorf("err %v legacy %v pickles %d trailing %v imports %v", r.Err, r.TorchLegacy, len(r.Pickles), r.Trailing, names(r))
	}
	if r.Pickles[0].Int != pickle.TorchMagic {
		t.Errorf("magic = %q", r.Pickles[0].Int)
	}
	// Without the dialect the same bytes are read as pickles.
	r = scan(slices.Concat(magic, version, sysInfo, obj, keys, data), pickle.Options{})
	if r.TorchLegacy || !slices.Contains(names(r), "os.system") {
		t.Errorf("plain: legacy %v imports %v", r.TorchLegacy, names(r))
	}
	// A magic number computed by a call does not switch the dialect on.
	fake := b().Proto(2).Global("builtins", "int").Unicode(pickle.TorchMagic).Op(pickle.OpTuple1, pickle.OpReduce).Stop().Bytes()
	r = scan(slices.Concat(fake, version, sysInfo, obj, keys, data), pickle.Options{TorchLegacy: true})
	if r.TorchLegacy || !slices.Contains(names(r), "os.system") {
		t.Errorf("computed magic: legacy %v imports %v", r.TorchLegacy, names(r))
	}
}

func TestLimits(t *testing.T) {
	b := pickletest.New
	many := b().Proto(2)
	for range 100 {
		many.Op(pickle.OpNone, pickle.OpPop)
	}
	many.Stop()
	deep := b().Proto(2)
	for range 100 {
		deep.Op(pickle.OpEmptyList)
	}
	marks := b().Proto(2)
	for range 100 {
		marks.Op(pickle.OpMark)
	}
	memo := b().Proto(2).Op(pickle.OpNone)
	for i := range 100 {
		memo.Put(i)
	}
	long := b().Proto(2).Unicode(strings.Repeat("x", 1000)).Stop()
	tests := []struct {
		name  string
		p     []byte
		lim   pickle.Limits
		limit string
	}{
		{"ops", many.Bytes(), pickle.Limits{MaxOps: 50}, "ops"},
		{"stack", deep.Bytes(), pickle.Limits{MaxStack: 50}, "stack"},
		{"marks", marks.Bytes(), pickle.Limits{MaxStack: 50}, "marks"},
		{"memo", memo.Bytes(), pickle.Limits{MaxMemo: 50}, "memo"},
		{"string", long.Bytes(), pickle.Limits{MaxString: 100}, "string"},
		{"bytes", long.Bytes(), pickle.Limits{MaxBytes: 100}, "bytes"},
		{"line", []byte("c" + strings.Repeat("m", 1000) + "\nx\n."), pickle.Limits{MaxString: 100}, "string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(tc.p, pickle.Options{Limits: tc.lim})
			var le *pickle.LimitError
			if !errors.As(r.Err, &le) || le.Limit != tc.limit || !errors.Is(r.Err, pickle.ErrIncomplete) {
				t.Fatalf("Err = %v, want the %s limit", r.Err, tc.limit)
			}
			if r.Complete() || !slices.Contains(issues(r), pickle.IssueLimit) {
				t.Errorf("complete %v findings %v", r.Complete(), issues(r))
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	huge := []byte{byte(pickle.OpBinBytes8), 0, 0, 0, 0, 0, 0, 0, 0x10} // 2^60 bytes
	tests := map[string][]byte{
		"no stop":        []byte("]"),
		"binbytes8":      huge,
		"binunicode":     {'X', 0xff, 0xff, 0xff, 0x7f, 'a'},
		"global no line": []byte("cos\nsys"),
		"frame":          {byte(pickle.OpProto), 4, byte(pickle.OpFrame), 0xff, 0xff, 0, 0, 0, 0, 0, 0},
		"binint":         {'J', 1, 2},
		"long4 negative": {byte(pickle.OpLong4), 0xff, 0xff, 0xff, 0xff},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			if r := scan(p, pickle.Options{}); !isSyntax(r.Err) {
				t.Errorf("Err = %v, want a SyntaxError", r.Err)
			}
			// Without a known size a huge length exhausts the string
			// budget instead; either way nothing is allocated for it.
			if r := pickle.Scan(io.MultiReader(bytes.NewReader(p)), pickle.Options{}); !isSyntax(r.Err) && !errors.Is(r.Err, pickle.ErrLimit) {
				t.Errorf("unknown size: Err = %v", r.Err)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := map[string][]byte{
		"unknown opcode":    {byte(pickle.OpProto), 2, 0xff},
		"underflow":         []byte("R."),
		"memo miss":         {'h', 3, '.'},
		"pop mark":          []byte("1."),
		"odd dict":          []byte("(Nd."),
		"protocol 6":        {byte(pickle.OpProto), 6},
		"unquoted string":   []byte("Sabc\n."),
		"negative put text": []byte("Np-1\n."),
		"empty obj":         []byte("(o."),
		"stop under mark":   []byte("N(."),
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			r := scan(p, pickle.Options{})
			if _, ok := r.Err.(*pickle.SyntaxError); !ok {
				t.Errorf("Err = %v, want a SyntaxError", r.Err)
			}
			if !slices.Contains(issues(r), pickle.IssueMalformed) {
				t.Errorf("findings = %v", issues(r))
			}
		})
	}
}

func TestStructuralFindings(t *testing.T) {
	b := pickletest.New
	tests := []struct {
		name string
		p    []byte
		want pickle.Issue
	}{
		{"memo overwrite", b().Proto(2).Unicode("a").Put(0).Unicode("b").Put(0).Op(pickle.OpTuple2, pickle.OpStop).Bytes(), pickle.IssueMemoOverwrite},
		{"misplaced proto", b().Op(pickle.OpNone).Proto(2).Op(pickle.OpStop).Bytes(), pickle.IssueProto},
		{"out of band", b().Proto(5).Op(pickle.OpNextBuffer, pickle.OpReadOnlyBuffer, pickle.OpStop).Bytes(), pickle.IssueOutOfBand},
		{"frame crossing", b().Proto(4).Frame(3).Unicode("abc").Op(pickle.OpStop).Bytes(), pickle.IssueFrame},
		{"frame in frame", b().Proto(4).Frame(12).Frame(1).Op(pickle.OpNone, pickle.OpStop).Raw(make([]byte, 5)).Bytes(), pickle.IssueFrame},
		{"bad name", b().Global("os system", "x").Op(pickle.OpStop).Bytes(), pickle.IssueBadName},
		{"call a constant", b().Proto(2).Unicode("x").Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpStop).Bytes(), pickle.IssueCallNonGlobal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(tc.p, pickle.Options{})
			if !slices.Contains(issues(r), tc.want) {
				t.Errorf("findings = %v (err %v), want %s", issues(r), r.Err, tc.want)
			}
		})
	}
	t.Run("memo expansion", func(t *testing.T) {
		p := b().Proto(2).Op(pickle.OpEmptyList).Put(0).Op(pickle.OpMark)
		for range 20_000 {
			p.Get(0)
		}
		p.Op(pickle.OpAppends, pickle.OpStop)
		r := scan(p.Bytes(), pickle.Options{})
		if r.Err != nil || !slices.Contains(issues(r), pickle.IssueMemoExpansion) {
			t.Errorf("err %v findings %v", r.Err, issues(r))
		}
	})
}

func TestLongStringsAreSkipped(t *testing.T) {
	big := bytes.Repeat([]byte("A"), 1<<20)
	p := pickletest.New().Proto(3).BinBytes(big).Op(pickle.OpPop).Raw([]byte("cos\nsystem\n")).Op(pickle.OpStop).Bytes()
	r := scan(p, pickle.Options{})
	if r.Err != nil || names(r)[0] != "os.system" {
		t.Fatalf("err %v imports %v", r.Err, names(r))
	}
	// A long string used as a STACK_GLOBAL operand is not known.
	p = pickletest.New().Proto(4).Unicode(string(big)).ShortUnicode("system").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes()
	r = scan(p, pickle.Options{})
	if r.Err != nil || !r.Imports[0].Dynamic {
		t.Errorf("err %v imports %+v", r.Err, r.Imports)
	}
}

// joblibStream is what joblib.dump writes for {'w': array, 'code': after}
// with the given arrays.
func joblibArrays(arrays func(b *pickletest.Builder), tail func(b *pickletest.Builder)) []byte {
	b := pickletest.New().Proto(4).Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("w")
	arrays(b)
	if tail != nil {
		tail(b)
	}
	return b.Op(pickle.OpSetItems, pickle.OpStop).Bytes()
}

func TestJoblib(t *testing.T) {
	// Payload bytes that are themselves a pickle: whoever reads them as
	// opcodes sees os.system; joblib reads them as floats.
	payload := slices.Concat(pickletest.Reduce0("os", "system", "id"), make([]byte, 64))
	payload = payload[:64]
	plain := joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<f8", []int64{2, 4}, payload) }, nil)
	t.Run("array skipped", func(t *testing.T) {
		r := scan(plain, pickle.Options{Joblib: true})
		if r.Err != nil || len(r.Arrays) != 1 || r.Skipped == 0 || slices.Contains(names(r), "os.system") {
			t.Fatalf("err %v arrays %+v imports %v", r.Err, r.Arrays, names(r))
		}
		if a := r.Arrays[0]; a.Size != r.Skipped || a.Size < 64 || a.Size > 64+17 {
			t.Errorf("array = %+v", a)
		}
		want := []string{"joblib.numpy_pickle.NumpyArrayWrapper", "numpy.dtype", "numpy.ndarray"}
		if !slices.Equal(names(r), want) {
			t.Errorf("imports %v, want %v", names(r), want)
		}
	})
	t.Run("pickle.load reading", func(t *testing.T) {
		// A polyglot: the padding length is 'N' (78), the padding is
		// POP/NONE pairs, and the payload is a pickle tail. joblib skips
		// all of it; pickle.load runs it.
		b := pickletest.New().Proto(4).Op(pickle.OpEmptyDict, pickle.OpMark).ShortUnicode("w").JoblibWrapper("|u1", []int64{32})
		b.Raw([]byte("N")).Raw(bytes.Repeat([]byte("0N"), 39))
		tail := []byte("0cos\nsystem\n(S'id'\ntR0")
		tail = append(tail, bytes.Repeat([]byte("N0"), (32-len(tail))/2)...)
		b.Raw(tail[:32]).Op(pickle.OpSetItems, pickle.OpStop)
		if r := scan(b.Bytes(), pickle.Options{Joblib: true}); r.Err != nil || slices.Contains(names(r), "os.system") {
			t.Errorf("joblib: err %v imports %v", r.Err, names(r))
		}
		if r := scan(b.Bytes(), pickle.Options{}); !slices.Contains(names(r), "os.system") {
			t.Errorf("pickle.load: err %v imports %v", r.Err, names(r))
		}
	})
	t.Run("code after the array", func(t *testing.T) {
		p := joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<f8", []int64{2}, make([]byte, 16)) },
			func(b *pickletest.Builder) { b.ShortUnicode("x").Call("os", "system", "id") })
		r := scan(p, pickle.Options{Joblib: true})
		if r.Err != nil || !slices.Contains(names(r), "os.system") {
			t.Errorf("err %v imports %v", r.Err, names(r))
		}
	})
	t.Run("object array", func(t *testing.T) {
		nested := pickletest.New().Proto(2).Global("numpy.core.multiarray", "_reconstruct").Op(pickle.OpMark).
			Global("numpy", "ndarray").Int(0).Op(pickle.OpTuple1).ShortBinString("b").Op(pickle.OpTuple, pickle.OpReduce).
			Op(pickle.OpPop).Call("os", "system", "id").Op(pickle.OpStop).Bytes()
		p := joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("|O", []int64{1}, nested) }, nil)
		r := scan(p, pickle.Options{Joblib: true})
		if r.Err != nil || len(r.Arrays) != 1 || !r.Arrays[0].Object || !slices.Contains(names(r), "os.system") {
			t.Errorf("err %v arrays %+v imports %v", r.Err, r.Arrays, names(r))
		}
	})
	t.Run("truncated payload", func(t *testing.T) {
		r := scan(plain[:len(plain)-40], pickle.Options{Joblib: true})
		if _, ok := r.Err.(*pickle.SyntaxError); !ok {
			t.Errorf("err %v", r.Err)
		}
	})
	t.Run("unknown dtype", func(t *testing.T) {
		p := joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<x9", []int64{1}, nil) }, nil)
		r := scan(p, pickle.Options{Joblib: true})
		if !errors.Is(r.Err, pickle.ErrIncomplete) || r.Complete() {
			t.Errorf("err %v", r.Err)
		}
	})
	t.Run("dynamic shape", func(t *testing.T) {
		b := pickletest.New().Proto(4).StackGlobal("joblib.numpy_pickle", "NumpyArrayWrapper").Op(pickle.OpEmptyTuple, pickle.OpNewObj)
		b.Op(pickle.OpEmptyDict).ShortUnicode("shape").Call("builtins", "tuple").ShortUnicode("dtype").NumpyDtype("<f8", -1, 0).Op(pickle.OpSetItem, pickle.OpSetItem, pickle.OpBuild, pickle.OpStop)
		r := scan(b.Bytes(), pickle.Options{Joblib: true})
		if !errors.Is(r.Err, pickle.ErrIncomplete) {
			t.Errorf("err %v", r.Err)
		}
	})
	t.Run("payload inside a frame", func(t *testing.T) {
		inner := joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<f8", []int64{1}, make([]byte, 8)) }, nil)
		p := slices.Concat(inner[:2], pickletest.New().Frame(uint64(len(inner)-2)).Bytes(), inner[2:])
		r := scan(p, pickle.Options{Joblib: true})
		if !errors.Is(r.Err, pickle.ErrIncomplete) {
			t.Errorf("err %v", r.Err)
		}
	})
	t.Run("non-seekable reader", func(t *testing.T) {
		r := pickle.Scan(io.MultiReader(bytes.NewReader(plain)), pickle.Options{Joblib: true})
		if r.Err != nil || len(r.Arrays) != 1 {
			t.Errorf("err %v arrays %+v", r.Err, r.Arrays)
		}
	})
}

func TestNotAPickle(t *testing.T) {
	for _, p := range [][]byte{nil, []byte("{\"a\": 1}"), []byte("# README\n"), {0, 1, 2}} {
		r := scan(p, pickle.Options{})
		if r.IsPickle() {
			t.Errorf("%q: IsPickle", p)
		}
	}
}

func TestDecoders(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\u0041\U0001F600`, "A\U0001F600"},
		{`\\u0041`, `\\u0041`},
		{`\\\u0041`, `\\A`},
		{"caf\xe9", "café"},
	}
	for _, tc := range tests {
		q := pickletest.New().UnicodeLine(tc.in).UnicodeLine("x").Op(pickle.OpStackGlobal, pickle.OpStop).Bytes()
		r := scan(q, pickle.Options{})
		if r.Err != nil || r.Imports[0].Module != tc.want {
			t.Errorf("UNICODE %q: module %q (err %v), want %q", tc.in, r.Imports[0].Module, r.Err, tc.want)
		}
	}
}

func TestMemoIndices(t *testing.T) {
	// A huge LONG_BINPUT index must not make the memo allocate for it.
	p := pickletest.New().Proto(2).Unicode("os").Put(1<<31).Op(pickle.OpPop).Unicode("system").Op(pickle.OpMemoize).
		Op(pickle.OpPop).Get(1<<31).Get(1).Op(pickle.OpStackGlobal, pickle.OpStop).Bytes()
	r := scan(p, pickle.Options{})
	if r.Err != nil || names(r)[0] != "os.system" {
		t.Errorf("err %v imports %v", r.Err, names(r))
	}
}

func TestSingle(t *testing.T) {
	benign := pickletest.New().Proto(2).Int(3).Stop().Bytes()
	r := scan(slices.Concat(benign, pickletest.Reduce0("os", "system", "id")), pickle.Options{Single: true})
	if r.Err != nil || len(r.Pickles) != 1 || !r.Trailing || r.End != int64(len(benign)) || len(r.Imports) != 0 || r.Pickles[0].Int != "3" {
		t.Errorf("err %v pickles %+v trailing %v end %d", r.Err, r.Pickles, r.Trailing, r.End)
	}
}

func TestInstImportsBeforeFailing(t *testing.T) {
	// find_class runs before the missing MARK is noticed.
	r := scan([]byte("ios\nsystem\n."), pickle.Options{})
	if !isSyntax(r.Err) || len(r.Imports) != 1 || !r.IsPickle() {
		t.Errorf("err %v imports %+v", r.Err, r.Imports)
	}
}
