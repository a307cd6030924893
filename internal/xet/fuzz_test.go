package xet

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets check bounded allocation structurally: the slices a
// parse returns have capacities bounded by the input's length, whatever
// counts it declares; TestBoundedAllocation measures the heap on hostile
// inputs. Inputs here are kilobytes of structure, which the fuzzer takes
// long to minimize: run with a short -fuzzminimizetime (e.g. 2s), or new
// coverage stalls a worker for the default minute.

func addFiles(f *testing.F, pattern string) {
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		f.Fatalf("seeds %s: %v, %v", pattern, paths, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseXorb(f *testing.F) {
	addFiles(f, "testdata/hf_xet-1.8.0/*/*.xorb")
	addFiles(f, "testdata/huggingface.js-2.17.5/*.xorb")
	for _, scheme := range []Scheme{SchemeNone, SchemeLZ4, SchemeBG4LZ4} {
		var buf bytes.Buffer
		w := NewXorbWriter(&buf, scheme)
		for _, c := range [][]byte{[]byte("hello, hello, hello, hello"), {1, 2, 3, 4, 5, 6, 7, 8, 9}, bytes.Repeat([]byte{0, 0, 128, 63}, 50)} {
			if err := w.WriteChunk(c); err != nil {
				f.Fatal(err)
			}
		}
		footer, err := w.Index().MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(buf.Bytes()))
		f.Add(append(buf.Bytes(), footer...))
	}

	f.Fuzz(checkXorb)
}

func checkXorb(t *testing.T, data []byte) {
	{
		x, err := ReadXorb(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		var off, raw int64
		for i, c := range x.Chunks {
			if c.Start != off || c.End <= c.Start || c.RawStart != raw || c.RawSize == 0 {
				t.Fatalf("chunk %d: %+v after offset %d, raw %d", i, c, off, raw)
			}
			off, raw = c.End, raw+int64(c.RawSize)
		}
		if off > int64(len(data)) {
			t.Fatalf("chunks end at %d, past the %d-byte xorb", off, len(data))
		}
		if c := cap(x.Chunks); c > 2*len(data)/(ChunkHeaderSize+1)+8 {
			t.Errorf("index of %d bytes holds room for %d chunks", len(data), c)
		}
		if x.Hash != XorbHash(x.Leaves()) {
			t.Fatal("index hash is not the hash of its chunks")
		}

		// Round trip: the decoded chunks, written again with each scheme,
		// read back as the same xorb.
		var chunks [][]byte
		cr := NewChunkReader(bytes.NewReader(data[:off]))
		for {
			c, err := cr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("decoding chunks ReadXorb accepted: %v", err)
			}
			chunks = append(chunks, bytes.Clone(c))
		}
		for _, scheme := range []Scheme{SchemeNone, SchemeLZ4} {
			var buf bytes.Buffer
			w := NewXorbWriter(&buf, scheme)
			for _, c := range chunks {
				if err := w.WriteChunk(c); err != nil {
					t.Fatal(err)
				}
			}
			y, err := VerifyXorb(bytes.NewReader(buf.Bytes()), x.Hash, int64(buf.Len()))
			if err != nil {
				t.Fatalf("re-encoded with %v: %v", scheme, err)
			}
			if diff := cmp.Diff(x.Leaves(), y.Leaves()); diff != "" {
				t.Fatalf("re-encoded with %v (-orig +new):\n%s", scheme, diff)
			}
		}
		footer, err := x.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var z Index
		if err := z.UnmarshalBinary(footer); err != nil {
			t.Fatalf("UnmarshalBinary of MarshalBinary: %v", err)
		}
		if diff := cmp.Diff(x, &z); diff != "" {
			t.Fatalf("footer round trip (-index +footer):\n%s", diff)
		}
	}
}

func FuzzDecompressChunk(f *testing.F) {
	for _, scheme := range []Scheme{SchemeNone, SchemeLZ4, SchemeBG4LZ4} {
		for _, c := range [][]byte{[]byte("abcabcabcabcabcabcabcabc"), bytes.Repeat([]byte{0, 0, 128, 63}, 300), {7}} {
			ser, err := AppendChunk(nil, c, scheme)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(ser[4], uint32(len(c)), ser[ChunkHeaderSize:])
		}
	}
	f.Fuzz(func(t *testing.T, scheme byte, rawSize uint32, payload []byte) {
		raw, err := DecompressChunk(Scheme(scheme), payload, int(rawSize))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(raw) != int(rawSize) {
			t.Fatalf("decoded %d bytes, declared %d", len(raw), rawSize)
		}
		if rawSize == 0 {
			return
		}
		ser, err := AppendChunk(nil, raw, Scheme(scheme))
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseChunkHeader(ser)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecompressChunk(h.scheme, ser[ChunkHeaderSize:], h.rawLen)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("re-encoded chunk decodes to %d bytes, %v", len(again), err)
		}
	})
}

