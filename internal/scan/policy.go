package scan

import (
	"strings"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// The verdict rules. An import is judged on its resolved module.name
// (after the unpickler's Python 2 renaming), in this order:
//
//  1. an EXT import or a name computed at load time is dangerous;
//  2. an exact match in the allowlist is innocuous;
//  3. a dunder attribute anywhere in the name, or a dunder module other
//     than __main__ and __future__, is dangerous;
//  4. a match in the denylist is dangerous: a denied module or any of its
//     parents, a denied module component anywhere in the module or the
//     name (so "pathlib" + "os.system" is caught), a denied exact global,
//     or a last name component that executes or loads (eval, system,
//     loads, ...);
//  5. anything else is suspicious.
//
// How the import was used can raise its level: BUILD on the imported
// object itself (setattr on a function or module) is dangerous, mutating it
// with SETITEM/APPEND is suspicious.

// torchAllowed is PyTorch's weights_only allowlist
// (torch/_weights_only_unpickler.py, _get_allowed_globals), by full name.
var torchAllowed = func() map[string]bool {
	m := map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			m[n] = true
		}
	}
	add("collections.OrderedDict", "collections.Counter",
		"torch.nn.parameter.Parameter", "torch.serialization._get_layout",
		"torch.Size", "torch.Tensor", "torch.device",
		"_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
		"torch._tensor._rebuild_from_type_v2")
	for _, f := range []string{"_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
		"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_sparse_tensor",
		"_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
		"_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor"} {
		add("torch._utils." + f)
	}
	// dtypes, by their canonical names (str(dtype)).
	for _, d := range []string{"float32", "float64", "float16", "bfloat16", "complex32", "complex64",
		"complex128", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "bool",
		"qint8", "quint8", "qint32", "quint4x2", "quint2x4", "float8_e5m2", "float8_e4m3fn",
		"float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
		"bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
		"uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
		"int1", "int2", "int3", "int4", "int5", "int6", "int7"} {
		add("torch." + d)
	}
	for _, q := range []string{"per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
		"per_channel_symmetric", "per_channel_affine_float_qparams"} {
		add("torch." + q)
	}
	// Tensor and storage classes (torch._tensor_classes, torch._storage_classes).
	for _, t := range []string{"Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool"} {
		add("torch."+t+"Tensor", "torch.cuda."+t+"Tensor", "torch."+t+"Storage", "torch.cuda."+t+"Storage")
		if t != "BFloat16" && t != "Half" && t != "Bool" {
			add("torch.sparse."+t+"Tensor", "torch.cuda.sparse."+t+"Tensor")
		}
	}
	for _, t := range []string{"ComplexDouble", "ComplexFloat", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4"} {
		add("torch." + t + "Storage")
	}
	add("torch.storage.TypedStorage", "torch.storage.UntypedStorage", "torch.TypedStorage", "torch.UntypedStorage",
		"torch.cuda.UntypedStorage")
	return m
}()

// allowlist is what this scanner calls innocuous: PyTorch's weights_only
// allowlist, numpy's array and scalar reconstruction, joblib's array
// wrapper, and constructors of plain builtin values.
var allowlist = func() map[string]bool {
	m := map[string]bool{}
	for k := range torchAllowed {
		m[k] = true
	}
	for _, n := range []string{
		"numpy.ndarray", "numpy.dtype",
		"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
		"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
		"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
		"joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
		// numpy.random state objects (RandomState, Generator), common in
		// scikit-learn models; the bit generator class is a separate import.
		"numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__generator_ctor",
		"numpy.random._pickle.__bit_generator_ctor",
		"copyreg._reconstructor", "builtins.object",
		"builtins.frozenset", "builtins.bytes", "builtins.slice", "builtins.range",
		"builtins.int", "builtins.float", "builtins.bool", "builtins.str", "builtins.tuple",
		"builtins.list", "builtins.dict",
	} {
		m[n] = true
	}
	return m
}()

