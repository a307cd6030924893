package scan

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// The zip reader follows PyTorch's (miniz, through caffe2's
// PyTorchStreamReader): members are found through the central directory,
// their data starts after the local header's name and extra fields, names
// are looked up case-insensitively, and neither CRCs nor general-purpose
// flags stop it. Where Python's zipfile would see something else (a
// prefixed archive, another end record, a different local name), that is
// read too, and reported.

const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigEnd64Locat = 0x07064b50
)

type zipEntry struct {
	name    string
	method  uint16
	flags   uint16
	crc     uint32
	csize   uint64
	usize   uint64
	lhOff   int64
	dataOff int64 // -1 when the local header is unreadable
}

type zipIssue struct{ issue, detail string }

type zipArchive struct {
	entries []zipEntry
	issues  []zipIssue
	// viaLocal is set when no central directory was found and the
	// entries come from walking the local headers.
	viaLocal bool
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func readAtFull(r io.ReaderAt, off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	k, err := r.ReadAt(b, off)
	if k == n {
		return b, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

var errNoZip = errors.New("no central directory")

// readZip lists the members of the zip in ra. maxEntries bounds the
// entries read; more yields errTooManyMembers with the entries so far.
func readZip(ra io.ReaderAt, size int64, maxEntries int) (*zipArchive, error) {
	z := &zipArchive{}
	// Most archives have no comment: their end record is the last 22
	// bytes. Otherwise search the 64 KiB a comment can take.
	tailLen := min(size, 22)
	tail, err := readAtFull(ra, size-tailLen, int(tailLen))
	if err != nil {
		return nil, err
	}
	if len(tail) < 22 || le32(tail) != sigEnd || le16(tail[20:]) != 0 {
		tailLen = min(size, 22+65535)
		if tail, err = readAtFull(ra, size-tailLen, int(tailLen)); err != nil {
			return nil, err
		}
	}
	// miniz and Python's zipfile both take the last end record in the
	// tail. If it does not lead to a central directory, earlier candidates
	// are tried (a comment may hide a fake record), and the disagreement
	// is reported.
	found := false
	tries := 0
	for i := len(tail) - 22; i >= 0 && !found && tries < 8; i-- {
		if le32(tail[i:]) != sigEnd {
			continue
		}
		tries++
		eocd := size - tailLen + int64(i)
		entries, issues, err := readCentral(ra, size, eocd, tail[i:], maxEntries)
		if err != nil && !errors.Is(err, errTooManyMembers) {
			z.issues = append(z.issues, zipIssue{"zip-structure", fmt.Sprintf("end record at %d: %v", eocd, err)})
			continue
		}
		found = true
		z.issues = append(z.issues, issues...)
		z.entries = entries
		if err != nil {
			return z, err
		}
	}
	if !found {
		if err := walkLocal(ra, size, maxEntries, z); err != nil {
			return z, err
		}
		if len(z.entries) == 0 {
			return z, errNoZip
		}
		z.viaLocal = true
		z.issues = append(z.issues, zipIssue{"zip-structure", "no usable central directory; members found by walking local headers"})
	}
	z.checkNames()
	return z, nil
}

var errTooManyMembers = errors.New("too many archive members")

func readCentral(ra io.ReaderAt, size, eocd int64, rec []byte, maxEntries int) ([]zipEntry, []zipIssue, error) {
	var issues []zipIssue
	if len(rec) < 22 {
		return nil, nil, errors.New("short end record")
	}
	total := uint64(le16(rec[10:]))
	cdSize := uint64(le32(rec[12:]))
	cdOff := uint64(le32(rec[16:]))
	if total == 0xffff || cdSize == 0xffffffff || cdOff == 0xffffffff {
		if eocd >= 20 {
			if loc, err := readAtFull(ra, eocd-20, 20); err == nil && le32(loc) == sigEnd64Locat {
				off := int64(le64(loc[8:]))
				if off >= 0 && off+56 <= size {
					if r64, err := readAtFull(ra, off, 56); err == nil && le32(r64) == sigEnd64 {
						total, cdSize, cdOff = le64(r64[32:]), le64(r64[40:]), le64(r64[48:])
					}
				}
			}
		}
	}
	if cdOff > uint64(size) || cdSize > uint64(size) {
		return nil, nil, errors.New("central directory outside the file")
	}
	start := int64(cdOff)
	// Python's zipfile allows data prepended to the archive and shifts
	// every offset by its length; miniz does not.
	shift := int64(0)
	if sig, err := readAtFull(ra, start, 4); (err != nil || le32(sig) != sigCentral) && total > 0 {
		concat := eocd - int64(cdSize) - int64(cdOff)
		if concat <= 0 {
			return nil, nil, errors.New("no central directory at its offset")
		}
		if sig, err := readAtFull(ra, start+concat, 4); err != nil || le32(sig) != sigCentral {
			return nil, nil, errors.New("no central directory at its offset")
		}
		shift = concat
		start += concat
		issues = append(issues, zipIssue{"zip-prefix", fmt.Sprintf("%d bytes precede the archive", concat)})
	}
	end := start + int64(cdSize)
	var entries []zipEntry
	var tooMany error
	pos := start
	// miniz reads the recorded number of entries, Python reads until the
	// recorded directory size is used up: read while either wants more.
	for uint64(len(entries)) < total || pos+46 <= end {
		if len(entries) >= maxEntries {
			tooMany = errTooManyMembers
			break
		}
		h, err := readAtFull(ra, pos, 46)
		if err != nil || le32(h) != sigCentral {
			if uint64(len(entries)) < total {
				issues = append(issues, zipIssue{"zip-structure", fmt.Sprintf("%d entries recorded, %d found", total, len(entries))})
			}
			break
		}
		nameLen, extraLen, commentLen := int(le16(h[28:])), int(le16(h[30:])), int(le16(h[32:]))
		e := zipEntry{
			flags: le16(h[8:]), method: le16(h[10:]), crc: le32(h[16:]),
			csize: uint64(le32(h[20:])), usize: uint64(le32(h[24:])), lhOff: int64(le32(h[42:])),
		}
		v, err := readAtFull(ra, pos+46, nameLen+extraLen)
		if err != nil {
			break
		}
		e.name = string(v[:nameLen])
		needLH := e.lhOff == 0xffffffff
		e.usize, e.csize, e.lhOff = zip64Extra(v[nameLen:], e.usize, e.csize, e.lhOff, needLH)
		e.lhOff += shift
		pos += 46 + int64(nameLen+extraLen+commentLen)
		entries = append(entries, e)
	}
	if uint64(len(entries)) != total && tooMany == nil {
		issues = append(issues, zipIssue{"zip-structure", fmt.Sprintf("the end record counts %d entries, the directory holds %d", total, len(entries))})
	}
	for i := range entries {
		issues = append(issues, checkLocal(ra, size, &entries[i])...)
	}
	return entries, issues, tooMany
}

// zip64Extra applies the zip64 extended information field, which holds the
// 64-bit values of the fields that are all ones, in this order.
func zip64Extra(extra []byte, usize, csize uint64, lhOff int64, needLH bool) (uint64, uint64, int64) {
	for len(extra) >= 4 {
		tag, n := le16(extra), int(le16(extra[2:]))
		if 4+n > len(extra) {
			break
		}
		if tag == 0x0001 {
			f := extra[4 : 4+n]
			if usize == 0xffffffff && len(f) >= 8 {
				usize, f = le64(f), f[8:]
			}
			if csize == 0xffffffff && len(f) >= 8 {
				csize, f = le64(f), f[8:]
			}
			if needLH && len(f) >= 8 {
				lhOff = int64(le64(f))
			}
		}
		extra = extra[4+n:]
	}
	return usize, csize, lhOff
}

// checkLocal reads the local header of e, sets its data offset and reports
// how it disagrees with the central directory.
func checkLocal(ra io.ReaderAt, size int64, e *zipEntry) []zipIssue {
	e.dataOff = -1
	var issues []zipIssue
	if e.lhOff < 0 || e.lhOff+30 > size {
		return []zipIssue{{"zip-header-mismatch", fmt.Sprintf("%s: local header offset %d is outside the file", e.name, e.lhOff)}}
	}
	h, err := readAtFull(ra, e.lhOff, 30)
	if err != nil || le32(h) != sigLocal {
		return []zipIssue{{"zip-header-mismatch", fmt.Sprintf("%s: no local header at %d", e.name, e.lhOff)}}
	}
	nameLen, extraLen := int(le16(h[26:])), int(le16(h[28:]))
	if off := e.lhOff + 30 + int64(nameLen+extraLen); off <= size {
		e.dataOff = off
	} else {
		return []zipIssue{{"zip-header-mismatch", fmt.Sprintf("%s: local header runs past the end", e.name)}}
	}
	if name, err := readAtFull(ra, e.lhOff+30, nameLen); err == nil && string(name) != e.name {
		issues = append(issues, zipIssue{"zip-header-mismatch", fmt.Sprintf("central name %q, local name %q", e.name, name)})
	}
	if m := le16(h[8:]); m != e.method {
		issues = append(issues, zipIssue{"zip-header-mismatch", fmt.Sprintf("%s: central method %d, local method %d", e.name, e.method, m)})
	}
	if f := le16(h[6:]); f&0x8 == 0 {
		lc, lu := uint64(le32(h[18:])), uint64(le32(h[22:]))
		if lc != 0xffffffff && lu != 0xffffffff && (lc != e.csize || lu != e.usize) {
			issues = append(issues, zipIssue{"zip-header-mismatch", fmt.Sprintf("%s: central sizes %d/%d, local %d/%d", e.name, e.csize, e.usize, lc, lu)})
		}
	}
	if e.flags&^(0x8|0x800|0x2|0x4) != 0 {
		issues = append(issues, zipIssue{"zip-flags", fmt.Sprintf("%s: general-purpose flags %#x (ignored, as PyTorch does)", e.name, e.flags)})
	}
	if e.method == 0 && e.csize != e.usize {
		issues = append(issues, zipIssue{"zip-header-mismatch", fmt.Sprintf("%s: stored member with sizes %d and %d", e.name, e.csize, e.usize)})
	}
	return issues
}

// walkLocal lists members from consecutive local headers, for archives
// without a usable central directory.
func walkLocal(ra io.ReaderAt, size int64, maxEntries int, z *zipArchive) error {
	pos := int64(0)
	for pos+30 <= size {
		if len(z.entries) >= maxEntries {
			return errTooManyMembers
		}
		h, err := readAtFull(ra, pos, 30)
		if err != nil || le32(h) != sigLocal {
			return nil
		}
		nameLen, extraLen := int(le16(h[26:])), int(le16(h[28:]))
		v, err := readAtFull(ra, pos+30, nameLen+extraLen)
		if err != nil {
			return nil
		}
		e := zipEntry{flags: le16(h[6:]), method: le16(h[8:]), crc: le32(h[14:]),
			csize: uint64(le32(h[18:])), usize: uint64(le32(h[22:])), lhOff: pos, name: string(v[:nameLen])}
		e.usize, e.csize, _ = zip64Extra(v[nameLen:], e.usize, e.csize, 0, false)
		e.dataOff = pos + 30 + int64(nameLen+extraLen)
		if e.flags&0x8 != 0 && e.csize == 0 {
			z.entries = append(z.entries, e)
			return nil // size only in a trailing data descriptor
		}
		z.entries = append(z.entries, e)
		pos = e.dataOff + int64(e.csize)
	}
	return nil
}

// checkNames reports duplicate names, compared as miniz compares them
// (case-insensitively).
func (z *zipArchive) checkNames() {
	seen := map[string]string{}
	for _, e := range z.entries {
		k := strings.ToLower(e.name)
		if prev, ok := seen[k]; ok {
			z.issues = append(z.issues, zipIssue{"zip-duplicate-name", fmt.Sprintf("%q and %q name the same member for PyTorch", prev, e.name)})
			continue
		}
		seen[k] = e.name
	}
}

// memberBlob returns the content of e as a blob, or an error explaining why
// it cannot be read.
func (s *scanner) memberBlob(parent *blob, ra io.ReaderAt, size int64, e zipEntry) (*blob, error) {
	path := pathJoin(parent.path, e.name)
	if e.dataOff < 0 || e.dataOff > size {
		return nil, errors.New("no data")
	}
	switch e.method {
	case 0:
		// miniz copies the uncompressed size, Python the compressed
		// size: read the longer, both interpretations start alike.
		n := min(int64(max(e.csize, e.usize)), size-e.dataOff)
		return &blob{path: path, ra: io.NewSectionReader(ra, e.dataOff, n), size: n, depth: parent.depth + 1}, nil
	case 8, 12:
		n := min(int64(e.csize), size-e.dataOff)
		open := func() (io.Reader, error) {
			src := io.NewSectionReader(ra, e.dataOff, n)
			var r io.Reader
			if e.method == 8 {
				r = flate.NewReader(src)
			} else {
				r = bzip2.NewReader(src)
			}
			return &budgetReader{s: s, r: r}, nil
		}
		return &blob{path: path, size: -1, depth: parent.depth + 1, open: open}, nil
	}
	return nil, fmt.Errorf("compression method %d is not supported", e.method)
}

// scanZip scans every member of a zip archive.
func (s *scanner) scanZip(b *blob) Kind {
	ra, size := b.ra, b.size
	if ra == nil {
		// A zip inside a stream must be held in memory to be read.
		r, err := b.reader()
		if err != nil {
			s.readErr(b.path, err)
			return KindZip
		}
		buf, err := io.ReadAll(io.LimitReader(r, s.lim.MaxBuffered+1))
		if err != nil {
			s.readErr(b.path, err)
			return KindZip
		}
		if int64(len(buf)) > s.lim.MaxBuffered {
			s.incomplete(b.path, "buffer-limit", fmt.Sprintf("a zip inside a compressed stream is larger than %d bytes", s.lim.MaxBuffered))
			return KindZip
		}
		ra, size = bytes.NewReader(buf), int64(len(buf))
	}
	if size < 0 {
		size = 0
	}
	z, err := readZip(ra, size, s.membersLeft)
	if z != nil {
		for _, is := range z.issues {
			s.finding(b.path, is.issue, Suspicious, -1, is.detail)
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, errTooManyMembers):
			s.incomplete(b.path, "member-limit", fmt.Sprintf("more than %d archive members", s.lim.MaxMembers))
		case errors.Is(err, errNoZip):
			s.finding(b.path, "corrupt-data", Suspicious, -1, "a zip signature without a readable archive")
			// Not a zip to any reader: it may still be something else.
			if z == nil || len(z.entries) == 0 {
				return s.scanRawPickle(b, KindZip)
			}
		default:
			s.readErr(b.path, err)
		}
		if z == nil {
			return KindZip
		}
	}
	s.membersLeft -= len(z.entries)

	// PyTorch's archive name is the top folder of the first central
	// directory entry; data.pkl and the storages are records under it.
	kind := KindZip
	archive := ""
	if len(z.entries) > 0 && !z.viaLocal {
		if i := strings.IndexByte(z.entries[0].name, '/'); i >= 0 {
			archive = strings.ToLower(z.entries[0].name[:i+1])
		}
	}
	done := make([]bool, len(z.entries))
	storages := map[string]bool{}
	if archive != "" {
		for i, e := range z.entries {
			switch strings.ToLower(e.name) {
			case archive + "constants.pkl":
				if b.depth == 0 {
					s.torchScript = true
				}
			case archive + "data.pkl":
				kind = KindTorchZip
				done[i] = true
				mb, err := s.memberBlob(b, ra, size, e)
				if err != nil {
					s.incomplete(pathJoin(b.path, e.name), "unsupported-member", err.Error())
					continue
				}
				r := s.scanPickle(mb, pickleOpts{})
				s.checkCRC(mb.path, ra, size, e)
				if r == nil {
					s.finding(mb.path, "not-a-pickle", Innocuous, -1, "PyTorch's data.pkl is not a pickle: torch.load fails")
					if b.depth == 0 {
						s.torch = append(s.torch, &errorResult)
					}
					continue
				}
				if b.depth == 0 {
					s.torch = append(s.torch, r)
				}
				for _, p := range r.Persistent {
					if p.Tag == "storage" && p.Key != "" {
						storages[archive+"data/"+strings.ToLower(p.Key)] = true
					}
				}
			}
		}
	}
	type extent struct {
		off          int64
		method       uint16
		csize, usize uint64
	}
	scanned := map[extent]bool{}
	npy := len(z.entries) > 0
	for i, e := range z.entries {
		if s.failed {
			break
		}
		npy = npy && strings.HasSuffix(strings.ToLower(e.name), ".npy")
		if done[i] || strings.HasSuffix(e.name, "/") && e.usize == 0 {
			continue
		}
		if x := (extent{e.dataOff, e.method, e.csize, e.usize}); scanned[x] {
			s.finding(pathJoin(b.path, e.name), "zip-overlap", Suspicious, -1, "shares its data with another member")
			continue
		} else {
			scanned[x] = true
		}
		mb, err := s.memberBlob(b, ra, size, e)
		if err != nil {
			s.incomplete(pathJoin(b.path, e.name), "unsupported-member", err.Error())
			continue
		}
		if storages[strings.ToLower(e.name)] {
			// A tensor's bytes: torch.load reads them raw. Only peek at
			// the start (one small read), and parse them only if they
			// start like a pickle.
			h, err := mb.peek()
			if err != nil {
				s.readErr(mb.path, err)
				continue
			}
			if len(h) < 2 || h[0] != 0x80 || h[1] > 5 {
				continue
			}
			if s.scanPickle(mb, pickleOpts{probe: true}) != nil {
				s.finding(mb.path, "pickle-in-storage", Suspicious, 0, "a tensor record holds a pickle")
			}
			continue
		}
		before := s.res.Pickles
		s.scanBlob(mb)
		if s.res.Pickles > before {
			s.checkCRC(mb.path, ra, size, e)
		}
	}
	if kind == KindZip && npy {
		kind = KindNPZ
	}
	return kind
}

// errorResult stands for a pickle torch.load would fail on.
var errorResult = pickle.Result{Err: errors.New("not a pickle")}

// maxCRCCheck bounds the members whose CRC is verified (pickles are
// checked; a mismatch is a sign of tampering, though PyTorch ignores it).
const maxCRCCheck = 16 << 20

func (s *scanner) checkCRC(path string, ra io.ReaderAt, size int64, e zipEntry) {
	if e.usize > maxCRCCheck || e.dataOff < 0 || (e.method != 0 && e.method != 8) {
		return
	}
	n := min(int64(e.csize), size-e.dataOff)
	var r io.Reader = io.NewSectionReader(ra, e.dataOff, n)
	if e.method == 8 {
		r = flate.NewReader(r)
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.LimitReader(r, maxCRCCheck+1)); err != nil {
		return
	}
	if got := h.Sum32(); got != e.crc {
		s.finding(path, "zip-crc", Suspicious, -1, fmt.Sprintf("CRC-32 is %08x, the directory says %08x (PyTorch does not check)", got, e.crc))
	}
}

// zipTail looks for a zip archive appended to a blob that does not start
// as one: Python's zipfile finds it from the end, pickle.load reads the
// start.
func (s *scanner) zipTail(b *blob) {
	if b.ra == nil || b.size < 22 || s.failed {
		return
	}
	tailLen := min(b.size, 22+65535)
	tail, err := readAtFull(b.ra, b.size-tailLen, int(tailLen))
	if err != nil || !bytes.Contains(tail, []byte("PK\x05\x06")) {
		return
	}
	z, err := readZip(b.ra, b.size, s.membersLeft)
	if err != nil || z == nil || z.viaLocal || len(z.entries) == 0 {
		return
	}
	valid := false
	for _, e := range z.entries {
		valid = valid || e.dataOff >= 0
	}
	if !valid {
		return
	}
	s.finding(b.path, "polyglot", Suspicious, -1, "a zip archive is appended to the content")
	s.scanZip(&blob{path: pathJoin(b.path, "(appended zip)"), ra: b.ra, size: b.size, depth: b.depth + 1, head: []byte("PK\x03\x04")})
}
