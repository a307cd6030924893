package xet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var errNoXorb = errors.New("no such xorb")

// indexMap is an IndexSource over indexes in memory.
type indexMap map[Hash]*Index

func (m indexMap) XorbIndex(_ context.Context, h Hash) (*Index, error) {
	if x, ok := m[h]; ok {
		return x, nil
	}
	return nil, fmt.Errorf("xorb %v: %w", h, errNoXorb)
}

// clientShard loads a shard uploaded by hf_xet 1.8.0 (see clientXorbs)
// and the indexes of the xorbs uploaded with it.
func clientShard(t testing.TB, dir string) ([]byte, indexMap) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "upload.shard"))
	if err != nil {
		t.Fatal(err)
	}
	src := indexMap{}
	for path, name := range clientXorbs(t) {
		if filepath.Dir(path) != dir {
			continue
		}
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		x, err := VerifyXorb(bytes.NewReader(body), mustHash(t, name), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		src[x.Hash] = x
	}
	return b, src
}

func clientShardDirs(t testing.TB) []string {
	dirs, err := filepath.Glob("testdata/hf_xet-1.8.0/*")
	if err != nil || len(dirs) != 3 {
		t.Fatalf("client shard dirs: %v, %v", dirs, err)
	}
	return dirs
}

func TestClientShards(t *testing.T) {
	textSum := sha256.Sum256(fixtureText())
	emptySum := sha256.Sum256(nil)
	for _, dir := range clientShardDirs(t) {
		t.Run(dir, func(t *testing.T) {
			b, src := clientShard(t, dir)
			s, err := ReadShard(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
			if !s.HasVerification() {
				t.Error("hf_xet shard without verification")
			}
			if err := s.Verify(t.Context(), src); err != nil {
				t.Fatal(err)
			}
			if s.Footer != nil || len(s.Files) != 4 || len(s.Xorbs) != 1 {
				t.Fatalf("shard has footer %v, %d files, %d xorbs; want none, 4, 1", s.Footer, len(s.Files), len(s.Xorbs))
			}
			sums := map[[32]byte]uint64{}
			for _, f := range s.Files {
				if f.SHA256 == nil {
					t.Fatalf("file %v without sha256", f.Hash)
				}
				sums[*f.SHA256] = f.Size()
			}
			if size, ok := sums[textSum]; !ok || size != 12000 {
				t.Errorf("text file: registered %v with size %d", ok, size)
			}
			if size, ok := sums[emptySum]; !ok || size != 0 {
				t.Errorf("empty file: registered %v with size %d", ok, size)
			}

			// Encoding the parsed shard gives back the client's bytes.
			again, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Errorf("MarshalBinary differs from the client's shard")
			}
		})
	}
}

func TestShardVerifyTampered(t *testing.T) {
	b, src := clientShard(t, clientShardDirs(t)[0])
	parse := func() *Shard {
		s, err := ReadShard(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The file with one term of the 12000-byte text.
	textFile := func(s *Shard) *ShardFile {
		for i := range s.Files {
			if s.Files[i].Size() == 12000 {
				return &s.Files[i]
			}
		}
		t.Fatal("no text file")
		return nil
	}
	tests := []struct {
		name     string
		tamper   func(s *Shard)
		ok       bool
		mismatch bool
		missing  bool
	}{
		{"file hash", func(s *Shard) { textFile(s).Hash[0] ^= 1 }, false, true, false},
		{"verification hash", func(s *Shard) { textFile(s).Verification[0][5] ^= 1 }, false, true, false},
		{"term size", func(s *Shard) { textFile(s).Terms[0].RawSize-- }, false, false, false},
		{"term beyond xorb", func(s *Shard) { textFile(s).Terms[0].ChunkEnd = 9 }, false, false, false},
		{"other chunk, same content", func(s *Shard) {
			// Chunk 0 of the xorb holds the same bytes as the chunk the
			// term names: the file hash still matches, which is fine.
			f := textFile(s)
			f.Terms[0].ChunkStart, f.Terms[0].ChunkEnd = 0, 1
		}, true, false, false},
		{"unknown xorb", func(s *Shard) { textFile(s).Terms[0].Xorb[0] ^= 1 }, false, false, true},
		{"CAS chunk hash", func(s *Shard) { s.Xorbs[0].Chunks[1].Hash[0] ^= 1 }, false, false, false},
		{"CAS chunk count", func(s *Shard) { s.Xorbs[0].Chunks = s.Xorbs[0].Chunks[:3] }, false, false, false},
		{"CAS unknown xorb", func(s *Shard) { s.Xorbs[0].Hash[3] ^= 1 }, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := parse()
			tc.tamper(s)
			err := s.Verify(t.Context(), src)
			switch {
			case tc.ok:
				if err != nil {
					t.Errorf("Verify: %v", err)
				}
			case tc.missing:
				if !errors.Is(err, errNoXorb) || errors.Is(err, ErrInvalid) {
					t.Errorf("Verify error = %v, want the source's error and not ErrInvalid", err)
				}
			default:
				if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrHashMismatch) != tc.mismatch {
					t.Errorf("Verify error = %v, want ErrInvalid (hash mismatch: %v)", err, tc.mismatch)
				}
			}
		})
	}
}

