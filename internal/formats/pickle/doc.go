// Package pickle statically analyses Python pickle streams by emulating the
// unpickler's virtual machine: its stack, its MARK metastack, its memo and
// its framing, for every opcode of protocols 0 to 5 as CPython's
// Lib/pickle.py defines them. Nothing is ever executed; the emulation only
// tracks where values came from, which is what a security scanner needs:
// every global that a stream imports (GLOBAL, STACK_GLOBAL, INST, EXT1/2/4),
// how each one is used (called by REDUCE, instantiated by NEWOBJ, OBJ or
// INST, mutated by BUILD), every persistent id, and structural oddities that
// scanners have been fooled by.
//
// The package reports facts and leaves policy to its callers: it does not
// decide that an import is dangerous. internal/scan turns a [Result] into a
// verdict.
//
// # Why a real emulation
//
// Scanners that grep opcodes, or that guess STACK_GLOBAL operands from the
// opcodes preceding it, have been bypassed repeatedly (memo poisoning,
// operands assembled by calls, results discarded by POP). Here STACK_GLOBAL
// pops the two values that are really on the emulated stack: when both are
// string constants the import is resolved, otherwise it is reported as
// dynamic. A GET pushes exactly the value that was PUT.
//
// # Budgets
//
// Every stream is parsed under [Limits]: bytes, opcodes, stack depth, memo
// size and string length. Lengths read from the stream are checked against
// the input that remains and against the budget before anything is
// allocated, and long strings are skipped rather than kept. Exceeding a
// budget stops the analysis with a [*LimitError]: the result is incomplete,
// and callers must never treat it as clean.
//
// # Streams of several pickles
//
// A file may hold several pickles back to back (legacy PyTorch files hold
// five). After each STOP the machine carries on while bytes remain and they
// parse as another pickle. Bytes after the last pickle that do not form a
// pickle, and from which nothing could be imported, are reported as
// trailing data rather than as an error.
//
// # Dialects
//
// joblib writes raw array bytes into the middle of its pickle stream, after
// the BUILD of each joblib.numpy_pickle.NumpyArrayWrapper. With
// [Options.Joblib] the machine skips those bytes exactly as joblib.load
// reads them (or parses the nested pickle of an object array) and resumes
// parsing after them. With [Options.TorchLegacy] a stream whose first pickle
// is PyTorch's legacy magic number is read as torch.load reads it: five
// pickles, then raw storage bytes.
package pickle
