// Package safetensors reads and writes the header of safetensors files and
// parses the sharded-checkpoint index (model.safetensors.index.json).
//
// Every input is untrusted. [ReadHeader] validates a header exactly as the
// reference Rust implementation does (huggingface/safetensors
// `read_metadata` + `Metadata::validate`): known dtypes, tensor byte ranges
// that are contiguous, start at 0, do not overlap, match dtype size times
// element count, and cover the data section exactly, so a file can neither
// hide bytes between tensors (polyglot files) nor make a small file declare
// huge tensors. On top of the reference it rejects duplicate JSON keys,
// which the format forbids but serde and encoding/json silently accept.
//
// Allocation is bounded by the input: ReadHeader never allocates more than
// min(declared header length, file size − 8, [MaxHeaderSize]) for the raw
// header, and ParseIndex reads at most [MaxIndexSize] bytes.
//
// The package also computes the parameter counts the Hub shows as
// `safetensors: {parameters, total, sharded}` ([Header.Parameters],
// [Header.Total], [Index.Count]) and has an encoder, [Write], that other
// packages' tests use to produce valid files.
//
// It imports only the standard library and knows nothing of HTTP or storage:
// callers hand it an [io.ReaderAt] (a blob) or an [io.Reader].
package safetensors
