package xet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// splitMix64Data is create_random_data of xet-core's chunking.rs tests:
// SplitMix64 outputs as little-endian uint64s, truncated to n bytes.
func splitMix64Data(n int, seed uint64) []byte {
	b := make([]byte, 0, n+8)
	state := seed
	for len(b) < n {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		b = binary.LittleEndian.AppendUint64(b, z^z>>31)
	}
	return b[:n]
}

// triggeringData is get_triggering_base_data of chunking.rs: a 128-byte
// pattern known to hit boundaries, padded with zeros, repeated to n bytes.
func triggeringData(n, padding int) []byte {
	pattern := []byte{
		154, 52, 42, 34, 159, 75, 126, 224, 70, 236, 12, 196, 79, 236, 178, 124, 127, 50, 99, 178, 44, 176, 174,
		126, 250, 235, 205, 174, 252, 122, 35, 10, 20, 101, 214, 69, 193, 8, 115, 105, 158, 228, 120, 111, 136,
		162, 198, 251, 211, 183, 253, 252, 164, 147, 63, 16, 186, 162, 117, 23, 170, 36, 205, 187, 174, 76, 210,
		174, 211, 175, 12, 173, 145, 59, 2, 70, 222, 181, 159, 227, 182, 156, 189, 51, 226, 106, 24, 50, 183, 157,
		140, 10, 8, 23, 212, 70, 10, 234, 23, 33, 219, 254, 39, 236, 70, 49, 191, 116, 9, 115, 15, 101, 26, 159,
		165, 220, 15, 170, 56, 125, 92, 163, 94, 235, 38, 40, 49, 81,
	}
	unit := append(pattern, make([]byte, padding)...)
	return bytes.Repeat(unit, n/len(unit)+1)[:n]
}

// chunkAll chunks r and returns the chunks' end offsets and hashes.
func chunkAll(t testing.TB, r io.Reader) ([]int, []string) {
	t.Helper()
	c := NewChunker(r)
	var ends []int
	var hashes []string
	end := 0
	for {
		chunk, err := c.Next()
		if errors.Is(err, io.EOF) {
			return ends, hashes
		}
		if err != nil {
			t.Fatal(err)
		}
		end += len(chunk)
		ends = append(ends, end)
		hashes = append(hashes, ChunkHash(chunk).String())
	}
}

