package scan

import (
	"github.com/agorahub/agora/internal/formats/gguf"
	"github.com/agorahub/agora/internal/formats/safetensors"

	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// ioError wraps an error from the file being scanned (or the context), as
// opposed to an error in its content.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// countingReaderAt counts the bytes read from the scanned file and stops
// reading when ctx is done.
type countingReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
	n   int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, &ioError{err}
	}
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		err = &ioError{err}
	}
	return n, err
}

var errDecompressBudget = errors.New("decompression budget exhausted")

// budgetReader charges decompressed bytes to the file's budget.
type budgetReader struct {
	s *scanner
	r io.Reader
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.s.decompLeft <= 0 {
		return 0, errDecompressBudget
	}
	if int64(len(p)) > b.s.decompLeft {
		p = p[:b.s.decompLeft]
	}
	n, err := b.r.Read(p)
	b.s.decompLeft -= int64(n)
	return n, err
}

// A blob is a file or a member: either random access (ra) or a stream
// (decompressed data) that open produces from its start.
type blob struct {
	path  string
	ra    io.ReaderAt
	size  int64 // -1 when unknown
	depth int
	// open returns a fresh reader of a stream blob; first, if set, is
	// returned by the first call instead (the reader the head was peeked
	// from). A stream that cannot be re-read has open == nil.
	open  func() (io.Reader, error)
	first io.Reader
	head  []byte
}

func (b *blob) reader() (io.Reader, error) {
	if b.ra != nil {
		return io.NewSectionReader(b.ra, 0, b.size), nil
	}
	if b.first != nil {
		r := b.first
		b.first = nil
		return r, nil
	}
	if b.open == nil {
		return nil, errors.New("stream cannot be read twice")
	}
	return b.open()
}

// reopenable reports whether reader can be called again.
func (b *blob) reopenable() bool { return b.ra != nil || b.first != nil || b.open != nil }

// peek returns the first bytes of the blob.
func (b *blob) peek() ([]byte, error) {
	if b.head != nil {
		return b.head, nil
	}
	if b.ra != nil {
		h := make([]byte, min(max(b.size, 0), headSize))
		n, err := b.ra.ReadAt(h, 0)
		if err != nil && err != io.EOF {
			return nil, err
		}
		b.head = h[:n]
		return b.head, nil
	}
	r, err := b.reader()
	if err != nil {
		return nil, err
	}
	h := make([]byte, headSize)
	n, err := io.ReadFull(r, h)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	b.head = h[:n]
	b.first = io.MultiReader(bytes.NewReader(b.head), r)
	return b.head, nil
}

// from returns the part of b that starts at off.
func (b *blob) from(off int64) *blob {
	if b.ra != nil {
		n := max(b.size-off, 0)
		return &blob{path: b.path, ra: io.NewSectionReader(b.ra, off, n), size: n, depth: b.depth}
	}
	skip := func(r io.Reader) (io.Reader, error) {
		if _, err := io.CopyN(io.Discard, r, off); err != nil && err != io.EOF {
			return nil, err
		}
		return r, nil
	}
	nb := &blob{path: b.path, size: -1, depth: b.depth}
	if b.first != nil {
		first := b.first
		b.first = nil
		r, err := skip(first)
		if err == nil {
			nb.first = r
		}
	}
	if b.open != nil {
		open := b.open
		nb.open = func() (io.Reader, error) {
			r, err := open()
			if err != nil {
				return nil, err
			}
			return skip(r)
		}
	}
	return nb
}

type scanner struct {
	ctx         context.Context
	lim         Limits
	opsLeft     int64
	decompLeft  int64
	membersLeft int
	res         Result
	importIdx   map[string]int
	// torch holds the analyses of the pickles torch.load reads from the
	// top-level file; torchscript marks an archive torch.load refuses
	// with weights_only.
	torch       []*pickle.Result
	torchScript bool
	failed      bool
	// dropped counts findings and imports left out of the result by the
	// caps; droppedLevel is the highest level among them.
	dropped      int
	droppedLevel Safety
}

// fail records an error reading the file itself.
func (s *scanner) fail(err error) {
	if s.failed {
		return
	}
	s.failed = true
	s.res.Status = StatusError
	s.res.Err = err.Error()
}

// Caps on what a result lists, so that a hostile file cannot make the
// result itself huge. What is left out still counts in the file's level.
const (
	maxFindings = 1000
	maxImports  = 10_000
)

func (s *scanner) finding(path, issue string, safety Safety, off int64, detail string) {
	if len(s.res.Findings) >= maxFindings {
		s.dropped++
		s.droppedLevel = max(s.droppedLevel, safety)
		return
	}
	s.res.Findings = append(s.res.Findings, Finding{Issue: issue, Safety: safety, Path: path, Offset: off, Detail: detail})
}