// deniedModules are dangerous together with all their submodules: the
// union of picklescan's "*" entries, modelscan's CRITICAL and HIGH modules
// and fickling's ML module prefixes.
var deniedModules = setOf(
	"aiohttp", "asyncio", "bdb", "commands", "ctypes", "httplib", "nt", "posix", "os", "requests",
	"runpy", "shutil", "socket", "ssl", "subprocess", "sys", "pdb", "pickle", "_pickle", "pip", "pty",
	"profile", "pydoc", "test", "timeit", "urllib", "uuid", "venv", "webbrowser", "_osx_support",
	"_aix_support", "_pyrepl", "cProfile", "distutils", "numpy.f2py", "numpy.distutils", "numpy.testing",
	"torch.hub", "torch._dynamo", "torch._inductor", "torch.jit", "torch.compiler", "torch.utils.bottleneck",
	"torch.utils.collect_env", "torch.utils.data.datapipes.utils.decoder", "torch.package",
	"torch.distributed.elastic.rendezvous", "dill", "cloudpickle", "joblib", "marshal", "importlib",
	"builtins", "__builtin__", "__builtins__", "code", "codeop", "types", "pkgutil", "zipimport",
	"multiprocessing", "_posixsubprocess", "imp", "_imp", "site", "operator", "_operator", "functools",
	"jsonpickle", "shelve", "fickling", "picklescan", "modelscan", "model_unpickler", "saferpickle",
	"modelaudit", "mlflow.projects", "pandas.io.pickle",
)

// deniedComponents are fickling's UNSAFE_IMPORTS: a module or name with any
// of them as a dotted component is dangerous.
var deniedComponents = setOf(
	"__builtin__", "__builtins__", "builtins",
	"os", "posix", "nt", "subprocess", "sys", "pty", "commands", "multiprocessing", "_posixsubprocess",
	"code", "codeop", "runpy", "marshal", "types", "compile", "exec", "eval", "doctest",
	"_interpreters", "_xxsubinterpreters",
	"importlib", "_frozen_importlib", "_frozen_importlib_external", "_imp", "imp", "pkgutil", "zipimport",
	"gc", "site", "unittest", "inspect", "test",
	"_operator", "operator", "functools",
	"cProfile", "profile", "pdb", "bdb", "timeit", "trace",
	"socket", "ssl", "httplib", "http", "urllib", "urllib2", "requests", "aiohttp", "asyncio",
	"webbrowser", "smtplib", "imaplib", "ftplib", "poplib", "telnetlib", "nntplib", "socketserver",
	"xmlrpc", "select", "selectors",
	"ctypes", "_ctypes",
	"pickle", "_pickle", "dill", "cloudpickle", "joblib",
	"shutil", "tempfile", "filecmp", "distutils", "fileinput", "glob", "platform", "linecache",
	"difflib", "compileall", "py_compile", "mmap", "tarfile", "zipfile", "shelve", "sqlite3", "_sqlite3",
	"pydoc", "pexpect", "pipes", "venv", "ensurepip", "pip", "idlelib", "lib2to3",
	"signal", "_signal", "threading", "_thread", "atexit", "logging", "syslog",
	"uuid", "_osx_support", "_aix_support",
	"fickling", "picklescan", "modelscan", "model_unpickler", "saferpickle", "modelaudit",
)

// deniedGlobals are exact globals known to run code or load nested
// pickles that the module rules above do not cover.
var deniedGlobals = setOf(
	"torch.load", "torch.serialization.load", "torch.storage._load_from_bytes", "torch.compile",
	"torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression",
	"torch.utils._config_module.ConfigModule", "torch.utils._config_module.ConfigModule.load_config",
	"torch.distributed.elastic.rendezvous.api.basichandlers",
	"numpy.load", "numpy.lib.npyio.load", "numpy.lib._npyio_impl.load", "numpy.fromfile",
	"_io.FileIO", "io.FileIO", "_io.open", "io.open", "io.open_code",
	"pandas.read_pickle", "pandas.read_csv", "pandas.io.parsers.readers.read_csv",
	"yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all", "yaml.unsafe_load_all",
	"keras.models.load_model", "tensorflow.keras.models.load_model",
	"code.InteractiveInterpreter.runcode", "trace.Trace.run", "trace.Trace.runctx",
	// torch.fx rebuilds a GraphModule by exec-ing Python source from the pickle.
	"torch.fx.graph_module.reduce_graph_module", "torch.fx.graph_module.reduce_package_graph_module",
	"torch.fx.graph_module.reduce_deploy_graph_module", "torch.fx.graph_module._forward_from_src",
	"torch.fx.graph_module._exec_with_source",
)

