package scan

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// Safety is the level of an import, a finding or a whole file, ordered from
// least to most severe. The names are Hugging Face's.
type Safety int

// Safety levels. The zero value is not a verdict.
const (
	Innocuous Safety = iota + 1
	Suspicious
	Dangerous
)

// String returns the level's name, or "unknown" for the zero value.
func (s Safety) String() string {
	switch s {
	case Innocuous:
		return "innocuous"
	case Suspicious:
		return "suspicious"
	case Dangerous:
		return "dangerous"
	}
	return "unknown"
}

// MarshalText renders the level as Hugging Face does.
func (s Safety) MarshalText() ([]byte, error) {
	if s < Innocuous || s > Dangerous {
		return nil, fmt.Errorf("scan: invalid safety level %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses a level rendered by MarshalText.
func (s *Safety) UnmarshalText(b []byte) error {
	switch string(b) {
	case "innocuous":
		*s = Innocuous
	case "suspicious":
		*s = Suspicious
	case "dangerous":
		*s = Dangerous
	default:
		return fmt.Errorf("scan: unknown safety level %q", b)
	}
	return nil
}

// Status says how far a scan got.
type Status string

const (
	// StatusScanned: every part of the file a loader could execute was
	// examined.
	StatusScanned Status = "scanned"
	// StatusUnscanned: part of the file could not be examined (a budget
	// was exhausted, a compression or format is not supported). Never
	// treat it as safe.
	StatusUnscanned Status = "unscanned"
	// StatusError: the file could not be read.
	StatusError Status = "error"
)

// Limits bound the work of one [ScanFile]. Zero fields take the defaults of
// [DefaultLimits].
type Limits struct {
	// Pickle bounds each pickle stream (see pickle.Limits).
	Pickle pickle.Limits
	// MaxOps bounds the opcodes executed over all pickle streams of the
	// file.
	MaxOps int64
	// MaxDepth bounds the nesting of containers: a zip in a zip, a tar in
	// a gzip.
	MaxDepth int
	// MaxMembers bounds the archive members examined over the file.
	MaxMembers int
	// MaxDecompressed bounds the bytes produced by decompression over the
	// file (compressed zip members, gzip, bzip2, zlib).
	MaxDecompressed int64
	// MaxBuffered bounds a decompressed container that must be held in
	// memory to be read at random (a zip inside a gzip or a deflated zip
	// member).
	MaxBuffered int64
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxOps:          4_000_000,
		MaxDepth:        4,
		MaxMembers:      10_000,
		MaxDecompressed: 4 << 30,
		MaxBuffered:     64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxOps == 0 {
		l.MaxOps = d.MaxOps
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxMembers == 0 {
		l.MaxMembers = d.MaxMembers
	}
	if l.MaxDecompressed == 0 {
		l.MaxDecompressed = d.MaxDecompressed
	}
	if l.MaxBuffered == 0 {
		l.MaxBuffered = d.MaxBuffered
	}
	return l
}

// An Import is a global some pickle of the file imports, with its verdict.
type Import struct {
	// Module and Name are the resolved global ("unknown" for a part that
	// is not a constant).
	Module string `json:"module"`
	Name   string `json:"name"`
	Safety Safety `json:"safety"`
	// Reason explains the verdict.
	Reason string `json:"reason,omitempty"`
	// Uses lists how the global was used ("call", "new", "build", ...;
	// "value" when it was only referenced).
	Uses string `json:"uses"`
	// Path is the member where it was first seen ("" for the file itself).
	Path  string `json:"path,omitempty"`
	Count int    `json:"count"`
}

// A Finding is a structural observation about the file.
type Finding struct {
	Issue  string `json:"issue"`
	Safety Safety `json:"safety"`
	// Path is the member it concerns ("" for the file itself); nested
	// members are joined with ":".
	Path string `json:"path,omitempty"`
	// Offset is a byte offset in the member's stream, or -1.
	Offset int64  `json:"offset"`
	Detail string `json:"detail,omitempty"`
}

// Result is the verdict on one file.
type Result struct {
	Name string `json:"name,omitempty"`
	// Kind is what the file is: a container kind from [Detect], refined
	// to KindTorchZip, KindTorchLegacy, KindNPZ or KindJoblib when the
	// content says so.
	Kind   Kind   `json:"kind"`
	Status Status `json:"status"`
	// Safety is the highest level over imports and findings. A file with
	// no pickle content is Innocuous; an unscanned file is at least
	// Suspicious.
	Safety   Safety    `json:"safety"`
	Imports  []Import  `json:"imports"`
	Findings []Finding `json:"findings"`
	// WeightsOnly reports that torch.load(weights_only=True) would load
	// the file: it is a PyTorch file whose pickles pass a static replay of
	// PyTorch's weights-only unpickler rules.
	WeightsOnly bool `json:"weightsOnly"`
	// Pickles counts the pickle streams examined.
	Pickles int `json:"pickles"`
	// BytesRead is the number of bytes read from the file.
	BytesRead int64 `json:"bytesRead"`
	// Err describes a StatusError.
	Err string `json:"error,omitempty"`
}

// Safe reports whether the file was fully scanned and nothing in it is
// more than innocuous.
func (r *Result) Safe() bool {
	return r.Status == StatusScanned && r.Safety == Innocuous
}

// SecurityLevel maps the result to the per-file levels of Hugging Face's
// securityRepoStatus: "safe", "suspicious", "unsafe", "unscanned" or
// "error".
func (r *Result) SecurityLevel() string {
	switch {
	case r.Status == StatusError:
		return "error"
	case r.Safety == Dangerous:
		return "unsafe"
	case r.Status == StatusUnscanned:
		return "unscanned"
	case r.Safety == Suspicious:
		return "suspicious"
	case r.Safety == Innocuous:
		return "safe"
	}
	return "unscanned"
}

// PickleImportScan is the pickleImportScan object of Hugging Face's
// securityFileStatus.
type PickleImportScan struct {
	HighestSafetyLevel Safety         `json:"highestSafetyLevel"`
	Imports            []PickleImport `json:"imports"`
}

// PickleImport is one entry of [PickleImportScan.Imports].
type PickleImport struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Safety Safety `json:"safety"`
}

// PickleImportScan returns the Hugging Face shape of the result, or nil
// when the file holds no pickle (as for safetensors), in which case Hugging
// Face omits the object.
func (r *Result) PickleImportScan() *PickleImportScan {
	if r.Pickles == 0 && len(r.Imports) == 0 {
		return nil
	}
	out := &PickleImportScan{HighestSafetyLevel: r.Safety, Imports: []PickleImport{}}
	for _, im := range r.Imports {
		out.Imports = append(out.Imports, PickleImport{Module: im.Module, Name: im.Name, Safety: im.Safety})
	}
	return out
}

// ScanFile scans the size bytes of r and returns its verdict. name is only
// recorded in the result: what is scanned is decided by content. ScanFile
// calls r.ReadAt from the calling goroutine only, and reads the parts of
// the file that can hold pickles, not tensor or array payloads. It is safe
// to call concurrently on different files. A cancelled ctx or a read error
// ends the scan with StatusError.
func ScanFile(ctx context.Context, r io.ReaderAt, size int64, name string, limits Limits) Result {
	if size < 0 {
		return Result{Name: name, Kind: KindUnknown, Status: StatusError, Safety: Suspicious,
			Imports: []Import{}, Findings: []Finding{}, Err: "negative size"}
	}
	lim := limits.withDefaults()
	cr := &countingReaderAt{ctx: ctx, r: r}
	s := &scanner{
		ctx:         ctx,
		lim:         lim,
		opsLeft:     lim.MaxOps,
		decompLeft:  lim.MaxDecompressed,
		membersLeft: lim.MaxMembers,
		res:         Result{Name: name, Status: StatusScanned, Imports: []Import{}, Findings: []Finding{}},
		importIdx:   make(map[string]int),
	}
	top := &blob{ra: cr, size: size, depth: 0}
	kind := s.scanBlob(top)
	if s.res.Kind == "" {
		s.res.Kind = kind
	}
	// A file named as weights whose content is not recognisable (a header
	// too absurd to detect) still gets the format's structural check.
	if kind == KindUnknown {
		switch ext := strings.ToLower(path.Ext(name)); ext {
		case ".safetensors":
			s.checkStructure(top, KindSafetensors)
		case ".gguf":
			s.checkStructure(top, KindGGUF)
		}
	}
	s.finish()
	s.res.BytesRead = cr.n
	return s.res
}

// pathJoin joins nested member paths.
func pathJoin(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + ":" + child
}
