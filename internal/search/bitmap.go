package search

import (
	"math/bits"
	"slices"
)

// A bitmap is a posting list: a set of slots, stored the way Roaring
// bitmaps store them. Slots are split by their high 16 bits into
// containers; a container holds its low 16 bits as a sorted []uint16 while
// that is smaller than a 65,536-bit bitmap (up to arrayMax entries), and as
// the bitmap after. That is 2 bytes per posting for sparse lists and at
// most 1 bit per slot for dense ones, against 4 bytes per posting of a
// []int32 plus a separate bitset for dense lists: at 1,000,000 generated
// repositories, 47 MB of trigram postings instead of 113 MB (+ bitsets),
// and no pointers for the garbage collector to follow but a few per list.
type bitmap struct {
	n     int
	keys  []uint16 // high bits of each container, ascending
	conts []container
}

// arrayMax is the size above which an array container becomes a bitmap:
// 4,096 uint16 take the 8 KiB of one 65,536-bit bitmap.
const arrayMax = 4096

// container holds the low 16 bits of the slots sharing high bits: arr,
// sorted, when words is nil; else a bitmap of 1,024 words and its count.
type container struct {
	arr   []uint16
	words []uint64
	n     int32
}

const containerWords = 1 << 16 / 64

func (b *bitmap) len() int {
	if b == nil {
		return 0
	}
	return b.n
}

// find returns the index of the container for key hi.
func (b *bitmap) find(hi uint16) (int, bool) {
	// Slots are mostly added in ascending order: try the last one first.
	if n := len(b.keys); n > 0 && b.keys[n-1] == hi {
		return n - 1, true
	}
	return slices.BinarySearch(b.keys, hi)
}

// add inserts slot s and reports whether it was absent.
func (b *bitmap) add(s int32) bool {
	hi, lo := uint16(uint32(s)>>16), uint16(s)
	i, ok := b.find(hi)
	if !ok {
		b.keys = slices.Insert(b.keys, i, hi)
		b.conts = slices.Insert(b.conts, i, container{arr: []uint16{lo}, n: 1})
		b.n++
		return true
	}
	if b.conts[i].add(lo) {
		b.n++
		return true
	}
	return false
}

// remove deletes slot s and reports whether it was present.
func (b *bitmap) remove(s int32) bool {
	hi, lo := uint16(uint32(s)>>16), uint16(s)
	i, ok := b.find(hi)
	if !ok || !b.conts[i].remove(lo) {
		return false
	}
	b.n--
	if b.conts[i].n == 0 {
		b.keys = slices.Delete(b.keys, i, i+1)
		b.conts = slices.Delete(b.conts, i, i+1)
	}
	return true
}

func (b *bitmap) contains(s int32) bool {
	if b == nil {
		return false
	}
	i, ok := b.find(uint16(uint32(s) >> 16))
	return ok && b.conts[i].contains(uint16(s))
}

// appendTo appends the slots in ascending order to dst.
func (b *bitmap) appendTo(dst []int32) []int32 {
	if b == nil {
		return dst
	}
	dst = slices.Grow(dst, b.n)
	for i, c := range b.conts {
		base := int32(b.keys[i]) << 16
		if c.words == nil {
			for _, lo := range c.arr {
				dst = append(dst, base|int32(lo))
			}
			continue
		}
		for w, v := range c.words {
			for v != 0 {
				dst = append(dst, base|int32(w<<6+bits.TrailingZeros64(v)))
				v &= v - 1
			}
		}
	}
	return dst
}

// andAll sets dst, a bitset over slots, to the slots in every one of
// lists (at least one), and reports whether any is. It works container by
// container, so that the 8 KiB being ANDed stays in the L1 cache across
// the lists, and stops at a container's first empty result. An array
// container is ANDed by keeping those of its slots already set, not by
// expanding it into a bitmap first: that halves the work of the lists
// most queries AND, which are arrays of a few thousand slots a container.
func andAll(dst []uint64, lists []*bitmap, scratch *[containerWords]uint64) bool {
	cursor := make([]int, len(lists))
	any := false
	for off := 0; off < len(dst); off += containerWords {
		part := dst[off:min(off+containerWords, len(dst))]
		hi := uint16(off / containerWords)
		nonzero := true
		for li, b := range lists {
			ci := cursor[li]
			for ci < len(b.keys) && b.keys[ci] < hi {
				ci++
			}
			cursor[li] = ci
			if ci == len(b.keys) || b.keys[ci] != hi {
				nonzero = false
				break
			}
			c := &b.conts[ci]
			switch {
			case li == 0 && c.words != nil:
				copy(part, c.words)
			case li == 0:
				clear(part)
				for _, lo := range c.arr {
					if int(lo>>6) >= len(part) {
						break // past the slots dst holds (arr is sorted)
					}
					part[lo>>6] |= 1 << (lo & 63)
				}
			case c.words != nil:
				nonzero = andWords(part, c.words[:len(part)])
			default:
				nonzero = keepArray(part, c.arr, scratch[:len(part)])
			}
			if !nonzero {
				break
			}
		}
		if nonzero {
			any = true
		} else {
			clear(part)
		}
	}
	return any
}