// deniedNames are last name components that execute code, open files or
// load nested payloads, whatever module they come from.
var deniedNames = setOf(
	"eval", "exec", "execfile", "compile", "system", "popen", "popen2", "popen3", "popen4",
	"spawn", "spawnl", "spawnle", "spawnlp", "spawnv", "spawnve", "spawnvp", "execv", "execve",
	"execvp", "execl", "fork", "forkpty", "Popen", "check_output", "check_call", "getoutput",
	"getstatusoutput", "__import__", "import_module", "getattr", "setattr", "delattr", "globals",
	"locals", "vars", "breakpoint", "input", "load", "loads", "load_module", "exec_module",
	"runcode", "runsource", "run_path", "run_module", "runctx", "runcall", "open", "apply",
	"attrgetter", "methodcaller", "itemgetter", "partial", "resolve_name", "locate",
)

// builtinsHarmless are builtins fickling considers safe (SAFE_BUILTINS):
// builtins.X for them is suspicious rather than dangerous when not
// allowlisted.
var builtinsHarmless = setOf("bool", "int", "float", "complex", "str", "bytes", "bytearray", "list",
	"tuple", "set", "frozenset", "dict", "len", "abs", "sum", "min", "max", "round", "pow", "divmod",
	"sorted", "reversed", "enumerate", "zip", "range", "map", "filter", "slice", "iter", "next", "all",
	"any", "hash", "id", "repr", "ascii", "bin", "hex", "oct", "ord", "chr", "isinstance",
	"issubclass", "object", "callable", "format")