func FuzzParseShard(f *testing.F) {
	addFiles(f, "testdata/hf_xet-1.8.0/*/*.shard")
	sum := [32]byte{1, 2, 3}
	withFooter, err := (&Shard{
		Files:  []ShardFile{{Hash: Hash{1}, Terms: []Term{{Hash{9}, 0, 10, 0, 1}}, Verification: []Hash{{2}}, SHA256: &sum}},
		Xorbs:  []ShardXorb{{Hash: Hash{9}, RawSize: 10, Chunks: []ShardChunk{{Hash{5}, 0, 10, ChunkGlobalDedup}}}},
		Footer: &ShardFooter{ChunkHashKey: Hash{7}, KeyExpiry: 1 << 40},
	}).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(withFooter)

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadShard(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		records := cap(s.Files) + cap(s.Xorbs)
		for _, f := range s.Files {
			records += cap(f.Terms) + cap(f.Verification)
		}
		for _, x := range s.Xorbs {
			records += cap(x.Chunks)
		}
		if records > 2*len(data)/shardRecordSize+16 {
			t.Errorf("shard of %d bytes holds room for %d records", len(data), records)
		}
		checkErr := s.Check()
		if checkErr != nil && !errors.Is(checkErr, ErrInvalid) {
			t.Fatalf("Check error %v does not wrap ErrInvalid", checkErr)
		}
		// No xorb is stored: Verify fails for every term and CAS entry,
		// without panicking.
		none := IndexSourceFunc(func(context.Context, Hash) (*Index, error) { return nil, errNoXorb })
		if err := s.Verify(context.Background(), none); err != nil && !errors.Is(err, errNoXorb) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify error %v", err)
		}

		b1, err := s.MarshalBinary()
		if err != nil {
			if checkErr == nil {
				t.Fatalf("MarshalBinary of a checked shard: %v", err)
			}
			return
		}
		s2, err := ReadShard(bytes.NewReader(b1), int64(len(b1)))
		if err != nil {
			t.Fatalf("ReadShard of re-encoded shard: %v", err)
		}
		if diff := cmp.Diff(s, s2); diff != "" {
			t.Fatalf("round trip (-orig +new):\n%s", diff)
		}
		b2, err := s2.MarshalBinary()
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable across a round trip (%v)", err)
		}
	})
}

func FuzzChunker(f *testing.F) {
	f.Add([]byte("short"))
	f.Add(triggeringData(3*MinChunkSize, 5))
	f.Add(splitMix64Data(MaxChunkSize+MinChunkSize, 9))
	f.Fuzz(func(t *testing.T, data []byte) {
		var all [][]byte
		c := NewChunker(bytes.NewReader(data))
		for {
			chunk, err := c.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(chunk) == 0 || len(chunk) > MaxChunkSize {
				t.Fatalf("chunk of %d bytes", len(chunk))
			}
			all = append(all, bytes.Clone(chunk))
		}
		for i, chunk := range all[:max(len(all)-1, 0)] {
			if len(chunk) < MinChunkSize {
				t.Fatalf("chunk %d of %d has %d bytes", i, len(all), len(chunk))
			}
		}
		if !bytes.Equal(bytes.Join(all, nil), data) {
			t.Fatal("chunks do not add up to the input")
		}
		ends, _ := chunkAll(t, iotest.OneByteReader(bytes.NewReader(data)))
		var want []int
		end := 0
		for _, chunk := range all {
			end += len(chunk)
			want = append(want, end)
		}
		if diff := cmp.Diff(want, ends); diff != "" {
			t.Fatalf("boundaries depend on read sizes (-whole +bytewise):\n%s", diff)
		}
	})
}

