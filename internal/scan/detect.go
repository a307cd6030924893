package scan

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// A Kind is what a file or archive member is, as recognised by content.
type Kind string

// Kinds returned by [Detect].
const (
	KindUnknown     Kind = "unknown"
	KindPickle      Kind = "pickle"
	KindZip         Kind = "zip"
	KindTar         Kind = "tar"
	KindGzip        Kind = "gzip"
	KindBzip2       Kind = "bzip2"
	KindZlib        Kind = "zlib"
	KindXZ          Kind = "xz"
	KindLZMA        Kind = "lzma"
	KindLZ4         Kind = "lz4"
	KindZstd        Kind = "zstd"
	Kind7z          Kind = "7z"
	KindNumpy       Kind = "npy"
	KindSafetensors Kind = "safetensors"
	KindGGUF        Kind = "gguf"
)

// Kinds [ScanFile] refines a container kind to when the content says so.
const (
	// KindTorchZip: a zip holding <archive>/data.pkl (PyTorch ≥ 1.6).
	KindTorchZip Kind = "pytorch-zip"
	// KindTorchLegacy: stacked pickles starting with PyTorch's magic number.
	KindTorchLegacy Kind = "pytorch-legacy"
	// KindTorchTar: the PyTorch 0.1 tar of sys_info, pickle, storages and
	// tensors.
	KindTorchTar Kind = "pytorch-tar"
	// KindNPZ: a zip of .npy members.
	KindNPZ Kind = "npz"
	// KindJoblib: a pickle with joblib array payloads.
	KindJoblib Kind = "joblib"
)

// MayHoldPickle reports whether files of kind k can carry pickles. It is
// false for safetensors and GGUF, whose structural checks live elsewhere.
func (k Kind) MayHoldPickle() bool {
	return k != KindSafetensors && k != KindGGUF
}

// Unsupported reports whether k is a compression or archive format the
// scanner cannot open, so that its content stays unscanned.
func (k Kind) Unsupported() bool {
	switch k {
	case KindXZ, KindLZMA, KindLZ4, KindZstd, Kind7z:
		return true
	}
	return false
}

// headSize is how much of a blob detection looks at.
const headSize = 512

// Detect reads the start of r and returns the kind of the size bytes it
// holds. Protocol 0 and 1 pickles have no magic number: a blob that starts
// like one is reported as KindPickle when its first bytes parse as a
// pickle that imports something or completes; [ScanFile] still tries every
// KindUnknown blob as a pickle.
func Detect(r io.ReaderAt, size int64) (Kind, error) {
	head := make([]byte, min(size, headSize))
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return KindUnknown, err
	}
	return detectHead(head[:n], size), nil
}

func detectHead(h []byte, size int64) Kind {
	has := func(p string) bool { return bytes.HasPrefix(h, []byte(p)) }
	switch {
	case has("PK\x03\x04"), has("PK\x05\x06"), has("PK\x07\x08"):
		return KindZip
	case has("\x93NUMPY"):
		return KindNumpy
	case has("\x1f\x8b"):
		return KindGzip
	case has("BZh") && len(h) > 3 && h[3] >= '1' && h[3] <= '9':
		return KindBzip2
	case has("\xfd7zXZ\x00"):
		return KindXZ
	case has("\x5d\x00\x00"):
		return KindLZMA // joblib's "lzma" (LZMA alone) format
	case has("\x04\x22\x4d\x18"):
		return KindLZ4
	case has("\x28\xb5\x2f\xfd"):
		return KindZstd
	case has("7z\xbc\xaf\x27\x1c"):
		return Kind7z
	case has("GGUF"):
		return KindGGUF
	case len(h) >= 2 && h[0] == 0x78 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0:
		return KindZlib // joblib's "zlib" compressor
	case isZFile(h):
		return KindZlib // joblib < 0.10 "ZF" files
	case isSafetensors(h, size):
		return KindSafetensors
	case len(h) >= 2 && h[0] == byte(pickle.OpProto) && h[1] <= 5:
		return KindPickle
	case isTar(h):
		return KindTar
	}
	if len(h) > 0 && pickle.Op(h[0]).Valid() {
		r := pickle.Scan(bytes.NewReader(h), pickle.Options{Limits: pickle.Limits{MaxOps: 4096}})
		if len(r.Pickles) > 0 || plausible(r) {
			return KindPickle
		}
	}
	return KindUnknown
}

// isSafetensors checks the 8-byte little-endian header length and the
// opening brace of the JSON header.
func isSafetensors(h []byte, size int64) bool {
	if len(h) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(h)
	return n >= 2 && n <= 100<<20 && int64(n) <= size-8 && h[8] == '{'
}

// isTar checks a ustar or V7 header block by its checksum, as Python's
// tarfile does.
func isTar(h []byte) bool {
	if len(h) < 512 {
		return false
	}
	field := bytes.TrimRight(bytes.TrimLeft(h[148:156], " "), " \x00")
	want, err := strconv.ParseUint(string(field), 8, 32)
	if err != nil || len(field) == 0 {
		return false
	}
	var unsigned, signed int64
	for i, c := range h[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return h[0] != 0 && (uint64(unsigned) == want || uint64(signed) == want)
}

// zfileHeader is the length of joblib's old "ZF" header: the prefix and the
// payload length in hex, padded to 19 bytes, before a zlib stream.
const zfileHeader = 2 + 19

func isZFile(h []byte) bool {
	return len(h) > zfileHeader+1 && bytes.HasPrefix(h, []byte("ZF")) &&
		h[zfileHeader] == 0x78 && (uint16(h[zfileHeader])<<8|uint16(h[zfileHeader+1]))%31 == 0
}
