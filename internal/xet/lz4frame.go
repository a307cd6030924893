package xet

import (
	"encoding/binary"
	"math/bits"

	"github.com/pierrec/lz4/v4"
)

// decodeLZ4Frame decodes one LZ4 frame (the LZ4 Frame Format 1.6.x that
// lz4_flex and lz4js write) from src into dst, which must come out exactly
// full, and checks the header, block and content checksums when present.
//
// pierrec/lz4's frame Reader would do, but it allocates buffers of the
// block size a frame declares (4 MiB in huggingface.js's frames) for every
// chunk, and it also takes legacy and skippable frames and concatenated
// frames, which hf_xet's lz4_flex decoder does not. Here blocks decode
// straight into dst with lz4.UncompressBlock, so a chunk costs no
// allocation and never more output than its header declared.
func decodeLZ4Frame(dst, src []byte) error {
	if len(src) < 7 || binary.LittleEndian.Uint32(src) != lz4FrameMagic {
		return invalid("chunk payload is not an LZ4 frame")
	}
	flg, bd := src[4], src[5]
	const (
		flagIndependent   = 1 << 5
		flagBlockChecksum = 1 << 4
		flagContentSize   = 1 << 3
		flagContentSum    = 1 << 2
		flagDictID        = 1 << 0
	)
	if flg>>6 != 1 || flg&0b10 != 0 || bd&0x8f != 0 {
		return invalid("LZ4 frame: bad descriptor %02x %02x", flg, bd)
	}
	if flg&flagDictID != 0 {
		return invalid("LZ4 frame: dictionaries are not supported")
	}
	sizeIndex := bd >> 4 & 7
	if sizeIndex < 4 {
		return invalid("LZ4 frame: block size index %d", sizeIndex)
	}
	blockMax := 1 << (8 + 2*sizeIndex) // 64 KiB, 256 KiB, 1 MiB, 4 MiB
	descEnd := 6
	if flg&flagContentSize != 0 {
		descEnd += 8
	}
	if len(src) < descEnd+1 {
		return invalid("LZ4 frame: truncated header")
	}
	if byte(xxh32(src[4:descEnd])>>8) != src[descEnd] {
		return invalid("LZ4 frame: header checksum")
	}
	if flg&flagContentSize != 0 && binary.LittleEndian.Uint64(src[6:]) != uint64(len(dst)) {
		return invalid("LZ4 frame: content size %d, chunk says %d", binary.LittleEndian.Uint64(src[6:]), len(dst))
	}
	src = src[descEnd+1:]
	pos := 0
	for {
		if len(src) < 4 {
			return invalid("LZ4 frame: truncated block")
		}
		size := binary.LittleEndian.Uint32(src)
		src = src[4:]
		if size == 0 {
			break
		}
		stored := size&(1<<31) != 0
		size &^= 1 << 31
		if int64(size) > int64(blockMax) || int64(size) > int64(len(src)) {
			return invalid("LZ4 frame: block of %d bytes", size)
		}
		block := src[:size]
		src = src[size:]
		if flg&flagBlockChecksum != 0 {
			if len(src) < 4 || binary.LittleEndian.Uint32(src) != xxh32(block) {
				return invalid("LZ4 frame: block checksum")
			}
			src = src[4:]
		}
		out := dst[pos:min(len(dst), pos+blockMax)]
		var n int
		switch {
		case stored:
			if len(block) > len(out) {
				return invalid("LZ4 chunk decodes to more than %d bytes", len(dst))
			}
			n = copy(out, block)
		case flg&flagIndependent != 0:
			var err error
			if n, err = lz4.UncompressBlock(block, out); err != nil {
				return invalid("LZ4 chunk: %v (or more than %d bytes)", err, len(dst))
			}
		default:
			// Linked blocks may refer to the 64 KiB decoded before them.
			var err error
			if n, err = lz4.UncompressBlockWithDict(block, out, dst[max(0, pos-64<<10):pos]); err != nil {
				return invalid("LZ4 chunk: %v (or more than %d bytes)", err, len(dst))
			}
		}
		pos += n
	}
	if flg&flagContentSum != 0 {
		if len(src) < 4 || binary.LittleEndian.Uint32(src) != xxh32(dst[:pos]) {
			return invalid("LZ4 frame: content checksum")
		}
		src = src[4:]
	}
	switch {
	case len(src) != 0:
		return invalid("LZ4 chunk: %d bytes after the frame", len(src))
	case pos != len(dst):
		return invalid("LZ4 chunk decodes to %d bytes, not %d", pos, len(dst))
	}
	return nil
}

// xxh32 is XXH32 with seed 0, the checksum of the LZ4 frame format.
func xxh32(b []byte) uint32 {
	const (
		p1 uint32 = 2654435761
		p2 uint32 = 2246822519
		p3 uint32 = 3266489917
		p4 uint32 = 668265263
		p5 uint32 = 374761393
	)
	round := func(acc, in uint32) uint32 { return bits.RotateLeft32(acc+in*p2, 13) * p1 }
	n := uint32(len(b))
	var h uint32
	if len(b) >= 16 {
		// Seed 0: v1 = p1+p2, v4 = -p1, wrapping.
		v1, v2, v3, v4 := p1, p2, uint32(0), uint32(0)
		v1 += p2
		v4 -= p1
		for ; len(b) >= 16; b = b[16:] {
			v1 = round(v1, binary.LittleEndian.Uint32(b))
			v2 = round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(b[12:]))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = p5
	}
	h += n
	for ; len(b) >= 4; b = b[4:] {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(b)*p3, 17) * p4
	}
	for _, c := range b {
		h = bits.RotateLeft32(h+uint32(c)*p5, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
