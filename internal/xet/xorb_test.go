package xet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// clientXorbs are xorbs uploaded by hf_xet 1.8.0 (PyPI) to a capturing
// server, one run per HF_XET_XORB_COMPRESSION_POLICY, with upload_bytes of
// five files: fixtureText, 2500 float32 sines, 2000 random bytes, an empty
// file and fixtureText again. Their chunks are LZ4 frames from lz4_flex
// (64 KiB independent blocks, no checksums) and uncompressed chunks.
func clientXorbs(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob("testdata/hf_xet-1.8.0/*/*.xorb")
	if err != nil || len(paths) != 3 {
		t.Fatalf("client xorbs: %v, %v", paths, err)
	}
	m := map[string]string{}
	for _, p := range paths {
		m[p] = strings.TrimSuffix(filepath.Base(p), ".xorb")
	}
	return m
}

// fixtureText is the first file of the client fixtures.
func fixtureText() []byte {
	var b bytes.Buffer
	for i := range 220 {
		fmt.Fprintf(&b, "line %05d: the quick brown fox jumps over the lazy dog\n", i)
	}
	return b.Bytes()[:12000]
}

func TestClientXorbs(t *testing.T) {
	text := fixtureText()
	for path, name := range clientXorbs(t) {
		t.Run(path, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := mustHash(t, name)
			x, err := VerifyXorb(bytes.NewReader(body), want, int64(len(body)))
			if err != nil {
				t.Fatal(err)
			}
			if x.Size() != int64(len(body)) || x.RawSize() != 36000 || len(x.Chunks) != 4 {
				t.Errorf("index: %d serialized bytes, %d raw, %d chunks; want %d, 36000, 4", x.Size(), x.RawSize(), len(x.Chunks), len(body))
			}
			// Every chunk decodes on its own from its byte range, as a
			// client downloads it.
			sawText := false
			for i, c := range x.Chunks {
				from, to, ok := x.ByteRange(i, i+1)
				if !ok || from != c.Start || to != c.End {
					t.Fatalf("ByteRange(%d, %d) = %d, %d, %v", i, i+1, from, to, ok)
				}
				var raw bytes.Buffer
				if _, err := DecodeChunks(&raw, bytes.NewReader(body[from:to])); err != nil {
					t.Fatal(err)
				}
				if ChunkHash(raw.Bytes()) != c.Hash {
					t.Errorf("chunk %d decodes to other bytes", i)
				}
				sawText = sawText || bytes.Equal(raw.Bytes(), text)
			}
			if !sawText {
				t.Error("no chunk decodes to the text file")
			}
			if _, err := VerifyXorb(iotest.OneByteReader(bytes.NewReader(body)), want, int64(len(body))); err != nil {
				t.Errorf("VerifyXorb reading a byte at a time: %v", err)
			}
			if _, err := VerifyXorb(bytes.NewReader(body), Hash{1}, int64(len(body))); !errors.Is(err, ErrHashMismatch) || !errors.Is(err, ErrInvalid) {
				t.Errorf("VerifyXorb with another name: %v, want ErrHashMismatch", err)
			}
			if _, err := ReadXorb(bytes.NewReader(body), int64(len(body))-1); !errors.Is(err, ErrTooLarge) {
				t.Errorf("ReadXorb over the limit: %v, want ErrTooLarge", err)
			}
		})
	}
}

// testChunks are chunk contents of every kind: compressible text, 4-byte
// floats (where byte grouping pays), incompressible bytes, tiny and
// maximal chunks, and a length that is not a multiple of 4.
func testChunks() [][]byte {
	floats := make([]byte, 0, 40000)
	for i := range 10000 {
		floats = binary.LittleEndian.AppendUint32(floats, 0x3f800000+uint32(i%97)*3)
	}
	return [][]byte{
		fixtureText(),
		floats,
		splitMix64Data(5000, 3),
		{42},
		bytes.Repeat([]byte("ab"), MaxChunkSize/2),
		splitMix64Data(MaxChunkSize, 4),
		splitMix64Data(4001, 5)[:4001],
	}
}

