// Package scan inspects uploaded files for code that would run when they
// are loaded: the pickles inside PyTorch checkpoints, joblib dumps, numpy
// object arrays and plain pickle files, in whatever container carries them.
// It is used by the server when a file is committed and by "agora scan".
//
// # What it reads
//
// Files are classified by their content, never by their name ([Detect]):
// zip (PyTorch ≥ 1.6, .npz, any zip), tar (legacy PyTorch and any tar),
// gzip, bzip2 and zlib streams, numpy .npy, raw pickle streams (with
// PyTorch's legacy stacked pickles and joblib's interleaved array bytes),
// and anything else is tried as a protocol-0 pickle. Containers nest, up to
// a depth limit. Compressions the standard library cannot read (xz, lzma,
// lz4, zstd, 7z) leave the file "unscanned", never "safe".
//
// Containers are read the way their loaders read them. Zip archives are
// read through the central directory as PyTorch's miniz reader does: CRC
// mismatches and general-purpose flags (encryption bits included) are
// reported but do not stop the scan; local headers are cross-checked with
// the central directory; duplicate names are scanned all, since which one
// a loader picks is not defined. Everything is read through the
// [io.ReaderAt] it is handed: tensor and array payloads are skipped, not
// read, so the cost of a scan follows the size of the pickles, not of the
// file.
//
// # Verdicts
//
// The pickle analysis (internal/formats/pickle) emulates the unpickler and
// reports every import and how it is used. Each import is then judged:
// "innocuous" only on an exact match in an allowlist modelled on PyTorch's
// weights_only unpickler plus numpy's and joblib's reconstruction helpers;
// "dangerous" when it is known to run code (exec, os, subprocess, nested
// loaders, ...), is computed at load time, names a dunder attribute, or
// comes from the copyreg extension registry; "suspicious" otherwise.
// Structural findings (BUILD on a module-level object, malformed streams,
// zip anomalies) raise the level too. A file whose analysis exhausted a
// budget is "unscanned" whatever was seen before.
//
// [Result.WeightsOnly] additionally replays PyTorch's weights_only rules
// (opcodes, globals, call, BUILD and container targets, persistent ids)
// over the pickles torch.load would read, which is the strongest green
// verdict the scanner gives.
//
// # Extension point
//
// safetensors and GGUF files are recognised by [Detect] and reported as
// carrying no pickle; structural checks of those formats belong in their
// own packages and can be dispatched from the switch in scanBlob.
//
// The package never imports net/http and never executes anything it reads.
package scan