// incomplete records that part of the file was not examined.
func (s *scanner) incomplete(path, issue, detail string) {
	if s.res.Status == StatusScanned {
		s.res.Status = StatusUnscanned
	}
	s.finding(path, issue, Suspicious, -1, detail)
}

// readErr sorts an error met while reading a blob's content.
func (s *scanner) readErr(path string, err error) {
	var ie *ioError
	switch {
	case errors.As(err, &ie):
		s.fail(ie.err)
	case errors.Is(err, errDecompressBudget):
		s.incomplete(path, "decompression-limit", "the decompression budget was exhausted")
	case errors.Is(err, pickle.ErrIncomplete):
		if s.res.Status == StatusScanned {
			s.res.Status = StatusUnscanned
		}
	case isSyntax(err):
		// Reported by the pickle analysis as a finding.
	default:
		// A corrupt compressed stream or archive: loaders fail at the same
		// point, but what came before was examined.
		s.finding(path, "corrupt-data", Suspicious, -1, err.Error())
	}
}

func isSyntax(err error) bool {
	var se *pickle.SyntaxError
	return errors.As(err, &se)
}

// scanBlob detects what b is and scans it accordingly. It returns the
// kind, refined when the content says more than the magic number.
func (s *scanner) scanBlob(b *blob) Kind {
	if s.failed {
		return KindUnknown
	}
	if err := s.ctx.Err(); err != nil {
		s.fail(err)
		return KindUnknown
	}
	head, err := b.peek()
	if err != nil {
		s.readErr(b.path, err)
		return KindUnknown
	}
	size := b.size
	if size < 0 {
		size = 1 << 62
	}
	kind := detectHead(head, size)
	if b.depth > s.lim.MaxDepth && (kind != KindUnknown && kind != KindPickle) {
		s.incomplete(b.path, "depth-limit", fmt.Sprintf("%s nested deeper than %d containers", kind, s.lim.MaxDepth))
		return kind
	}
	switch kind {
	case KindZip:
		return s.scanZip(b)
	case KindTar:
		return s.scanTar(b)
	case KindGzip, KindBzip2, KindZlib:
		s.scanCompressed(b, kind)
		return kind
	case KindNumpy:
		s.scanNPY(b)
		return kind
	case KindSafetensors, KindGGUF:
		// Not a pickle container: check the header with the format's own
		// bounded parser (a malformed or hostile header is a finding),
		// and make sure the bytes do not also parse as a pickle.
		s.checkStructure(b, kind)
		if r := s.scanPickle(b, pickleOpts{probe: true}); r != nil {
			s.finding(b.path, "polyglot", Suspicious, 0, fmt.Sprintf("a %s file that also parses as a pickle", kind))
		}
		return kind
	}
	if kind.Unsupported() {
		s.incomplete(b.path, "unsupported-format", fmt.Sprintf("%s content cannot be opened by this scanner", kind))
		return kind
	}
	return s.scanRawPickle(b, kind)
}

type pickleOpts struct {
	joblib bool
	legacy bool
	single bool
	quiet  bool // merge only dangerous imports (second readings)
	// probe is set for blobs that are not known to be pickles: they count
	// as one only if they look like one to a loader (see plausible).
	probe bool
}

// plausible reports whether an analysis of a blob not known to be a pickle
// shows one: a pickle that ran to STOP, an import Python could resolve (a
// dotted identifier, or one computed at load time), or a budget exhausted
// before the end. Binary or text data that happens to start with opcodes
// produces imports of names no unpickler can import, and persistent ids
// that no plain unpickler accepts.
func plausible(r *pickle.Result) bool {
	if len(r.Pickles) > 0 || errors.Is(r.Err, pickle.ErrIncomplete) {
		return true
	}
	for _, im := range r.Imports {
		if im.Dynamic || im.Ext != 0 || isIdentifier(im.RawModule) && isIdentifier(im.RawName) {
			return true
		}
	}
	return false
}

// isIdentifier reports whether s is a dotted Python identifier.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r) {
				continue
			}
			return false
		}
	}
	return true
}