func TestXorbRoundTrip(t *testing.T) {
	chunks := testChunks()
	var leaves []Leaf
	for _, c := range chunks {
		leaves = append(leaves, Leaf{ChunkHash(c), uint64(len(c))})
	}
	for _, scheme := range []Scheme{SchemeNone, SchemeLZ4, SchemeBG4LZ4} {
		t.Run(scheme.String(), func(t *testing.T) {
			var buf bytes.Buffer
			w := NewXorbWriter(&buf, scheme)
			for _, c := range chunks {
				if err := w.WriteChunk(c); err != nil {
					t.Fatal(err)
				}
			}
			wrote := w.Index()
			if wrote.Hash != XorbHash(leaves) {
				t.Errorf("writer hash %v, want %v", wrote.Hash, XorbHash(leaves))
			}
			read, err := VerifyXorb(bytes.NewReader(buf.Bytes()), wrote.Hash, int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wrote, read); diff != "" {
				t.Errorf("index (-written +read):\n%s", diff)
			}
			var raw bytes.Buffer
			if _, err := DecodeChunks(&raw, bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw.Bytes(), bytes.Join(chunks, nil)) {
				t.Error("decoded content differs")
			}
			schemes := map[Scheme]int{}
			for _, c := range read.Chunks {
				schemes[Scheme(buf.Bytes()[c.Start+4])]++
			}
			if scheme != SchemeNone && schemes[scheme] == 0 {
				t.Errorf("no chunk stored with %v: %v", scheme, schemes)
			}
			if schemes[SchemeNone] == 0 {
				t.Errorf("incompressible chunks were not stored uncompressed: %v", schemes)
			}

			// An old client appends the index as a footer; reading stops
			// at it and finds the same chunks.
			footer, err := read.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			withFooter := append(bytes.Clone(buf.Bytes()), footer...)
			again, err := VerifyXorb(bytes.NewReader(withFooter), wrote.Hash, int64(len(withFooter)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(read, again); diff != "" {
				t.Errorf("index with footer (-without +with):\n%s", diff)
			}
			var fromFooter Index
			if err := fromFooter.UnmarshalBinary(footer); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(read, &fromFooter); diff != "" {
				t.Errorf("index from footer (-read +footer):\n%s", diff)
			}
			if len(footer) != 96+40*len(chunks) {
				t.Errorf("footer of %d bytes, want 92+40n+4", len(footer))
			}
		})
	}
}

func TestXorbWriterLimits(t *testing.T) {
	w := NewXorbWriter(io.Discard, SchemeNone)
	for _, bad := range [][]byte{nil, make([]byte, MaxChunkSize+1)} {
		if err := w.WriteChunk(bad); err == nil {
			t.Errorf("WriteChunk of %d bytes succeeded", len(bad))
		}
	}
	for range MaxXorbChunks {
		if err := w.WriteChunk([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	if w.Fits(1) || w.WriteChunk([]byte{1}) == nil {
		t.Errorf("writer takes chunk %d", MaxXorbChunks+1)
	}
	if !NewXorbWriter(io.Discard, SchemeNone).Fits(MaxChunkSize) {
		t.Error("empty writer does not fit a chunk")
	}
}

// rawChunk serializes a chunk header and payload as given, valid or not.
func rawChunk(version byte, payloadLen int, scheme Scheme, rawLen int, payload []byte) []byte {
	b := []byte{version, byte(payloadLen), byte(payloadLen >> 8), byte(payloadLen >> 16),
		byte(scheme), byte(rawLen), byte(rawLen >> 8), byte(rawLen >> 16)}
	return append(b, payload...)
}

func lz4Frame(t testing.TB, data []byte) []byte {
	t.Helper()
	var e encoder
	c, err := e.compress(SchemeLZ4, data)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(c)
}

func TestReadXorbErrors(t *testing.T) {
	hello := []byte("hello, hello, hello, hello, hello")
	frame := lz4Frame(t, hello)
	legacy := append([]byte{0x02, 0x21, 0x4c, 0x18}, frame[4:]...)
	good := rawChunk(0, len(hello), SchemeNone, len(hello), hello)
	tests := []struct {
		name     string
		body     []byte
		tooLarge bool
	}{
		{"no chunks", nil, false},
		{"only footer tag", []byte("XETBLOB\x01 and whatever follows"), false},
		{"truncated header", good[:5], false},
		{"truncated footer tag", append(bytes.Clone(good), "XETB"...), false},
		{"truncated payload", good[:len(good)-1], false},
		{"trailing partial header", append(bytes.Clone(good), 0, 1), false},
		{"header version 1", rawChunk(1, 5, SchemeNone, 5, hello[:5]), false},
		{"scheme 3", rawChunk(0, 5, 3, 5, hello[:5]), false},
		{"scheme auto", rawChunk(0, 5, 99, 5, hello[:5]), false},
		{"compressed too large", rawChunk(0, 2*MaxChunkSize+1, SchemeNone, 5, nil), false},
		{"raw too large", rawChunk(0, 5, SchemeNone, MaxChunkSize+1, hello[:5]), false},
		{"none with other size", rawChunk(0, 5, SchemeNone, 6, hello[:5]), false},
		{"empty chunk", rawChunk(0, 0, SchemeNone, 0, nil), false},
		{"lz4 decodes to more", rawChunk(0, len(frame), SchemeLZ4, len(hello)-1, frame), false},
		{"lz4 decodes to less", rawChunk(0, len(frame), SchemeLZ4, len(hello)+1, frame), false},
		{"lz4 raw block", rawChunk(0, 4, SchemeLZ4, 4, []byte{0x40, 'a', 'b', 'c'}), false},
		{"lz4 legacy frame", rawChunk(0, len(legacy), SchemeLZ4, len(hello), legacy), false},
		{"lz4 trailing garbage", rawChunk(0, len(frame)+3, SchemeLZ4, len(hello), append(bytes.Clone(frame), 1, 2, 3)), false},
		{"lz4 truncated frame", rawChunk(0, len(frame)-1, SchemeLZ4, len(hello), frame[:len(frame)-1]), false},
		{"bg4 corrupt", rawChunk(0, len(frame), SchemeBG4LZ4, len(hello), append(frame[:len(frame)-6:len(frame)-6], 0xff, 0xff, 0xff, 0xff, 0, 0)), false},
		{"too many chunks", bytes.Repeat(rawChunk(0, 1, SchemeNone, 1, []byte{7}), MaxXorbChunks+1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadXorb(bytes.NewReader(tc.body), 1<<20)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ReadXorb error = %v, want ErrInvalid", err)
			}
			if got := errors.Is(err, ErrTooLarge); got != tc.tooLarge {
				t.Errorf("errors.Is(%v, ErrTooLarge) = %v", err, got)
			}
		})
	}
}

func TestReadXorbReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(rawChunk(0, 3, SchemeNone, 3, []byte("abc"))), &errReader{boom})
	if _, err := ReadXorb(r, 1<<20); !errors.Is(err, boom) || errors.Is(err, ErrInvalid) {
		t.Errorf("ReadXorb error = %v, want %v and not ErrInvalid", err, boom)
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecompressChunk(t *testing.T) {
	data := testChunks()[1]
	for _, scheme := range []Scheme{SchemeNone, SchemeLZ4, SchemeBG4LZ4} {
		ser, err := AppendChunk(nil, data, scheme)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseChunkHeader(ser)
		if err != nil {
			t.Fatal(err)
		}
		if h.scheme != scheme {
			t.Errorf("AppendChunk(%v) wrote %v", scheme, h.scheme)
		}
		got, err := DecompressChunk(h.scheme, ser[ChunkHeaderSize:], h.rawLen)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("DecompressChunk(%v) = %d bytes, %v", scheme, len(got), err)
		}
	}
	if _, err := DecompressChunk(SchemeLZ4, nil, MaxChunkSize+1); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversize raw size: %v", err)
	}
}

func TestBG4(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 31, 32, 33, 34, 35, 36, 100, 1001, MaxChunkSize - 1, MaxChunkSize} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7 / 3)
		}
		g := make([]byte, n)
		bg4Split(g, data)
		// Byte i of group k is data[4i+k]: groups 0..3 in order.
		var want []byte
		for k := range 4 {
			for i := k; i < n; i += 4 {
				want = append(want, data[i])
			}
		}
		if !bytes.Equal(g, want) {
			t.Errorf("n=%d: split %v, want %v", n, g, want)
		}
		back := make([]byte, n)
		bg4Regroup(back, g)
		if !bytes.Equal(back, data) {
			t.Errorf("n=%d: regroup %v, want %v", n, back, data)
		}
	}
}