// andWords ANDs src into dst (as long) and reports whether a bit is left.
func andWords(dst, src []uint64) bool {
	src = src[:len(dst)]
	var or uint64
	for i := range dst {
		v := dst[i] & src[i]
		dst[i] = v
		or |= v
	}
	return or != 0
}

// keepArray clears the bits of dst but those of arr's slots, through
// scratch (as long as dst), and reports whether a bit is left.
func keepArray(dst []uint64, arr []uint16, scratch []uint64) bool {
	clear(scratch)
	var or uint64
	for _, lo := range arr {
		w := int(lo >> 6)
		if w >= len(dst) {
			break // past the slots dst holds (arr is sorted)
		}
		v := dst[w] & (1 << (lo & 63))
		scratch[w] |= v
		or |= v
	}
	copy(dst, scratch)
	return or != 0
}

// bytes is the memory b holds, about.
func (b *bitmap) bytes() int {
	if b == nil {
		return 0
	}
	n := 48 + 2*cap(b.keys) + 48*cap(b.conts)
	for _, c := range b.conts {
		n += 2*cap(c.arr) + 8*cap(c.words)
	}
	return n
}

func (c *container) contains(lo uint16) bool {
	if c.words != nil {
		return c.words[lo>>6]&(1<<(lo&63)) != 0
	}
	_, ok := slices.BinarySearch(c.arr, lo)
	return ok
}

func (c *container) add(lo uint16) bool {
	if c.words != nil {
		w, m := lo>>6, uint64(1)<<(lo&63)
		if c.words[w]&m != 0 {
			return false
		}
		c.words[w] |= m
		c.n++
		return true
	}
	if n := len(c.arr); n > 0 && c.arr[n-1] < lo {
		c.arr = append(c.arr, lo)
	} else {
		i, found := slices.BinarySearch(c.arr, lo)
		if found {
			return false
		}
		c.arr = slices.Insert(c.arr, i, lo)
	}
	c.n++
	if len(c.arr) > arrayMax {
		c.words = make([]uint64, containerWords)
		for _, v := range c.arr {
			c.words[v>>6] |= 1 << (v & 63)
		}
		c.arr = nil
	}
	return true
}

func (c *container) remove(lo uint16) bool {
	if c.words != nil {
		w, m := lo>>6, uint64(1)<<(lo&63)
		if c.words[w]&m == 0 {
			return false
		}
		c.words[w] &^= m
		c.n--
		// Back to an array well below the threshold, so that a list
		// hovering around it does not convert on every change.
		if c.n <= arrayMax/2 {
			arr := make([]uint16, 0, c.n)
			for w, v := range c.words {
				for v != 0 {
					arr = append(arr, uint16(w<<6+bits.TrailingZeros64(v)))
					v &= v - 1
				}
			}
			c.arr, c.words = arr, nil
		}
		return true
	}
	i, found := slices.BinarySearch(c.arr, lo)
	if !found {
		return false
	}
	c.arr = slices.Delete(c.arr, i, i+1)
	c.n--
	if cap(c.arr) > 64 && len(c.arr) < cap(c.arr)/4 {
		c.arr = slices.Clip(slices.Clone(c.arr))
	}
	return true
}

// postings maps keys (term or trigram numbers) to posting lists. Most
// terms name one repository (a base_model tag, a user with one
// repository): their slot is kept inline, 4 bytes, and a key gets a
// bitmap at its second slot.
type postings struct {
	// by key: the only slot (>= 0), noSlot, or -2-i for lists[i]
	one   []int32
	lists []bitmap
	free  []int32 // unused entries of lists
}

const noSlot = -1

func newPostings() postings { return postings{} }

// list is a read-only view of one key's postings.
type list struct {
	one int32 // the only slot, when bm is nil (noSlot: empty)
	bm  *bitmap
}

func (l list) len() int {
	if l.bm != nil {
		return l.bm.len()
	}
	if l.one >= 0 {
		return 1
	}
	return 0
}

