package packfile

import (
	"fmt"
)

// deltaSize reads one of the two sizes at the start of a delta: a
// little-endian base-128 number.
func deltaSize(d []byte) (uint64, []byte, error) {
	var n uint64
	for shift := uint(0); ; shift += 7 {
		if len(d) == 0 || shift > 63 {
			return 0, nil, fmt.Errorf("%w: truncated delta header", ErrInvalid)
		}
		c := d[0]
		d = d[1:]
		n |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return n, d, nil
		}
	}
}

// DeltaSizes returns the base and result sizes a delta declares.
func DeltaSizes(delta []byte) (base, result uint64, err error) {
	base, rest, err := deltaSize(delta)
	if err != nil {
		return 0, 0, err
	}
	result, _, err = deltaSize(rest)
	return base, result, err
}

// ApplyDelta applies a git delta to base. The result may not exceed
// maxResult bytes (checked before anything is allocated); every copy is
// bounds-checked against base and the declared result size.
func ApplyDelta(base, delta []byte, maxResult int64) ([]byte, error) {
	srcSize, d, err := deltaSize(delta)
	if err != nil {
		return nil, err
	}
	if srcSize != uint64(len(base)) {
		return nil, fmt.Errorf("%w: delta expects a base of %d bytes, base has %d", ErrInvalid, srcSize, len(base))
	}
	dstSize, d, err := deltaSize(d)
	if err != nil {
		return nil, err
	}
	if maxResult >= 0 && dstSize > uint64(maxResult) {
		return nil, fmt.Errorf("%w: delta result of %d bytes exceeds %d", ErrLimit, dstSize, maxResult)
	}
	out := make([]byte, 0, dstSize)
	for len(d) > 0 {
		cmd := d[0]
		d = d[1:]
		switch {
		case cmd&0x80 != 0:
			var off, size uint64
			for i := uint(0); i < 4; i++ {
				if cmd&(1<<i) != 0 {
					if len(d) == 0 {
						return nil, fmt.Errorf("%w: truncated delta copy", ErrInvalid)
					}
					off |= uint64(d[0]) << (8 * i)
					d = d[1:]
				}
			}
			for i := uint(0); i < 3; i++ {
				if cmd&(0x10<<i) != 0 {
					if len(d) == 0 {
						return nil, fmt.Errorf("%w: truncated delta copy", ErrInvalid)
					}
					size |= uint64(d[0]) << (8 * i)
					d = d[1:]
				}
			}
			if size == 0 {
				size = 0x10000
			}
			if off+size > uint64(len(base)) || uint64(len(out))+size > dstSize {
				return nil, fmt.Errorf("%w: delta copy out of bounds", ErrInvalid)
			}
			out = append(out, base[off:off+size]...)
		case cmd != 0:
			n := int(cmd)
			if n > len(d) || uint64(len(out)+n) > dstSize {
				return nil, fmt.Errorf("%w: delta insert out of bounds", ErrInvalid)
			}
			out = append(out, d[:n]...)
			d = d[n:]
		default:
			return nil, fmt.Errorf("%w: reserved delta opcode 0", ErrInvalid)
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, fmt.Errorf("%w: delta produced %d bytes, declared %d", ErrInvalid, len(out), dstSize)
	}
	return out, nil
}