func FuzzParseHash(f *testing.F) {
	f.Add("d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f")
	f.Add("D6834B04843AAF16F29903E2428A99BE635099F9EA5056CC4E95E7EC8A41509F")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		if h.String() != strings.ToLower(s) {
			t.Fatalf("ParseHash(%q).String() = %s", s, h)
		}
	})
}

// FuzzPlanReconstruction checks the range arithmetic on synthetic
// indexes: chunk sizes, terms and the range all come from the input.
func FuzzPlanReconstruction(f *testing.F) {
	f.Add([]byte{100, 200, 50, 7}, []byte{0, 3, 1, 2, 2, 4}, uint32(150), uint32(100))
	f.Add([]byte{1, 1, 1, 1}, []byte{0, 4, 0, 4}, uint32(0), uint32(0))
	f.Fuzz(func(t *testing.T, sizes, spans []byte, start, length uint32) {
		if len(sizes) == 0 || len(sizes) > 64 || len(spans) > 64 {
			return
		}
		idx := &Index{Hash: Hash{1}}
		var off int64
		for i, s := range sizes {
			size := uint32(s) + 1
			idx.Chunks = append(idx.Chunks, IndexChunk{Hash{byte(i)}, size, off, 3 * off, 3*off + 3*int64(size)})
			off += int64(size)
		}
		var terms []Term
		var fileSize uint64
		for i := 0; i+1 < len(spans); i += 2 {
			a, b := int(spans[i])%len(sizes), int(spans[i+1])%(len(sizes)+1)
			if a >= b {
				continue
			}
			var n uint32
			for _, c := range idx.Chunks[a:b] {
				n += c.RawSize
			}
			terms = append(terms, Term{Xorb: idx.Hash, RawSize: n, ChunkStart: uint32(a), ChunkEnd: uint32(b)})
			fileSize += uint64(n)
		}
		var r *FileRange
		if length > 0 {
			r = &FileRange{uint64(start), uint64(start) + uint64(length)}
		}
		p, err := PlanReconstruction(context.Background(), terms, r, indexMap{idx.Hash: idx})
		if err != nil {
			if r != nil && r.Start >= fileSize && errors.Is(err, ErrRangeNotSatisfiable) {
				return
			}
			t.Fatalf("PlanReconstruction: %v", err)
		}
		want := fileSize
		if r != nil {
			want = min(r.End, fileSize) - min(r.Start, fileSize)
		}
		var total uint64
		for i, rt := range p.Terms {
			var n uint64
			for _, c := range idx.Chunks[rt.Range.Start:rt.Range.End] {
				n += uint64(c.RawSize)
			}
			if n != uint64(rt.UnpackedLength) || n == 0 {
				t.Fatalf("term %d: %+v holds %d bytes", i, rt, n)
			}
			inFetch := false
			for _, fe := range p.Fetches[rt.Hash] {
				inFetch = inFetch || fe.Chunks.Start <= rt.Range.Start && rt.Range.End <= fe.Chunks.End
			}
			if !inFetch {
				t.Fatalf("term %d outside every fetch range", i)
			}
			total += n
		}
		if want == 0 {
			if len(p.Terms) != 0 {
				t.Fatalf("%d terms for no bytes", len(p.Terms))
			}
			return
		}
		first := uint64(idx.Chunks[p.Terms[0].Range.Start].RawSize)
		lastTerm := p.Terms[len(p.Terms)-1]
		last := uint64(idx.Chunks[lastTerm.Range.End-1].RawSize)
		if p.OffsetIntoFirstRange >= first || total < p.OffsetIntoFirstRange+want || total-last >= p.OffsetIntoFirstRange+want {
			t.Fatalf("offset %d, %d bytes for %d wanted (first chunk %d, last %d)", p.OffsetIntoFirstRange, total, want, first, last)
		}
		for h, fs := range p.Fetches {
			for i := 1; i < len(fs); i++ {
				if fs[i].Chunks.Start <= fs[i-1].Chunks.End {
					t.Fatalf("xorb %v: fetches %d and %d touch", h, i-1, i)
				}
			}
		}
	})
}
