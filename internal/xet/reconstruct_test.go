package xet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildXorb writes a xorb of random chunks of the given sizes and returns
// its bytes, index and raw content.
func buildXorb(t testing.TB, seed uint64, sizes ...int) ([]byte, *Index, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := NewXorbWriter(&buf, SchemeLZ4)
	var raw []byte
	for i, n := range sizes {
		c := splitMix64Data(n, seed*1000+uint64(i))
		raw = append(raw, c...)
		if err := w.WriteChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), w.Index(), raw
}

// These cases follow the tests of xet-core's reference server,
// xet_client/src/cas_client/simulation/xorb_utils.rs
// (test_compute_ranges_*), plus trimming at both ends.
func TestPlanReconstruction(t *testing.T) {
	aBytes, a, aRaw := buildXorb(t, 1, 100, 200, 300)
	bBytes, b, bRaw := buildXorb(t, 2, 100, 100, 100, 100)
	cBytes, c, cRaw := buildXorb(t, 3, 150, 150)
	src := indexMap{a.Hash: a, b.Hash: b, c.Hash: c}
	stored := map[Hash][]byte{a.Hash: aBytes, b.Hash: bBytes, c.Hash: cBytes}
	raws := map[Hash][]byte{a.Hash: aRaw, b.Hash: bRaw, c.Hash: cRaw}
	fetch := func(x *Index, start, end uint32) Fetch {
		from, to, _ := x.ByteRange(int(start), int(end))
		return Fetch{ChunkRange{start, end}, from, to}
	}
	term := func(x *Index, start, end uint32) Term {
		var n uint32
		for _, c := range x.Chunks[start:end] {
			n += c.RawSize
		}
		return Term{Xorb: x.Hash, RawSize: n, ChunkStart: start, ChunkEnd: end}
	}
	rterm := func(x *Index, start, end uint32) ReconstructionTerm {
		tm := term(x, start, end)
		return ReconstructionTerm{x.Hash, tm.RawSize, ChunkRange{start, end}}
	}
	tests := []struct {
		name  string
		terms []Term
		r     *FileRange
		want  *Plan
	}{
		{"single term", []Term{term(a, 0, 3)}, nil, &Plan{
			Terms:   []ReconstructionTerm{rterm(a, 0, 3)},
			Fetches: map[Hash][]Fetch{a.Hash: {fetch(a, 0, 3)}},
		}},
		{"range on chunk boundaries", []Term{term(a, 0, 3)}, &FileRange{100, 300}, &Plan{
			Terms:   []ReconstructionTerm{rterm(a, 1, 2)},
			Fetches: map[Hash][]Fetch{a.Hash: {fetch(a, 1, 2)}},
		}},
		{"offset into first range", []Term{term(a, 0, 3)}, &FileRange{150, 600}, &Plan{
			OffsetIntoFirstRange: 50,
			Terms:                []ReconstructionTerm{rterm(a, 1, 3)},
			Fetches:              map[Hash][]Fetch{a.Hash: {fetch(a, 1, 3)}},
		}},
		{"end clamped to size", []Term{term(a, 0, 1)}, &FileRange{0, 10000}, &Plan{
			Terms:   []ReconstructionTerm{rterm(a, 0, 1)},
			Fetches: map[Hash][]Fetch{a.Hash: {fetch(a, 0, 1)}},
		}},
		{"adjacent terms merge", []Term{term(b, 0, 2), term(b, 2, 4)}, nil, &Plan{
			Terms:   []ReconstructionTerm{rterm(b, 0, 2), rterm(b, 2, 4)},
			Fetches: map[Hash][]Fetch{b.Hash: {fetch(b, 0, 4)}},
		}},
		{"two xorbs interleaved", []Term{term(b, 0, 2), term(c, 0, 2), term(b, 2, 4)}, nil, &Plan{
			Terms:   []ReconstructionTerm{rterm(b, 0, 2), rterm(c, 0, 2), rterm(b, 2, 4)},
			Fetches: map[Hash][]Fetch{b.Hash: {fetch(b, 0, 4)}, c.Hash: {fetch(c, 0, 2)}},
		}},
		{"gap stays apart", []Term{term(b, 3, 4), term(b, 0, 1)}, nil, &Plan{
			Terms:   []ReconstructionTerm{rterm(b, 3, 4), rterm(b, 0, 1)},
			Fetches: map[Hash][]Fetch{b.Hash: {fetch(b, 0, 1), fetch(b, 3, 4)}},
		}},
		{"overlapping terms merge", []Term{term(b, 0, 3), term(b, 1, 2)}, nil, &Plan{
			Terms:   []ReconstructionTerm{rterm(b, 0, 3), rterm(b, 1, 2)},
			Fetches: map[Hash][]Fetch{b.Hash: {fetch(b, 0, 3)}},
		}},
		{"trim both ends across terms", []Term{term(b, 0, 4), term(c, 0, 2), term(a, 0, 3)}, &FileRange{250, 751}, &Plan{
			// b: 0-400, c: 400-700, a: 700-1300; bytes 250-750 inclusive.
			OffsetIntoFirstRange: 50,
			Terms:                []ReconstructionTerm{rterm(b, 2, 4), rterm(c, 0, 2), rterm(a, 0, 1)},
			Fetches:              map[Hash][]Fetch{b.Hash: {fetch(b, 2, 4)}, c.Hash: {fetch(c, 0, 2)}, a.Hash: {fetch(a, 0, 1)}},
		}},
		{"last byte", []Term{term(a, 0, 3)}, &FileRange{599, 600}, &Plan{
			OffsetIntoFirstRange: 299,
			Terms:                []ReconstructionTerm{rterm(a, 2, 3)},
			Fetches:              map[Hash][]Fetch{a.Hash: {fetch(a, 2, 3)}},
		}},
		{"empty file", nil, nil, &Plan{Terms: []ReconstructionTerm{}, Fetches: map[Hash][]Fetch{}}},
		{"empty file from 0", nil, &FileRange{0, 100}, &Plan{Terms: []ReconstructionTerm{}, Fetches: map[Hash][]Fetch{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanReconstruction(t.Context(), tc.terms, tc.r, src)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// Decoding the fetched bytes as a client does yields exactly
			// the requested bytes of the file.
			var file []byte
			for _, tm := range tc.terms {
				x := src[tm.Xorb]
				file = append(file, raws[tm.Xorb][x.Chunks[tm.ChunkStart].RawStart:x.Chunks[tm.ChunkEnd-1].RawStart+int64(x.Chunks[tm.ChunkEnd-1].RawSize)]...)
			}
			start, end := uint64(0), uint64(len(file))
			if tc.r != nil {
				start, end = tc.r.Start, min(tc.r.End, end)
			}
			var out []byte
			for _, rt := range got.Terms {
				from, to, ok := src[rt.Hash].ByteRange(int(rt.Range.Start), int(rt.Range.End))
				if !ok {
					t.Fatalf("term %+v outside its xorb", rt)
				}
				var buf bytes.Buffer
				if _, err := DecodeChunks(&buf, bytes.NewReader(stored[rt.Hash][from:to])); err != nil {
					t.Fatal(err)
				}
				if buf.Len() != int(rt.UnpackedLength) {
					t.Errorf("term %+v decodes to %d bytes", rt, buf.Len())
				}
				out = append(out, buf.Bytes()...)
			}
			if len(got.Terms) > 0 {
				out = out[got.OffsetIntoFirstRange:][:end-start]
			}
			if !bytes.Equal(out, file[start:end]) {
				t.Errorf("reconstructed bytes differ from file[%d:%d]", start, end)
			}
		})
	}
}

func TestPlanReconstructionErrors(t *testing.T) {
	_, a, _ := buildXorb(t, 1, 100, 200, 300)
	src := indexMap{a.Hash: a}
	good := Term{Xorb: a.Hash, RawSize: 600, ChunkStart: 0, ChunkEnd: 3}
	tests := []struct {
		name  string
		terms []Term
		r     *FileRange
		check func(error) bool
	}{
		{"start at size", []Term{good}, &FileRange{600, 700}, func(err error) bool { return errors.Is(err, ErrRangeNotSatisfiable) }},
		{"empty file from 1", nil, &FileRange{1, 2}, func(err error) bool { return errors.Is(err, ErrRangeNotSatisfiable) }},
		{"empty range", []Term{good}, &FileRange{5, 5}, func(err error) bool { return err != nil }},
		{"term size mismatch", []Term{{Xorb: a.Hash, RawSize: 601, ChunkEnd: 3}}, nil, func(err error) bool { return errors.Is(err, ErrInvalid) }},
		{"term beyond xorb", []Term{{Xorb: a.Hash, RawSize: 600, ChunkEnd: 4}}, nil, func(err error) bool { return errors.Is(err, ErrInvalid) }},
		{"unknown xorb", []Term{{Xorb: Hash{1}, RawSize: 600, ChunkEnd: 3}}, nil, func(err error) bool {
			return errors.Is(err, errNoXorb) && !errors.Is(err, ErrInvalid)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PlanReconstruction(t.Context(), tc.terms, tc.r, src)
			if !tc.check(err) {
				t.Errorf("unexpected error %v", err)
			}
		})
	}
}

func TestReconstructionJSON(t *testing.T) {
	x, y := Hash{1}, Hash{2}
	p := &Plan{
		OffsetIntoFirstRange: 7,
		Terms:                []ReconstructionTerm{{x, 300, ChunkRange{0, 2}}, {y, 100, ChunkRange{3, 4}}},
		Fetches:              map[Hash][]Fetch{x: {{ChunkRange{0, 2}, 0, 316}}, y: {{ChunkRange{3, 4}, 500, 608}}},
	}
	url := func(h Hash, from, to int64) string { return fmt.Sprintf("https://cas/x/%.4s?r=%d-%d", h, from, to) }
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"v1", p.V1(url), `{"offset_into_first_range":7,` +
			`"terms":[{"hash":"0000000000000001000000000000000000000000000000000000000000000000","unpacked_length":300,"range":{"start":0,"end":2}},` +
			`{"hash":"0000000000000002000000000000000000000000000000000000000000000000","unpacked_length":100,"range":{"start":3,"end":4}}],` +
			`"fetch_info":{"0000000000000001000000000000000000000000000000000000000000000000":[{"range":{"start":0,"end":2},"url":"https://cas/x/0000?r=0-316","url_range":{"start":0,"end":315}}],` +
			`"0000000000000002000000000000000000000000000000000000000000000000":[{"range":{"start":3,"end":4},"url":"https://cas/x/0000?r=500-608","url_range":{"start":500,"end":607}}]}}`},
		{"v2", p.V2(url), `{"offset_into_first_range":7,` +
			`"terms":[{"hash":"0000000000000001000000000000000000000000000000000000000000000000","unpacked_length":300,"range":{"start":0,"end":2}},` +
			`{"hash":"0000000000000002000000000000000000000000000000000000000000000000","unpacked_length":100,"range":{"start":3,"end":4}}],` +
			`"xorbs":{"0000000000000001000000000000000000000000000000000000000000000000":[{"url":"https://cas/x/0000?r=0-316","ranges":[{"chunks":{"start":0,"end":2},"bytes":{"start":0,"end":315}}]}],` +
			`"0000000000000002000000000000000000000000000000000000000000000000":[{"url":"https://cas/x/0000?r=500-608","ranges":[{"chunks":{"start":3,"end":4},"bytes":{"start":500,"end":607}}]}]}}`},
		{"empty v1", (&Plan{Terms: []ReconstructionTerm{}, Fetches: map[Hash][]Fetch{}}).V1(url),
			`{"offset_into_first_range":0,"terms":[],"fetch_info":{}}`},
		{"xorb upload", UploadXorbResponse{WasInserted: true}, `{"was_inserted":true}`},
		{"shard upload", UploadShardResponse{Result: ShardResultRegistered}, `{"result":1}`},
	}
	for _, tc := range tests {
		got, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