func (l list) contains(s int32) bool {
	if l.bm != nil {
		return l.bm.contains(s)
	}
	return l.one == s && s >= 0
}

func (l list) appendTo(dst []int32) []int32 {
	if l.bm != nil {
		return l.bm.appendTo(dst)
	}
	if l.one >= 0 {
		dst = append(dst, l.one)
	}
	return dst
}

func (p *postings) get(k int32) list {
	if k < 0 || int(k) >= len(p.one) {
		return list{one: noSlot}
	}
	if v := p.one[k]; v <= -2 {
		return list{one: noSlot, bm: &p.lists[-2-v]}
	} else {
		return list{one: v}
	}
}

func (p *postings) add(k, s int32) {
	for int(k) >= len(p.one) {
		p.one = append(p.one, noSlot)
	}
	switch v := p.one[k]; {
	case v <= -2:
		p.lists[-2-v].add(s)
	case v == noSlot:
		p.one[k] = s
	case v != s:
		var i int32
		if n := len(p.free); n > 0 {
			i, p.free = p.free[n-1], p.free[:n-1]
		} else {
			i = int32(len(p.lists))
			p.lists = append(p.lists, bitmap{})
		}
		b := &p.lists[i]
		b.add(v)
		b.add(s)
		p.one[k] = -2 - i
	}
}

// fill adds to p the slots hi<<16 | los[i] to the lists of keys[i], for
// every i: the pairs of one container's range, in slot order, all above
// the slots already in p. A counting sort groups them by key, so that each
// list gets one whole container, written once, instead of a cache miss
// per slot. count and sorted are scratch space, returned for reuse.
func (p *postings) fill(hi uint16, keys []int32, los []uint16, nkeys int, count []int32, sorted []uint16) ([]int32, []uint16) {
	count = slices.Grow(count[:0], nkeys+1)[:nkeys+1]
	clear(count)
	for _, k := range keys {
		count[k+1]++
	}
	for i := 1; i <= nkeys; i++ {
		count[i] += count[i-1]
	}
	sorted = slices.Grow(sorted[:0], len(los))[:len(los)]
	for i, k := range keys {
		sorted[count[k]] = los[i]
		count[k]++
	}
	start := int32(0)
	for k := range int32(nkeys) {
		end := count[k]
		if end > start {
			p.addContainer(k, hi, sorted[start:end])
		}
		start = end
	}
	return count, sorted
}

// addContainer adds the slots hi<<16 | los[i] (ascending, above every
// slot of key k) to the list of k.
func (p *postings) addContainer(k int32, hi uint16, los []uint16) {
	for int(k) >= len(p.one) {
		p.one = append(p.one, noSlot)
	}
	v := p.one[k]
	if v == noSlot && len(los) == 1 {
		p.one[k] = int32(hi)<<16 | int32(los[0])
		return
	}
	if v > -2 {
		var i int32
		if n := len(p.free); n > 0 {
			i, p.free = p.free[n-1], p.free[:n-1]
		} else {
			i = int32(len(p.lists))
			p.lists = append(p.lists, bitmap{})
		}
		if v >= 0 {
			p.lists[i].add(v)
		}
		v = -2 - i
		p.one[k] = v
	}
	b := &p.lists[-2-v]
	if n := len(b.keys); n > 0 && b.keys[n-1] >= hi {
		for _, lo := range los {
			b.add(int32(hi)<<16 | int32(lo))
		}
		return
	}
	c := container{n: int32(len(los))}
	if len(los) > arrayMax {
		c.words = make([]uint64, containerWords)
		for _, lo := range los {
			c.words[lo>>6] |= 1 << (lo & 63)
		}
	} else {
		c.arr = slices.Clone(los)
	}
	b.keys = append(b.keys, hi)
	b.conts = append(b.conts, c)
	b.n += len(los)
}

func (p *postings) remove(k, s int32) {
	if k < 0 || int(k) >= len(p.one) {
		return
	}
	switch v := p.one[k]; {
	case v == s:
		p.one[k] = noSlot
	case v <= -2:
		b := &p.lists[-2-v]
		b.remove(s)
		if b.len() <= 1 {
			p.one[k] = noSlot
			if b.len() == 1 {
				p.one[k] = b.appendTo(nil)[0]
			}
			*b = bitmap{}
			p.free = append(p.free, -2-v)
		}
	}
}

func (p *postings) bytes() int {
	n := 4*cap(p.one) + 4*cap(p.free) + 56*cap(p.lists)
	for i := range p.lists {
		n += p.lists[i].bytes() - 48
	}
	return n
}