// scanPickle analyses b as a pickle stream and merges what it finds. It
// returns nil when b is not a pickle (nothing was imported and no pickle
// completed).
func (s *scanner) scanPickle(b *blob, o pickleOpts) *pickle.Result {
	if s.failed {
		return nil
	}
	if s.opsLeft <= 0 {
		s.incomplete(b.path, "budget-exhausted", "the file's opcode budget is exhausted")
		return nil
	}
	r, err := b.reader()
	if err != nil {
		s.readErr(b.path, err)
		return nil
	}
	lim := s.lim.Pickle
	perStream := lim.MaxOps
	if perStream <= 0 {
		perStream = pickle.DefaultLimits().MaxOps
	}
	lim.MaxOps = min(perStream, s.opsLeft)
	res := pickle.Scan(r, pickle.Options{Limits: lim, Size: b.size, Joblib: o.joblib, TorchLegacy: o.legacy, Single: o.single})
	s.opsLeft -= res.Ops
	// A stream that exhausted a budget may be a pickle whose imports come
	// later: it is never dismissed as data.
	isPickle := res.IsPickle() || errors.Is(res.Err, pickle.ErrIncomplete)
	if o.probe {
		isPickle = plausible(res)
	}
	if !isPickle {
		var ie *ioError
		if errors.As(res.Err, &ie) || errors.Is(res.Err, errDecompressBudget) {
			s.readErr(b.path, res.Err)
		}
		return nil
	}
	if o.quiet {
		s.mergeDangerous(b.path, res)
		return res
	}
	s.res.Pickles++
	s.merge(b.path, res)
	return res
}

// scanRawPickle scans a blob that is not a recognised container: as a
// pickle stream with joblib's and legacy PyTorch's conventions.
func (s *scanner) scanRawPickle(b *blob, kind Kind) Kind {
	// Only a protocol 2+ header says "pickle" for sure.
	probe := len(b.head) < 2 || b.head[0] != byte(pickle.OpProto) || b.head[1] > 5
	r := s.scanPickle(b, pickleOpts{joblib: true, legacy: true, probe: probe})
	if r == nil {
		s.zipTail(b)
		return kind
	}
	kind = KindPickle
	if r.TorchLegacy {
		kind = KindTorchLegacy
		if b.depth == 0 {
			s.torch = append(s.torch, r)
		}
	}
	if len(r.Arrays) > 0 {
		kind = KindJoblib
		// pickle.load reads the array bytes as opcodes. A file can be
		// harmless to joblib.load and not to pickle.load: read it that
		// way too and keep what is dangerous.
		if b.reopenable() {
			n := s.dangerousCount()
			plain := s.scanPickle(b, pickleOpts{quiet: true})
			if plain != nil && s.dangerousCount() > n {
				s.finding(b.path, "joblib-polyglot", Dangerous, -1,
					"read by pickle.load instead of joblib.load, the array bytes import dangerous globals")
			}
			if plain != nil && errors.Is(plain.Err, pickle.ErrIncomplete) {
				s.finding(b.path, "joblib-plain-reading", Suspicious, -1,
					"pickle.load's reading of the file exhausted a budget: "+plain.Err.Error())
			}
		} else {
			s.finding(b.path, "joblib-single-reading", Innocuous, -1, "the stream could not be re-read as pickle.load would read it")
		}
	}
	s.zipTail(b)
	return kind
}

func (s *scanner) dangerousCount() int {
	n := 0
	for _, im := range s.res.Imports {
		if im.Safety == Dangerous {
			n++
		}
	}
	return n
}

// scanCompressed scans the decompressed content of a gzip, bzip2 or zlib
// blob.
func (s *scanner) scanCompressed(b *blob, kind Kind) {
	open := func() (io.Reader, error) {
		src, err := b.reader()
		if err != nil {
			return nil, err
		}
		if isZFile(b.head) {
			if _, err := io.CopyN(io.Discard, src, zfileHeader); err != nil {
				return nil, err
			}
		}
		var r io.Reader
		switch kind {
		case KindGzip:
			r, err = gzip.NewReader(src)
		case KindBzip2:
			r = bzip2.NewReader(src)
		default:
			r, err = zlib.NewReader(src)
		}
		if err != nil {
			return nil, err
		}
		return &budgetReader{s: s, r: r}, nil
	}
	child := &blob{path: pathJoin(b.path, "("+string(kind)+")"), size: -1, depth: b.depth + 1}
	if b.ra != nil || b.open != nil {
		// Re-opening the parent re-creates the decompressor, so the
		// content can be read more than once.
		child.open = open
	} else {
		r, err := open()
		if err != nil {
			s.readErr(b.path, err)
			return
		}
		child.first = r
	}
	s.scanBlob(child)
}

