package xet

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// A FileRange is bytes [Start, End) of a file. An HTTP "Range: bytes=a-b"
// header, whose end is inclusive, is FileRange{a, b+1}.
type FileRange struct {
	Start, End uint64
}

// A Plan says which chunks of which xorbs rebuild a range of a file: the
// content of a reconstruction response before presigned URLs are added.
type Plan struct {
	// OffsetIntoFirstRange is how many bytes of the first term's decoded
	// chunks come before the requested range.
	OffsetIntoFirstRange uint64
	// Terms, in file order, each with its chunk range trimmed to the
	// requested bytes and the raw size of the trimmed chunks.
	Terms []ReconstructionTerm
	// Fetches lists, per xorb, the chunk ranges to download, sorted and
	// with overlapping or adjacent ranges merged, so that every term lies
	// in one of them.
	Fetches map[Hash][]Fetch
}

// A Fetch is a range of chunks of a stored xorb and the serialized bytes
// [From, To) that hold them.
type Fetch struct {
	Chunks   ChunkRange
	From, To int64
}

// PlanReconstruction computes the reconstruction of bytes r of the file
// made of terms, or of the whole file when r is nil, following xet-core's
// reference server (simulation/xorb_utils.rs compute_reconstruction_ranges):
// terms before r.Start are skipped; the first kept term loses its leading
// chunks that end at or before r.Start, the last its trailing chunks that
// start at or after r.End; r.End is clamped to the file's size.
//
// A range starting at or past the end of the file gives
// [ErrRangeNotSatisfiable], except that the empty file with r.Start 0 has
// an empty plan, as has the whole empty file. r must not be empty. Terms
// that do not match their xorb's index give errors wrapping [ErrInvalid];
// errors from src are returned wrapped.
func PlanReconstruction(ctx context.Context, terms []Term, r *FileRange, src IndexSource) (*Plan, error) {
	p := &Plan{Terms: []ReconstructionTerm{}, Fetches: map[Hash][]Fetch{}}
	var size uint64
	for _, t := range terms {
		size += uint64(t.RawSize)
	}
	start, end := uint64(0), size
	if r != nil {
		if r.End <= r.Start {
			return nil, fmt.Errorf("xet: empty range [%d, %d)", r.Start, r.End)
		}
		if r.Start >= size {
			if size == 0 && r.Start == 0 {
				return p, nil
			}
			return nil, fmt.Errorf("%w: start %d, file size %d", ErrRangeNotSatisfiable, r.Start, size)
		}
		start, end = r.Start, min(r.End, size)
	}
	var pos uint64 // file offset of the next chunk
	i := 0
	for ; i < len(terms) && pos+uint64(terms[i].RawSize) <= start; i++ {
		pos += uint64(terms[i].RawSize)
	}
	firstChunkOffset := pos
	cache := cachedSource{src: src, m: map[Hash]*Index{}}
	for ; i < len(terms) && pos < end; i++ {
		t := terms[i]
		idx, err := cache.XorbIndex(ctx, t.Xorb)
		if err != nil {
			return nil, fmt.Errorf("term %d: xorb %v: %w", i, t.Xorb, err)
		}
		if err := checkTerm(t, idx); err != nil {
			return nil, fmt.Errorf("term %d: %w", i, err)
		}
		cs, ce, raw := t.ChunkStart, t.ChunkEnd, uint64(t.RawSize)
		for pos < start {
			n := uint64(idx.Chunks[cs].RawSize)
			if pos+n > start {
				break
			}
			pos, firstChunkOffset, raw, cs = pos+n, firstChunkOffset+n, raw-n, cs+1
		}
		for pos+raw > end {
			n := uint64(idx.Chunks[ce-1].RawSize)
			if pos+raw-n < end {
				break
			}
			raw, ce = raw-n, ce-1
		}
		p.Terms = append(p.Terms, ReconstructionTerm{
			Hash:           t.Xorb,
			UnpackedLength: uint32(raw),
			Range:          ChunkRange{cs, ce},
		})
		from, to, _ := idx.ByteRange(int(cs), int(ce))
		p.Fetches[t.Xorb] = append(p.Fetches[t.Xorb], Fetch{ChunkRange{cs, ce}, from, to})
		pos += raw
	}
	p.OffsetIntoFirstRange = start - firstChunkOffset
	for h, fs := range p.Fetches {
		p.Fetches[h] = mergeFetches(fs)
	}
	return p, nil
}

func checkTerm(t Term, idx *Index) error {
	if t.ChunkStart >= t.ChunkEnd || int(t.ChunkEnd) > len(idx.Chunks) {
		return invalid("chunks [%d, %d) of a xorb of %d", t.ChunkStart, t.ChunkEnd, len(idx.Chunks))
	}
	var n uint64
	for _, c := range idx.Chunks[t.ChunkStart:t.ChunkEnd] {
		n += uint64(c.RawSize)
	}
	if n != uint64(t.RawSize) {
		return invalid("chunks hold %d bytes, term says %d", n, t.RawSize)
	}
	return nil
}

