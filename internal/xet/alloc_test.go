package xet

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// allocated returns the bytes f allocates. It is approximate (the whole
// process is measured), so callers compare it with generous bounds.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestBoundedAllocation feeds inputs whose declared sizes and counts are
// far larger than their bytes, and checks that parsing costs a small
// multiple of the input plus one chunk's buffers.
func TestBoundedAllocation(t *testing.T) {
	// 1000 chunks, each a frame declaring 4 MiB blocks, as huggingface.js
	// writes them.
	frame := pierrecFrame(t, []byte("abcdefgh"), lz4.BlockSizeOption(lz4.Block4Mb))
	var manyFrames []byte
	for range 1000 {
		manyFrames = append(manyFrames, rawChunk(0, len(frame), SchemeLZ4, 8, frame)...)
	}
	// A shard whose file declares 2^32-1 terms and holds one.
	hugeCount, err := (&Shard{Files: []ShardFile{{Hash: Hash{1}, Terms: []Term{{Hash{9}, 0, 10, 0, 1}}}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(hugeCount[48+36:], 0xffffffff)

	const chunkBuffers = 1 << 20 // compressed, raw and byte-grouped buffers of one chunk
	tests := []struct {
		name  string
		input int
		f     func()
	}{
		{"xorb of 4 MiB-block frames", len(manyFrames), func() { ReadXorb(bytes.NewReader(manyFrames), int64(len(manyFrames))) }},
		{"xorb chunk declaring maximal sizes", 8, func() {
			ReadXorb(bytes.NewReader(rawChunk(0, 2*MaxChunkSize, SchemeLZ4, MaxChunkSize, nil)), 1<<20)
		}},
		{"shard with a huge term count", len(hugeCount), func() { ReadShard(bytes.NewReader(hugeCount), 1<<20) }},
		{"chunk frame declaring 4 MiB blocks", len(frame), func() { DecompressChunk(SchemeLZ4, frame, 8) }},
	}
	for _, tc := range tests {
		// The first run warms up pools and lazily built tables.
		tc.f()
		if n, limit := allocated(tc.f), 128*uint64(tc.input)+chunkBuffers; n > limit {
			t.Errorf("%s: allocated %d bytes for %d input bytes, limit %d", tc.name, n, tc.input, limit)
		}
	}
}