func TestShardCheck(t *testing.T) {
	term := Term{Xorb: Hash{9}, RawSize: 10, ChunkStart: 0, ChunkEnd: 1}
	file := func(h byte, verified bool) ShardFile {
		f := ShardFile{Hash: Hash{h}, Terms: []Term{term}}
		if verified {
			f.Verification = []Hash{{1}}
		}
		return f
	}
	xorb := ShardXorb{Hash: Hash{9}, RawSize: 30, Chunks: []ShardChunk{{Hash{1}, 0, 10, 0}, {Hash{2}, 10, 20, ChunkGlobalDedup}}}
	tests := []struct {
		name string
		s    Shard
		ok   bool
	}{
		{"empty shard", Shard{}, true},
		{"verified files", Shard{Files: []ShardFile{file(1, true), file(2, true), file(1, true)}, Xorbs: []ShardXorb{xorb}}, true},
		{"unverified files", Shard{Files: []ShardFile{file(1, false), file(2, false)}}, true},
		{"some verified", Shard{Files: []ShardFile{file(1, true), file(2, false)}}, false},
		{"empty file", Shard{Files: []ShardFile{{Verification: []Hash{}}, file(2, true)}}, true},
		{"termless file with a hash", Shard{Files: []ShardFile{{Hash: Hash{3}}}}, false},
		{"verification count", Shard{Files: []ShardFile{{Hash: Hash{1}, Terms: []Term{term, term}, Verification: []Hash{{1}}}}}, false},
		{"empty chunk range", Shard{Files: []ShardFile{{Hash: Hash{1}, Terms: []Term{{RawSize: 1, ChunkStart: 2, ChunkEnd: 2}}}}}, false},
		{"empty term", Shard{Files: []ShardFile{{Hash: Hash{1}, Terms: []Term{{ChunkStart: 0, ChunkEnd: 1}}}}}, false},
		{"term too big for its chunks", Shard{Files: []ShardFile{{Hash: Hash{1}, Terms: []Term{{RawSize: MaxChunkSize + 1, ChunkEnd: 1}}}}}, false},
		{"xorb without chunks", Shard{Xorbs: []ShardXorb{{Hash: Hash{9}}}}, false},
		{"xorb chunk gap", Shard{Xorbs: []ShardXorb{{Hash: Hash{9}, RawSize: 30, Chunks: []ShardChunk{{Hash{1}, 0, 10, 0}, {Hash{2}, 11, 19, 0}}}}}, false},
		{"xorb size", Shard{Xorbs: []ShardXorb{{Hash: Hash{9}, RawSize: 31, Chunks: xorb.Chunks}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Check()
			if tc.ok && err != nil {
				t.Errorf("Check: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Errorf("Check error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestShardRoundTrip(t *testing.T) {
	sum := sha256.Sum256([]byte("content"))
	s := &Shard{
		Files: []ShardFile{
			{Hash: Hash{1}, Terms: []Term{{Hash{9}, 0, 10, 0, 1}, {Hash{8}, 0, 5, 3, 4}}, Verification: []Hash{{2}, {3}}, SHA256: &sum},
			{Hash: Hash{4}, Terms: []Term{{Hash{9}, 0, 20, 1, 2}}},
		},
		Xorbs: []ShardXorb{{Hash: Hash{9}, RawSize: 30, StoredSize: 77, Chunks: []ShardChunk{{Hash{1}, 0, 10, 0}, {Hash{2}, 10, 20, ChunkGlobalDedup}}}},
		Footer: &ShardFooter{
			ChunkHashKey: Hash{0xaa, 0xbb}, CreatedAt: 1700000000, KeyExpiry: 1800000000,
			Reserved: [6]uint64{1, 2, 3, 4, 5, 6}, StoredBytesOnDisk: 7, MaterializedBytes: 8, StoredBytes: 9,
		},
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadShard(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Footer layout as xet-core's streaming_shard.rs writes it: sections
	// at their offsets, empty lookup tables at the footer's offset.
	footerAt := len(b) - 200
	u64 := func(i int) uint64 { return binary.LittleEndian.Uint64(b[footerAt+8*i:]) }
	xorbAt := uint64(48 + (1+2+2+1)*48 + (1+1)*48 + 48)
	wantWords := map[int]uint64{0: 1, 1: 48, 2: xorbAt, 3: uint64(footerAt), 4: 0, 5: uint64(footerAt), 7: uint64(footerAt), 24: uint64(footerAt)}
	for i, want := range wantWords {
		if got := u64(i); got != want {
			t.Errorf("footer word %d = %d, want %d", i, got, want)
		}
	}
	if got := binary.LittleEndian.Uint64(b[40:]); got != 200 {
		t.Errorf("header footer_size = %d, want 200", got)
	}

	// Lookup tables before the footer (hf_xet 1.1.9 and older) and the
	// zero lookup offsets huggingface.js writes are both ignored.
	withTables := append(bytes.Clone(b[:footerAt]), bytes.Repeat([]byte{0x5a}, 100_012)...)
	withTables = append(withTables, b[footerAt:]...)
	jsStyle := bytes.Clone(b)
	for i := 3; i <= 8; i++ {
		binary.LittleEndian.PutUint64(jsStyle[footerAt+8*i:], 0)
	}
	for name, v := range map[string][]byte{"lookup tables": withTables, "zero lookup offsets": jsStyle} {
		got, err := ReadShard(bytes.NewReader(v), int64(len(v)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestReadShardErrors(t *testing.T) {
	good, err := (&Shard{Files: []ShardFile{{Hash: Hash{1}, Terms: []Term{{Hash{9}, 0, 10, 0, 1}}}}, Footer: &ShardFooter{}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	patch := func(off int, v uint64) []byte {
		b := bytes.Clone(good)
		binary.LittleEndian.PutUint64(b[off:], v)
		return b
	}
	noFooter := patch(40, 0)[:len(good)-200]
	tests := []struct {
		name     string
		b        []byte
		tooLarge bool
	}{
		{"empty", nil, false},
		{"bad tag", patch(0, 1), false},
		{"version 1", patch(32, 1), false},
		{"version 3", patch(32, 3), false},
		{"footer size 100", patch(40, 100), false},
		{"truncated file section", good[:48+60], false},
		{"truncated term", good[:48+48+20], false},
		{"no CAS bookend", noFooter[:len(noFooter)-48], false},
		{"missing footer", good[:len(good)-1], false},
		{"footer version 2", patch(len(good)-200, 2), false},
		{"huge term count", func() []byte {
			b := bytes.Clone(noFooter)
			binary.LittleEndian.PutUint32(b[48+36:], 0xffffffff)
			return b
		}(), false},
		{"over the limit", append(bytes.Clone(good), make([]byte, 1<<20)...), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadShard(bytes.NewReader(tc.b), int64(len(good))+100)
			if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) != tc.tooLarge {
				t.Errorf("ReadShard error = %v, want ErrInvalid (too large: %v)", err, tc.tooLarge)
			}
		})
	}
	if _, err := ReadShard(bytes.NewReader(noFooter), int64(len(noFooter))); err != nil {
		t.Errorf("footerless shard: %v", err)
	}
	// hf_xet 1.1.9 cuts the footer and leaves footer_size at 200.
	cut := good[:len(good)-200]
	if s, err := ReadShard(bytes.NewReader(cut), int64(len(cut))); err != nil || s.Footer != nil {
		t.Errorf("shard cut after its CAS section: %v, footer %v", err, s)
	}
}
