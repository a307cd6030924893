package search

import "hash/maphash"

// dict interns strings as dense int32 numbers. The strings live in one
// byte arena and the hash table is a []int32, so a dictionary of a
// million tags is three pointer-free allocations rather than a million
// strings and a map the garbage collector walks: at 1,000,000 generated
// repositories (660,000 distinct base_model tags) it takes about 40 MB
// instead of 90.
type dict struct {
	seed  maphash.Seed
	arena []byte
	end   []uint32 // end of string i in arena; it starts at end[i-1]
	table []int32  // open addressing: string number + 1, 0 = empty
}

func newDict() dict { return dict{seed: maphash.MakeSeed(), table: make([]int32, 64)} }

func (d *dict) len() int { return len(d.end) }

// at returns string i as bytes of the arena (not to be modified).
func (d *dict) at(i int32) []byte {
	start := uint32(0)
	if i > 0 {
		start = d.end[i-1]
	}
	return d.arena[start:d.end[i]]
}

// lookup returns the number of s, if interned.
func (d *dict) lookup(s string) (int32, bool) {
	mask := uint64(len(d.table) - 1)
	for h := maphash.String(d.seed, s) & mask; ; h = (h + 1) & mask {
		v := d.table[h]
		if v == 0 {
			return -1, false
		}
		if string(d.at(v-1)) == s {
			return v - 1, true
		}
	}
}

func (d *dict) place(i int32) {
	mask := uint64(len(d.table) - 1)
	h := maphash.Bytes(d.seed, d.at(i)) & mask
	for d.table[h] != 0 {
		h = (h + 1) & mask
	}
	d.table[h] = i + 1
}

// rehash rebuilds the table with size slots (a power of two).
func (d *dict) rehash(size int) {
	d.table = make([]int32, size)
	for i := range d.end {
		d.place(int32(i))
	}
}

// load replaces d's strings with the given arena and ends (from a
// snapshot) and indexes them.
func (d *dict) load(arena []byte, end []uint32) {
	d.arena, d.end = arena, end
	size := 64
	for size < 2*len(end) {
		size *= 2
	}
	d.rehash(size)
}

func (d *dict) bytes() int { return cap(d.arena) + 4*cap(d.end) + 4*cap(d.table) }

// lookupBytes is lookup for a key built in a buffer.
func (d *dict) lookupBytes(s []byte) (int32, bool) {
	mask := uint64(len(d.table) - 1)
	for h := maphash.Bytes(d.seed, s) & mask; ; h = (h + 1) & mask {
		v := d.table[h]
		if v == 0 {
			return -1, false
		}
		if string(d.at(v-1)) == string(s) {
			return v - 1, true
		}
	}
}

// internBytes is intern for a key built in a buffer.
func (d *dict) internBytes(s []byte) int32 {
	if i, ok := d.lookupBytes(s); ok {
		return i
	}
	d.arena = append(d.arena, s...)
	d.end = append(d.end, uint32(len(d.arena)))
	i := int32(len(d.end) - 1)
	if 2*len(d.end) > len(d.table) {
		d.rehash(2 * len(d.table))
	} else {
		d.place(i)
	}
	return i
}
