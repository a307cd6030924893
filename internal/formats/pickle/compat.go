package pickle

// The Python 2 to 3 renaming the unpickler applies to GLOBAL and INST names
// (CPython Lib/_compat_pickle.py, applied by find_class when fix_imports
// is on). PyTorch's weights-only unpickler applies a subset of it
// unconditionally. Imports are reported under the mapped name, so a
// protocol-0 "__builtin__ eval" is judged as builtins.eval.

type qualName struct{ module, name string }

var importMapping = map[string]string{
	"__builtin__":        "builtins",
	"copy_reg":           "copyreg",
	"Queue":              "queue",
	"SocketServer":       "socketserver",
	"ConfigParser":       "configparser",
	"repr":               "reprlib",
	"tkFileDialog":       "tkinter.filedialog",
	"tkSimpleDialog":     "tkinter.simpledialog",
	"tkColorChooser":     "tkinter.colorchooser",
	"tkCommonDialog":     "tkinter.commondialog",
	"Dialog":             "tkinter.dialog",
	"Tkdnd":              "tkinter.dnd",
	"tkFont":             "tkinter.font",
	"tkMessageBox":       "tkinter.messagebox",
	"ScrolledText":       "tkinter.scrolledtext",
	"Tkconstants":        "tkinter.constants",
	"Tix":                "tkinter.tix",
	"ttk":                "tkinter.ttk",
	"Tkinter":            "tkinter",
	"markupbase":         "_markupbase",
	"_winreg":            "winreg",
	"thread":             "_thread",
	"dummy_thread":       "_dummy_thread",
	"dbhash":             "dbm.bsd",
	"dumbdbm":            "dbm.dumb",
	"dbm":                "dbm.ndbm",
	"gdbm":               "dbm.gnu",
	"xmlrpclib":          "xmlrpc.client",
	"SimpleXMLRPCServer": "xmlrpc.server",
	"httplib":            "http.client",
	"htmlentitydefs":     "html.entities",
	"HTMLParser":         "html.parser",
	"Cookie":             "http.cookies",
	"cookielib":          "http.cookiejar",
	"BaseHTTPServer":     "http.server",
	"test.test_support":  "test.support",
	"commands":           "subprocess",
	"urlparse":           "urllib.parse",
	"robotparser":        "urllib.robotparser",
	"urllib2":            "urllib.request",
	"anydbm":             "dbm",
	"_abcoll":            "collections.abc",
	"cPickle":            "pickle",
	"_elementtree":       "xml.etree.ElementTree",
	"FileDialog":         "tkinter.filedialog",
	"SimpleDialog":       "tkinter.simpledialog",
	"DocXMLRPCServer":    "xmlrpc.server",
	"SimpleHTTPServer":   "http.server",
	"CGIHTTPServer":      "http.server",
	"UserDict":           "collections",
	"UserList":           "collections",
	"UserString":         "collections",
	"whichdb":            "dbm",
	"StringIO":           "io",
	"cStringIO":          "io",
}

var nameMapping = map[qualName]qualName{
	{"__builtin__", "xrange"}:                  {"builtins", "range"},
	{"__builtin__", "reduce"}:                  {"functools", "reduce"},
	{"__builtin__", "intern"}:                  {"sys", "intern"},
	{"__builtin__", "unichr"}:                  {"builtins", "chr"},
	{"__builtin__", "unicode"}:                 {"builtins", "str"},
	{"__builtin__", "long"}:                    {"builtins", "int"},
	{"__builtin__", "basestring"}:              {"builtins", "str"},
	{"itertools", "izip"}:                      {"builtins", "zip"},
	{"itertools", "imap"}:                      {"builtins", "map"},
	{"itertools", "ifilter"}:                   {"builtins", "filter"},
	{"itertools", "ifilterfalse"}:              {"itertools", "filterfalse"},
	{"itertools", "izip_longest"}:              {"itertools", "zip_longest"},
	{"UserDict", "IterableUserDict"}:           {"collections", "UserDict"},
	{"UserDict", "UserDict"}:                   {"collections", "UserDict"},
	{"UserList", "UserList"}:                   {"collections", "UserList"},
	{"UserString", "UserString"}:               {"collections", "UserString"},
	{"whichdb", "whichdb"}:                     {"dbm", "whichdb"},
	{"_socket", "fromfd"}:                      {"socket", "fromfd"},
	{"socket", "_socketobject"}:                {"socket", "SocketType"},
	{"_multiprocessing", "Connection"}:         {"multiprocessing.connection", "Connection"},
	{"multiprocessing.process", "Process"}:     {"multiprocessing.context", "Process"},
	{"multiprocessing.forking", "Popen"}:       {"multiprocessing.popen_fork", "Popen"},
	{"urllib", "ContentTooShortError"}:         {"urllib.error", "ContentTooShortError"},
	{"urllib", "getproxies"}:                   {"urllib.request", "getproxies"},
	{"urllib", "pathname2url"}:                 {"urllib.request", "pathname2url"},
	{"urllib", "quote_plus"}:                   {"urllib.parse", "quote_plus"},
	{"urllib", "quote"}:                        {"urllib.parse", "quote"},
	{"urllib", "unquote_plus"}:                 {"urllib.parse", "unquote_plus"},
	{"urllib", "unquote"}:                      {"urllib.parse", "unquote"},
	{"urllib", "url2pathname"}:                 {"urllib.request", "url2pathname"},
	{"urllib", "urlcleanup"}:                   {"urllib.request", "urlcleanup"},
	{"urllib", "urlencode"}:                    {"urllib.parse", "urlencode"},
	{"urllib", "urlopen"}:                      {"urllib.request", "urlopen"},
	{"urllib", "urlretrieve"}:                  {"urllib.request", "urlretrieve"},
	{"urllib2", "HTTPError"}:                   {"urllib.error", "HTTPError"},
	{"urllib2", "URLError"}:                    {"urllib.error", "URLError"},
	{"exceptions", "StandardError"}:            {"builtins", "Exception"},
	{"multiprocessing", "AuthenticationError"}: {"multiprocessing.context", "AuthenticationError"},
	{"multiprocessing", "BufferTooShort"}:      {"multiprocessing.context", "BufferTooShort"},
	{"multiprocessing", "ProcessError"}:        {"multiprocessing.context", "ProcessError"},
	{"multiprocessing", "TimeoutError"}:        {"multiprocessing.context", "TimeoutError"},
}

// MapName applies the unpickler's Python 2 to 3 renaming to module.name.
func MapName(module, name string) (string, string) {
	if q, ok := nameMapping[qualName{module, name}]; ok {
		return q.module, q.name
	}
	if module == "exceptions" {
		// Every Python 2 exception maps to builtins.
		return "builtins", name
	}
	if m, ok := importMapping[module]; ok {
		return m, name
	}
	return module, name
}