func TestChunkBoundaries(t *testing.T) {
	// Expected boundaries from xet-core xet_data/src/deduplication/chunking.rs
	// (test_correctness_1mb_const_data, test_correctness_1mb_random_data,
	// test_correctness_100kb_hitting_data — a sample of its 128 paddings).
	tests := []struct {
		name string
		data []byte
		want []int
	}{
		{"const 59", bytes.Repeat([]byte{59}, 1_000_000),
			[]int{131072, 262144, 393216, 524288, 655360, 786432, 917504, 1000000}},
		{"splitmix seed 0", splitMix64Data(1_000_000, 0),
			[]int{84493, 134421, 144853, 243318, 271793, 336457, 467529, 494581, 582000, 596735, 616815, 653164, 678202,
				724510, 815591, 827760, 958832, 991092, 1000000}},
		{"empty", nil, nil},
		{"one byte", []byte{1}, []int{1}},
		{"below minimum", splitMix64Data(MinChunkSize-1, 5), []int{MinChunkSize - 1}},
	}
	triggering := []struct {
		padding int
		want    []int
	}{
		{0, []int{8256, 16448, 24640, 32832, 41024, 49216, 57408, 65536}},
		{1, []int{8320, 16576, 24832, 33088, 41344, 49600, 57856, 65536}},
		{2, []int{8254, 16574, 24894, 33214, 41534, 49854, 58174, 65536}},
		{3, []int{8317, 16570, 24823, 33076, 41329, 49582, 57835, 65536}},
		{11, []int{8265, 16466, 24667, 32868, 41069, 49270, 57471, 65536}},
		{38, []int{8198, 16498, 24798, 33098, 41398, 49698, 57998, 65536}},
		{45, []int{8195, 16499, 24803, 33107, 41411, 49715, 58019, 65536}},
		{61, []int{8380, 16696, 25012, 33328, 41644, 49960, 58276, 65536}},
		{67, []int{8254, 16639, 25024, 33409, 41794, 50179, 58564, 65536}},
		{82, []int{8254, 16654, 25054, 33454, 41854, 50254, 58654, 65536}},
		{104, []int{8416, 16768, 25120, 33472, 41824, 50176, 58528, 65536}},
		{106, []int{8254, 16678, 25102, 33526, 41950, 50374, 58798, 65536}},
		{111, []int{8429, 16794, 25159, 33524, 41889, 50254, 58619, 65536}},
		{120, []int{8248, 16680, 25112, 33544, 41976, 50408, 58840, 65536}},
		{126, []int{8192, 16574, 24956, 33338, 41720, 50102, 58484, 65536}},
		{127, []int{8224, 16639, 25054, 33469, 41884, 50299, 58714, 65536}},
	}
	for _, tr := range triggering {
		tests = append(tests, struct {
			name string
			data []byte
			want []int
		}{"triggering padding " + strconv.Itoa(tr.padding), triggeringData(65536, tr.padding), tr.want})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"whole":    bytes.NewReader(tc.data),
				"one byte": iotest.OneByteReader(bytes.NewReader(tc.data)),
				"half":     iotest.HalfReader(bytes.NewReader(tc.data)),
				"data+EOF": iotest.DataErrReader(bytes.NewReader(tc.data)),
			}
			for name, r := range readers {
				got, _ := chunkAll(t, r)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s: boundaries (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

func TestTriggeringData(t *testing.T) {
	// data_sample_at_11111 of chunking.rs checks the generator.
	for padding, want := range map[int]byte{0: 236, 1: 50, 11: 0, 45: 105, 127: 0} {
		if got := triggeringData(65536, padding)[11111]; got != want {
			t.Errorf("padding %d: data[11111] = %d, want %d", padding, got, want)
		}
	}
	d := splitMix64Data(1_000_000, 0)
	if d[0] != 175 || d[127] != 132 || d[111111] != 118 {
		t.Errorf("splitmix bytes 0, 127, 111111 = %d, %d, %d; want 175, 132, 118", d[0], d[127], d[111111])
	}
	// huggingface.js xetchunk-wasm tests/index.test.ts referenceSha256.
	if got := sha256.Sum256(d); hex.EncodeToString(got[:]) != "b3d0a1f7938cd4d8413a4dcffd4313e2e8ac0cb61cb1090eb140ea8e9154befb" {
		t.Errorf("splitmix sha256 = %x", got)
	}
}

func TestChunkHashes(t *testing.T) {
	// huggingface.js packages/xetchunk-wasm/tests/index.test.ts
	// ("should pass 1MB random data test"), pinned to xet-core.
	want := []string{
		"6eca1e7dadaf08cca5d82d318c800f07c2ddcec115a7e8627e5edd9605b94b8d",
		"624ea34d72a06e5d43a1b8dd10763f0d22f165992c397ed97563899b27fdd88a",
		"4411d2ec847c6e3f451a7451ff3933adb4f1c31587421b9f730b698a78313b47",
		"6342bde97433e29e0779ad33eb8040d986679040361b3cc3a06230fe60dd6c9b",
		"405253fcf15bba751adc4f507d3453273daff81ed4d8acd71c521aa1cbddc0b5",
		"4482374af7f8bebfdb5c5df0299f80128d6c58886ad7b218c562b1d74064e4cb",
		"80acc8d39c853b4b8a8c6ad7b63bf2ea68f62c2226b92f06349f92cc84d213cc",
		"a7076d7d343f711fb20fe6cd023248d8d051e8fe7d44172596cd5c7ea7edaf65",
		"44755217bbb4dadc81ea7695765230a34a2e6cb3b55f373f1de35aeba79ae92c",
		"001adc1d302d5f039278325dcbd5ec3b194f4794f1629d6f962f9f4bb78a7bff",
		"f8460a337c186f07c2e225bb287a1d3d3d686dc69d0828e99640f7d8852c5b90",
		"c9bc3da29025dc1ba562d303d815151d9a937367abb766ae842a165e8493d9fe",
		"5044339dfd65e8163bdfe642614a6be604b04d6aeacf222cf219ad287bfc5cf1",
		"163622db0fe0da93f2ef964eed4c485f3c7a9c312f8e8e8a312ab4bb8141f13e",
		"e1730534a858aa0258ad8904ef12b829b8a123a1c611250275c9ca9471e4c650",
		"1fbc6854f9185caba1e1f55393f41f83b895b18f9c99245c029025ca48f1e14b",
		"8a27b66ccf05b864b6bef6fb5c970fe894f73d2330e8e98fe7841dcdbd9e9576",
		"bc70a33e7a9ec820cac24b87023469a57bdae1bf91cc3961b95806c64a525221",
		"03e5b5f5a088269ec4b329f1e04debfac4cb54b9c0facf038f7e8e0f054be7e2",
	}
	_, got := chunkAll(t, bytes.NewReader(splitMix64Data(1_000_000, 0)))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunk hashes (-want +got):\n%s", diff)
	}
}

// TestChunkerMinimumRegression is huggingface.js xetchunk-wasm's "matches
// xet-core after a gear-hash trigger before the minimum": 3 MiB of
// xorshift32 bytes whose chunk 44 is cut at the maximum size.
func TestChunkerMinimumRegression(t *testing.T) {
	data := make([]byte, 3<<20)
	state := uint32(0x9e3779b9)
	for i := range data {
		state ^= state << 13
		state ^= state >> 17
		state ^= state << 5
		data[i] = byte(state)
	}
	ends, hashes := chunkAll(t, bytes.NewReader(data))
	if len(ends) != 52 {
		t.Fatalf("%d chunks, want 52", len(ends))
	}
	if size := ends[44] - ends[43]; size != MaxChunkSize {
		t.Errorf("chunk 44 has %d bytes, want %d", size, MaxChunkSize)
	}
	if want := "8ee1833ff616a01e187888865c8e22f403c860b7a6c347ba28c4511995875086"; hashes[44] != want {
		t.Errorf("chunk 44 hash %s, want %s", hashes[44], want)
	}
	prev := 0
	for i, end := range ends[:len(ends)-1] {
		if end-prev < MinChunkSize {
			t.Errorf("chunk %d has %d bytes", i, end-prev)
		}
		prev = end
	}
}

// TestXorbFileHashOfChunks checks chunking plus aggregation against
// huggingface.js xetchunk-wasm tests/index.test.ts, "xorbHash" and
// "fileHash" on data[i] = i*a+b.
func TestXorbFileHashOfChunks(t *testing.T) {
	makeData := func(n int, a, b int) []byte {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(i*a + b)
		}
		return d
	}
	tests := []struct {
		name       string
		data       []byte
		xorb, file string
	}{
		{"200KB", makeData(200000, 7, 13),
			"f0755d96ee199d4f01e83da9fe2c38353de7fd38fb79a320a7d50be510026f74",
			"d88d9e0b760f32c90b7c6592b4cb85251c01bb797371e3c637087b96ac578723"},
		{"1MB", makeData(1000000, 13, 37),
			"7be289d851485c40dcde52dbcf37a7823a5ef0bfcdf1ca1c5a32ad9594c71571",
			"041a50f3639f4a080a89237025d643e2a3e22935ca5d7dbc1a38f5c1e859f859"},
		{"empty", nil, "0000000000000000000000000000000000000000000000000000000000000000",
			"0000000000000000000000000000000000000000000000000000000000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leaves := leavesOf(t, tc.data)
			if got := XorbHash(leaves).String(); got != tc.xorb {
				t.Errorf("XorbHash = %s, want %s", got, tc.xorb)
			}
			if got := FileHash(leaves).String(); got != tc.file {
				t.Errorf("FileHash = %s, want %s", got, tc.file)
			}
		})
	}
}

func leavesOf(t testing.TB, data []byte) []Leaf {
	t.Helper()
	c := NewChunker(bytes.NewReader(data))
	var leaves []Leaf
	for {
		chunk, err := c.Next()
		if errors.Is(err, io.EOF) {
			return leaves
		}
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, Leaf{ChunkHash(chunk), uint64(len(chunk))})
	}
}

func TestChunkerReaderError(t *testing.T) {
	boom := errors.New("boom")
	c := NewChunker(iotest.ErrReader(boom))
	if _, err := c.Next(); !errors.Is(err, boom) {
		t.Errorf("Next() error = %v, want %v", err, boom)
	}
}
