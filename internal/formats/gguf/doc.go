// Package gguf reads and writes the header of GGUF files (the llama.cpp /
// ggml model format): the magic and version, the metadata key-value pairs
// and the tensor infos. It never reads tensor data.
//
// Every input is untrusted. [Read] bounds what a file can make it do: the
// header it reads is at most [MaxHeaderSize] bytes; counts, string
// lengths, array lengths and array nesting have limits (see the constants);
// and no slice or string is allocated from a size read from the file
// before checking that the bytes it needs remain in the header, so the
// memory Read allocates is a small multiple of the bytes it consumed. Tensor
// infos are checked the way ggml checks them (known type, at most 4
// dimensions, no element-count overflow, a first dimension that is a whole
// number of blocks, unique names ≤ 64 bytes) and their byte ranges must be
// aligned, lie inside the file and not overlap; unlike ggml, gaps between
// tensors and a listing order different from the data order are allowed.
// Duplicate keys, empty keys and unknown value types are errors.
//
// Versions 2 and 3 are read; version 1 (32-bit counts, retired by ggml) is
// refused. Big-endian files (a v3 feature with no flag: the version reads as
// a number whose low 16 bits are zero) are detected and read, as
// huggingface.js does; [File.ByteOrder] reports which it was.
//
// [File.Summary] gives the Hub's `gguf` object of model info. [Write] is an
// encoder for tests here and in other packages.
//
// The package imports only the standard library and knows nothing of HTTP
// or storage: callers hand it an [io.ReaderAt].
package gguf
