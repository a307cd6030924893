package xet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pierrec/lz4/v4"
)

func TestXXH32(t *testing.T) {
	// Reference values of XXH32 with seed 0 (xxHash's sanity checks and
	// the python-xxhash documentation).
	tests := map[string]uint32{
		"":    0x02CC5D05,
		"a":   0x550D7456,
		"abc": 0x32D153FF,
		"Nobody inspects the spammish repetition": 0xE2293B2F,
	}
	for in, want := range tests {
		if got := xxh32([]byte(in)); got != want {
			t.Errorf("xxh32(%q) = %08x, want %08x", in, got, want)
		}
	}
}

// pierrecFrame compresses data into one frame with pierrec/lz4's writer,
// which sets every optional field the options ask for.
func pierrecFrame(t testing.TB, data []byte, opts ...lz4.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if err := w.Apply(opts...); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeLZ4Frame(t *testing.T) {
	data := append(bytes.Repeat([]byte("0123456789abcdef"), 5000), splitMix64Data(30000, 1)...) // 110000 bytes
	tests := []struct {
		name string
		opts []lz4.Option
	}{
		{"defaults", nil},
		{"64 KiB blocks, two of them", []lz4.Option{lz4.BlockSizeOption(lz4.Block64Kb)}},
		{"block checksums", []lz4.Option{lz4.BlockSizeOption(lz4.Block64Kb), lz4.BlockChecksumOption(true)}},
		{"content size and checksum", []lz4.Option{lz4.SizeOption(uint64(len(data))), lz4.ChecksumOption(true)}},
		{"no checksum", []lz4.Option{lz4.ChecksumOption(false), lz4.BlockSizeOption(lz4.Block256Kb)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := pierrecFrame(t, data, tc.opts...)
			got := make([]byte, len(data))
			if err := decodeLZ4Frame(got, frame); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("decoded data differs")
			}
			// Every proper prefix is a truncated frame; a longer or
			// shorter output is refused.
			for _, n := range []int{len(frame) - 1, len(frame) / 2, 7} {
				if err := decodeLZ4Frame(make([]byte, len(data)), frame[:n]); !errors.Is(err, ErrInvalid) {
					t.Errorf("prefix of %d bytes: %v", n, err)
				}
			}
			for _, size := range []int{len(data) - 1, len(data) + 1} {
				if err := decodeLZ4Frame(make([]byte, size), frame); !errors.Is(err, ErrInvalid) {
					t.Errorf("output of %d bytes: %v", size, err)
				}
			}
		})
	}

	frame := pierrecFrame(t, data, lz4.BlockChecksumOption(true), lz4.ChecksumOption(true), lz4.BlockSizeOption(lz4.Block64Kb))
	corrupt := func(off int) []byte {
		b := bytes.Clone(frame)
		b[off] ^= 0x10
		return b
	}
	lastBlockSum := len(frame) - 4 - 4 - 4 // block checksum, end mark, content checksum
	bad := map[string][]byte{
		"header checksum":  corrupt(6),
		"version bits":     corrupt(4),
		"block data":       corrupt(20),
		"block checksum":   corrupt(lastBlockSum),
		"content checksum": corrupt(len(frame) - 1),
		"dictionary id":    func() []byte { b := bytes.Clone(frame); b[4] |= 1; return b }(),
		"block size 1 KiB": func() []byte { b := bytes.Clone(frame); b[5] = 0x10; return b }(),
		"trailing bytes":   append(bytes.Clone(frame), 0),
		"second frame":     append(bytes.Clone(frame), frame...),
		"oversized block": func() []byte {
			b := bytes.Clone(frame[:7])
			b = binary.LittleEndian.AppendUint32(b, 1<<31|(64<<10+1))
			return append(b, make([]byte, 64<<10+1)...)
		}(),
	}
	for name, b := range bad {
		if err := decodeLZ4Frame(make([]byte, len(data)), b); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecodeLZ4FrameAllocs(t *testing.T) {
	// huggingface.js writes 4 MiB-block frames; decoding one must not
	// allocate a block buffer.
	frame := pierrecFrame(t, fixtureText(), lz4.BlockSizeOption(lz4.Block4Mb))
	dst := make([]byte, 12000)
	if n := testing.AllocsPerRun(10, func() {
		if err := decodeLZ4Frame(dst, frame); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("decodeLZ4Frame allocates %v times", n)
	}
}