func setOf(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func isDunder(s string) bool {
	return len(s) > 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__")
}

// classify judges one import.
func classify(im pickle.Import) (Safety, string) {
	if im.Ext != 0 {
		return Dangerous, "imported through the copyreg extension registry (EXT opcode)"
	}
	if im.Dynamic {
		return Dangerous, "module or name is computed at load time, not a constant"
	}
	s, why := classifyName(im.Module, im.Name)
	if s < Dangerous && (im.RawModule != im.Module || im.RawName != im.Name) {
		// The raw name is what a protocol >= 3 unpickler imports.
		if rs, rwhy := classifyName(im.RawModule, im.RawName); rs == Dangerous {
			return rs, rwhy
		}
	}
	return s, why
}

func classifyName(module, name string) (Safety, string) {
	full := module + "." + name
	if allowlist[full] {
		return Innocuous, "allowlisted"
	}
	mods := strings.Split(module, ".")
	names := strings.Split(name, ".")
	for _, n := range names {
		if isDunder(n) {
			return Dangerous, "dunder attribute " + n
		}
	}
	for _, m := range mods {
		if isDunder(m) && m != "__main__" && m != "__future__" && m != "__builtin__" {
			return Dangerous, "dunder module " + m
		}
	}
	if deniedGlobals[full] {
		return Dangerous, "known to execute code or load nested data"
	}
	for i := range mods {
		if p := strings.Join(mods[:i+1], "."); deniedModules[p] {
			if (p == "builtins" || p == "__builtin__") && len(mods) == 1 && len(names) == 1 && builtinsHarmless[name] {
				return Suspicious, "builtin not on the allowlist"
			}
			return Dangerous, "module " + p + " is denied"
		}
	}
	for _, c := range append(mods, names...) {
		if deniedComponents[c] {
			return Dangerous, "denied component " + c
		}
	}
	if last := names[len(names)-1]; deniedNames[last] {
		return Dangerous, "name " + last + " executes code or loads data"
	}
	return Suspicious, "not on the allowlist"
}

// issueSafety is the level of each structural finding of the pickle
// analysis.
var issueSafety = map[pickle.Issue]Safety{
	pickle.IssueDynamicGlobal: Dangerous,
	pickle.IssueExtension:     Dangerous,
	pickle.IssueBuildGlobal:   Dangerous,
	pickle.IssueCallNonGlobal: Suspicious,
	pickle.IssueMemoOverwrite: Suspicious,
	pickle.IssueMemoExpansion: Suspicious,
	pickle.IssueOutOfBand:     Suspicious,
	pickle.IssueFrame:         Suspicious,
	pickle.IssueProto:         Suspicious,
	pickle.IssueBadName:       Suspicious,
	pickle.IssueTrailing:      Innocuous,
	pickle.IssueJoblibArray:   Suspicious,
	pickle.IssueMalformed:     Suspicious,
	pickle.IssueLimit:         Suspicious,
}

// torchOpcodes are the opcodes PyTorch's weights_only unpickler accepts.
var torchOpcodes = func() pickle.OpSet {
	var s pickle.OpSet
	for _, o := range []pickle.Op{pickle.OpProto, pickle.OpStop, pickle.OpGlobal, pickle.OpNewObj,
		pickle.OpReduce, pickle.OpBuild, pickle.OpAppend, pickle.OpAppends, pickle.OpSetItem,
		pickle.OpSetItems, pickle.OpMark, pickle.OpTuple, pickle.OpTuple1, pickle.OpTuple2,
		pickle.OpTuple3, pickle.OpNone, pickle.OpNewFalse, pickle.OpNewTrue, pickle.OpEmptyTuple,
		pickle.OpEmptyList, pickle.OpEmptyDict, pickle.OpEmptySet, pickle.OpBinInt, pickle.OpBinInt1,
		pickle.OpBinInt2, pickle.OpBinFloat, pickle.OpBinUnicode, pickle.OpShortBinString,
		pickle.OpLong1, pickle.OpBinPersID, pickle.OpBinGet, pickle.OpLongBinGet, pickle.OpBinPut,
		pickle.OpLongBinPut} {
		s.Add(o)
	}
	return s
}()

// torchBuildable are the allowlisted callables whose results PyTorch lets
// BUILD touch: those returning instances of allowlisted types. _codecs.encode
// (bytes) and _get_layout (torch.layout) are not.
func torchBuildable(name string) bool {
	return torchAllowed[name] && name != "_codecs.encode" && name != "torch.serialization._get_layout"
}

// weightsOnly replays the rules of PyTorch's weights_only unpickler over
// one analysed stream: accepted opcodes only, GLOBAL imports of allowlisted
// names only, REDUCE and NEWOBJ of allowlisted globals only, BUILD only on
// instances of allowlisted types, APPEND only to lists, SETITEM only to
// dicts, OrderedDicts and Counters, persistent ids only ints or
// ("storage", ...) tuples.
func weightsOnly(r *pickle.Result) bool {
	if !r.Complete() || len(r.Pickles) == 0 {
		return false
	}
	for _, o := range r.Opcodes.Ops() {
		if !torchOpcodes.Has(o) {
			return false
		}
	}
	name := func(i int) string {
		if i < 0 {
			return ""
		}
		im := r.Imports[i]
		if im.Dynamic || im.Ext != 0 {
			return ""
		}
		return im.Module + "." + im.Name
	}
	for i, im := range r.Imports {
		if im.Op != pickle.OpGlobal || !torchAllowed[name(i)] {
			return false
		}
		switch strings.SplitN(im.Module, ".", 2)[0] {
		case "sys", "os", "posix", "nt":
			return false
		}
	}
	for _, a := range r.Actions {
		t := a.Target
		switch a.Op {
		case pickle.OpReduce, pickle.OpNewObj:
			if t.Kind != pickle.KindGlobal || !torchAllowed[name(t.Import)] {
				return false
			}
		case pickle.OpBuild:
			if t.Kind != pickle.KindObject || (t.By != pickle.OpReduce && t.By != pickle.OpNewObj) || !torchBuildable(name(t.Import)) {
				return false
			}
		case pickle.OpAppend, pickle.OpAppends:
			if t.Kind != pickle.KindList {
				return false
			}
		case pickle.OpSetItem, pickle.OpSetItems:
			ok := t.Kind == pickle.KindDict ||
				t.Kind == pickle.KindObject && (t.By == pickle.OpReduce || t.By == pickle.OpNewObj) &&
					(name(t.Import) == "collections.OrderedDict" || name(t.Import) == "collections.Counter")
			if !ok {
				return false
			}
		case pickle.OpBinPersID:
		default:
			return false
		}
	}
	for _, p := range r.Persistent {
		if p.Op != pickle.OpBinPersID {
			return false
		}
		if !(p.Kind == pickle.KindInt || p.Kind == pickle.KindTuple && (p.Len == 0 || p.Tag == "storage")) {
			return false
		}
	}
	return true
}