// mergeImport adds one import to the result.
func (s *scanner) mergeImport(path string, im pickle.Import) Safety {
	safety, why := classify(im)
	if im.Uses&pickle.UseBuild != 0 {
		safety, why = Dangerous, "BUILD sets attributes on the imported object itself"
	} else if im.Uses&pickle.UseMutate != 0 && safety < Suspicious {
		safety, why = Suspicious, "the imported object is mutated"
	}
	module, name := im.Module, im.Name
	switch {
	case im.Ext != 0:
		module, name = "copyreg", "_extension_registry["+strconv.FormatInt(im.Ext, 10)+"]"
	case im.Dynamic:
		if module == "" {
			module = "unknown"
		}
		if name == "" {
			name = "unknown"
		}
	}
	key := module + "\x00" + name
	if i, ok := s.importIdx[key]; ok {
		e := &s.res.Imports[i]
		if safety > e.Safety {
			e.Safety, e.Reason = safety, why
		}
		e.Count += im.Count
		e.Uses = mergeUses(e.Uses, im.Uses.String())
		return safety
	}
	if len(s.res.Imports) >= maxImports {
		s.dropped++
		s.droppedLevel = max(s.droppedLevel, safety)
		return safety
	}
	s.importIdx[key] = len(s.res.Imports)
	s.res.Imports = append(s.res.Imports, Import{Module: module, Name: name, Safety: safety, Reason: why,
		Uses: im.Uses.String(), Path: path, Count: im.Count})
	return safety
}

func mergeUses(a, b string) string {
	set := map[string]bool{}
	for _, u := range append(strings.Split(a, "|"), strings.Split(b, "|")...) {
		set[u] = true
	}
	if len(set) > 1 {
		delete(set, "value")
	}
	out := make([]string, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	slices.Sort(out)
	return strings.Join(out, "|")
}

// merge adds the imports and findings of one analysed stream.
func (s *scanner) merge(path string, r *pickle.Result) {
	for _, im := range r.Imports {
		s.mergeImport(path, im)
	}
	for _, f := range r.Findings {
		detail := f.Detail
		if f.Issue == pickle.IssueTrailing && r.TorchLegacy {
			continue // legacy storage data, read raw by torch.load
		}
		safety, ok := issueSafety[f.Issue]
		if !ok {
			safety = Suspicious
		}
		s.finding(path, string(f.Issue), safety, f.Offset, detail)
	}
	odd := 0
	var first pickle.PersistentID
	for _, p := range r.Persistent {
		// PyTorch storages, and the integer keys of legacy checkpoints,
		// are what loaders expect.
		if p.Tag != "storage" && p.Kind != pickle.KindInt && !isDecimal(p.Tag) {
			if odd == 0 {
				first = p
			}
			odd++
		}
	}
	if odd > 0 {
		s.finding(path, "persistent-id", Suspicious, first.Offset,
			fmt.Sprintf("%d persistent ids that are not PyTorch storages (first: %v %q)", odd, first.Kind, first.Tag))
	}
	if r.Err != nil {
		s.readErr(path, r.Err)
	}
}

// mergeDangerous adds only the dangerous imports of an alternative reading
// of a stream.
func (s *scanner) mergeDangerous(path string, r *pickle.Result) {
	for _, im := range r.Imports {
		if safety, _ := classify(im); safety == Dangerous || im.Uses&pickle.UseBuild != 0 {
			s.mergeImport(path, im)
		}
	}
	var ie *ioError
	if errors.As(r.Err, &ie) {
		s.fail(ie.err)
	}
}

// finish computes the file-level verdicts.
func (s *scanner) finish() {
	level := Innocuous
	for _, im := range s.res.Imports {
		level = max(level, im.Safety)
	}
	for _, f := range s.res.Findings {
		level = max(level, f.Safety)
	}
	if s.dropped > 0 {
		level = max(level, s.droppedLevel)
		s.res.Findings = append(s.res.Findings, Finding{Issue: "truncated-result", Safety: s.droppedLevel, Offset: -1,
			Detail: fmt.Sprintf("%d more findings and imports are not listed", s.dropped)})
	}
	if s.res.Status != StatusScanned {
		level = max(level, Suspicious)
	}
	s.res.Safety = level
	slices.SortStableFunc(s.res.Imports, func(a, b Import) int {
		if c := strings.Compare(a.Module, b.Module); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	// The weights-only verdict is a green badge: besides the replay of
	// what torch.load reads, nothing else in the file may be dangerous.
	wo := len(s.torch) > 0 && !s.torchScript && s.res.Status == StatusScanned && level < Dangerous &&
		(s.res.Kind == KindTorchZip || s.res.Kind == KindTorchLegacy || s.res.Kind == KindTorchTar)
	for _, r := range s.torch {
		wo = wo && weightsOnly(r)
	}
	s.res.WeightsOnly = wo
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkStructure validates a safetensors or GGUF header. Only the header
// is read; sizes come from the container, never from the file's claims.
func (s *scanner) checkStructure(b *blob, kind Kind) {
	if b.size < 0 {
		return
	}
	var err error
	switch kind {
	case KindSafetensors:
		_, err = safetensors.ReadHeader(b.ra, b.size)
	case KindGGUF:
		_, err = gguf.Read(b.ra, b.size)
	}
	if err != nil {
		s.finding(b.path, "malformed-"+string(kind), Suspicious, 0, err.Error())
	}
}