// mergeFetches sorts fs by first chunk and merges ranges that overlap or
// touch, as the reference server does; clients need every term inside a
// single range.
func mergeFetches(fs []Fetch) []Fetch {
	slices.SortFunc(fs, func(a, b Fetch) int { return cmp.Compare(a.Chunks.Start, b.Chunks.Start) })
	out := fs[:1]
	for _, f := range fs[1:] {
		cur := &out[len(out)-1]
		if f.Chunks.Start <= cur.Chunks.End {
			if f.Chunks.End > cur.Chunks.End {
				cur.Chunks.End, cur.To = f.Chunks.End, f.To
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

// A URLFunc returns the presigned URL through which a client downloads
// serialized bytes [from, to) of xorb h.
type URLFunc func(h Hash, from, to int64) string

// V1 returns the plan as a /v1/reconstructions response.
func (p *Plan) V1(url URLFunc) *ReconstructionResponse {
	resp := &ReconstructionResponse{
		OffsetIntoFirstRange: p.OffsetIntoFirstRange,
		Terms:                p.Terms,
		FetchInfo:            make(map[Hash][]FetchInfo, len(p.Fetches)),
	}
	for h, fs := range p.Fetches {
		infos := make([]FetchInfo, len(fs))
		for i, f := range fs {
			infos[i] = FetchInfo{Range: f.Chunks, URL: url(h, f.From, f.To), URLRange: HTTPRange{uint64(f.From), uint64(f.To - 1)}}
		}
		resp.FetchInfo[h] = infos
	}
	return resp
}

// V2 returns the plan as a /v2/reconstructions response, with one range
// per URL: huggingface.js then needs no multipart/byteranges answer.
func (p *Plan) V2(url URLFunc) *ReconstructionResponseV2 {
	resp := &ReconstructionResponseV2{
		OffsetIntoFirstRange: p.OffsetIntoFirstRange,
		Terms:                p.Terms,
		Xorbs:                make(map[Hash][]MultiRangeFetch, len(p.Fetches)),
	}
	for h, fs := range p.Fetches {
		fetches := make([]MultiRangeFetch, len(fs))
		for i, f := range fs {
			fetches[i] = MultiRangeFetch{
				URL:    url(h, f.From, f.To),
				Ranges: []RangeDescriptor{{Chunks: f.Chunks, Bytes: HTTPRange{uint64(f.From), uint64(f.To - 1)}}},
			}
		}
		resp.Xorbs[h] = fetches
	}
	return resp
}

// JSON types of the CAS API (xet-core xet_client/src/cas_types/mod.rs,
// openapi/cas.openapi.yaml). Hashes are in their [Hash.String] form.

// A ChunkRange is chunks [Start, End) of a xorb.
type ChunkRange struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// An HTTPRange is bytes [Start, End] of a serialized xorb, inclusive as
// in an HTTP Range header.
type HTTPRange struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
}

// A ReconstructionTerm is one term of a reconstruction response. Clients
// reject a term whose decoded chunks are not UnpackedLength bytes.
type ReconstructionTerm struct {
	Hash           Hash       `json:"hash"`
	UnpackedLength uint32     `json:"unpacked_length"`
	Range          ChunkRange `json:"range"`
}

// A FetchInfo tells a v1 client where to download a range of chunks.
type FetchInfo struct {
	Range    ChunkRange `json:"range"`
	URL      string     `json:"url"`
	URLRange HTTPRange  `json:"url_range"`
}

// A ReconstructionResponse answers GET /v1/reconstructions/{file}.
type ReconstructionResponse struct {
	OffsetIntoFirstRange uint64               `json:"offset_into_first_range"`
	Terms                []ReconstructionTerm `json:"terms"`
	FetchInfo            map[Hash][]FetchInfo `json:"fetch_info"`
}

// A RangeDescriptor maps a range of chunks to the bytes that hold them.
type RangeDescriptor struct {
	Chunks ChunkRange `json:"chunks"`
	Bytes  HTTPRange  `json:"bytes"`
}

// A MultiRangeFetch is a URL and the ranges a client fetches through it.
type MultiRangeFetch struct {
	URL    string            `json:"url"`
	Ranges []RangeDescriptor `json:"ranges"`
}

// A ReconstructionResponseV2 answers GET /v2/reconstructions/{file}.
type ReconstructionResponseV2 struct {
	OffsetIntoFirstRange uint64                     `json:"offset_into_first_range"`
	Terms                []ReconstructionTerm       `json:"terms"`
	Xorbs                map[Hash][]MultiRangeFetch `json:"xorbs"`
}

// An UploadXorbResponse answers POST /v1/xorbs/{prefix}/{hash}.
// WasInserted is false when the xorb was already stored, which is not an
// error.
type UploadXorbResponse struct {
	WasInserted bool `json:"was_inserted"`
}

// An UploadShardResponse answers POST /v1/shards with one of the
// ShardResult values.
type UploadShardResponse struct {
	Result int `json:"result"`
}

// Values of [UploadShardResponse].Result (xet-core
// UploadShardResponseType); clients take any 200 as success.
const (
	ShardResultExists     = 0
	ShardResultRegistered = 1
)
