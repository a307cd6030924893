package scan

import (
	"archive/tar"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/agorahub/agora/internal/formats/pickle"
)

// posReader is a seekable reader that knows its position, so that the tar
// reader skips member data by seeking and the scanner learns where each
// member's data starts.
type posReader struct {
	*io.SectionReader
}

func (p posReader) pos() int64 {
	n, _ := p.Seek(0, io.SeekCurrent)
	return n
}

type tarMember struct {
	name string
	off  int64
	size int64
}

// scanTar scans the members of a tar archive. Random-access tars are listed
// first and their members read in place; tars inside compressed streams
// are scanned member by member as they stream past.
func (s *scanner) scanTar(b *blob) Kind {
	if b.ra == nil {
		return s.scanTarStream(b)
	}
	pr := posReader{io.NewSectionReader(b.ra, 0, b.size)}
	tr := tar.NewReader(pr)
	var members []tarMember
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.readErr(b.path, err)
			break
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeGNUSparse {
			continue
		}
		if h.Typeflag == tar.TypeGNUSparse || h.Size < 0 {
			s.incomplete(pathJoin(b.path, h.Name), "unsupported-member", "sparse tar member")
			continue
		}
		if len(members) >= s.membersLeft {
			s.incomplete(b.path, "member-limit", fmt.Sprintf("more than %d archive members", s.lim.MaxMembers))
			break
		}
		members = append(members, tarMember{name: h.Name, off: pr.pos(), size: h.Size})
	}
	s.membersLeft -= len(members)
	names := map[string]tarMember{}
	for _, m := range members {
		names[m.name] = m
	}
	_, hasPickle := names["pickle"]
	_, hasStorages := names["storages"]
	_, hasTensors := names["tensors"]
	legacy := hasPickle && hasStorages && hasTensors
	for _, m := range members {
		if s.failed {
			break
		}
		mb := &blob{path: pathJoin(b.path, m.name), ra: io.NewSectionReader(b.ra, m.off, m.size), size: m.size, depth: b.depth + 1}
		switch {
		case legacy && (m.name == "storages" || m.name == "tensors"):
			s.scanTorchRecords(mb, m.name == "storages", b.depth == 0)
		case legacy && (m.name == "pickle" || m.name == "sys_info"):
			r := s.scanPickle(mb, pickleOpts{single: true})
			if r != nil && b.depth == 0 {
				s.torch = append(s.torch, r)
			}
		default:
			s.scanBlob(mb)
		}
	}
	if legacy {
		return KindTorchTar
	}
	return KindTar
}

func (s *scanner) scanTarStream(b *blob) Kind {
	r, err := b.reader()
	if err != nil {
		s.readErr(b.path, err)
		return KindTar
	}
	tr := tar.NewReader(r)
	for n := 0; !s.failed; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.readErr(b.path, err)
			break
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if s.membersLeft <= 0 {
			s.incomplete(b.path, "member-limit", fmt.Sprintf("more than %d archive members", s.lim.MaxMembers))
			break
		}
		s.membersLeft--
		path := pathJoin(b.path, h.Name)
		if h.Name == "storages" || h.Name == "tensors" {
			s.incomplete(path, "unsupported-member", "a legacy PyTorch record inside a compressed tar")
			continue
		}
		s.scanBlob(&blob{path: path, size: h.Size, depth: b.depth + 1, first: tr})
	}
	return KindTar
}

// storageElementSize is the element size of each legacy storage class.
var storageElementSize = map[string]int64{
	"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "LongStorage": 8, "IntStorage": 4,
	"ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "BFloat16Storage": 2,
	"ComplexDoubleStorage": 16, "ComplexFloatStorage": 8, "QUInt8Storage": 1, "QInt8Storage": 1,
	"QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}

// scanTorchRecords walks the "storages" or "tensors" record of a PyTorch
// 0.1 tar the way torch.load's legacy_load does: a pickled count, then per
// record a pickle followed by raw bytes whose length the record gives.
func (s *scanner) scanTorchRecords(b *blob, storages bool, top bool) {
	pos := int64(0)
	one := func() *pickle.Result {
		r := s.scanPickle(b.from(pos), pickleOpts{single: true})
		if r == nil || !r.Complete() || len(r.Pickles) == 0 {
			if r == nil {
				s.finding(b.path, "corrupt-data", Innocuous, pos, "a legacy PyTorch record is not a pickle: torch.load fails")
			}
			return nil
		}
		if top {
			s.torch = append(s.torch, r)
		}
		pos += r.End
		return r
	}
	unsupported := func(msg string) {
		s.incomplete(b.path, "unsupported-member", "legacy PyTorch "+msg)
	}
	r := one()
	if r == nil {
		return
	}
	var count int64
	if _, err := fmt.Sscan(r.Pickles[0].Int, &count); err != nil || count < 0 {
		unsupported("record count is not a constant int")
		return
	}
	for i := int64(0); i < count && !s.failed; i++ {
		// Each record is a member of sorts: the member budget bounds
		// them.
		if s.membersLeft <= 0 {
			s.incomplete(b.path, "member-limit", fmt.Sprintf("more than %d archive members and records", s.lim.MaxMembers))
			return
		}
		s.membersLeft--
		r := one()
		if r == nil {
			return
		}
		var hdr []byte
		var err error
		if storages {
			// (key, location, storage_type), then an int64 element count
			// and the elements.
			elem := int64(0)
			for _, im := range r.Imports {
				if n, ok := storageElementSize[im.Name]; ok && strings.HasPrefix(im.Module, "torch") {
					elem = n
				}
			}
			if elem == 0 {
				unsupported("storage record without a known storage type")
				return
			}
			if hdr, err = readAtFull(b.ra, pos, 8); err != nil {
				s.readErr(b.path, fmt.Errorf("storage size: %w", err))
				return
			}
			numel := int64(binary.LittleEndian.Uint64(hdr))
			if numel < 0 || numel > (b.size-pos)/elem {
				s.finding(b.path, "corrupt-data", Suspicious, pos, "storage runs past the end of the record")
				return
			}
			pos += 8 + numel*elem
			continue
		}
		// (key, storage_id, type), then int32 ndim, 4 bytes, ndim sizes,
		// ndim strides and the storage offset, all int64.
		if hdr, err = readAtFull(b.ra, pos, 4); err != nil {
			s.readErr(b.path, errors.New("tensor header truncated"))
			return
		}
		ndim := int64(int32(binary.LittleEndian.Uint32(hdr)))
		if ndim < 0 || ndim > 1<<16 {
			s.finding(b.path, "corrupt-data", Suspicious, pos, "tensor record with an invalid rank")
			return
		}
		pos += 4 + 4 + 16*ndim + 8
	}
	if pos < b.size {
		s.finding(b.path, "trailing-data", Innocuous, pos, "bytes after the last legacy record")
	}
}