func TestIndexUnmarshalErrors(t *testing.T) {
	var w bytes.Buffer
	xw := NewXorbWriter(&w, SchemeNone)
	for _, c := range [][]byte{[]byte("abc"), []byte("defg")} {
		if err := xw.WriteChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	footer, err := xw.Index().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(off int, b byte) []byte {
		c := bytes.Clone(footer)
		c[off] = b
		return c
	}
	tests := map[string][]byte{
		"empty":            nil,
		"short":            footer[:len(footer)-1],
		"version 0":        corrupt(7, 0),
		"hash ident":       corrupt(40, 'Y'),
		"count":            corrupt(48, 3),
		"length field":     corrupt(len(footer)-4, 0),
		"chunk end before": corrupt(52+64+12, 2),
		"raw end zero":     corrupt(52+64+12+8, 0),
	}
	for name, b := range tests {
		var x Index
		if err := x.UnmarshalBinary(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: UnmarshalBinary error = %v, want ErrInvalid", name, err)
		}
	}
}

// TestJSXorb decodes chunks compressed by the lz4js copy inside
// @huggingface/hub 2.17.5 (npm), chosen and framed as createXorbs.ts
// writeChunk does: frames with linked 4 MiB blocks, unlike lz4_flex's.
// The chunks are fixtureText (BG4), the 40000 float bytes of testChunks
// (BG4), "ab"×2000 (LZ4) and the floats again (BG4).
func TestJSXorb(t *testing.T) {
	body, err := os.ReadFile("testdata/huggingface.js-2.17.5/lz4js.xorb")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{fixtureText(), testChunks()[1], bytes.Repeat([]byte("ab"), 2000), testChunks()[1]}
	var leaves []Leaf
	for _, c := range want {
		leaves = append(leaves, Leaf{ChunkHash(c), uint64(len(c))})
	}
	x, err := VerifyXorb(bytes.NewReader(body), XorbHash(leaves), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := DecodeChunks(&got, bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), bytes.Join(want, nil)) || len(x.Chunks) != 4 {
		t.Error("decoded content differs")
	}
}
