package search

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBitmapMatchesSet drives bitmaps and postings with random adds and
// removes against a plain set, across container boundaries and both
// container kinds (array, and bitmap above arrayMax).
func TestBitmapMatchesSet(t *testing.T) {
	tests := []struct {
		name        string
		universe    int32
		ops         int
		removeShare int // in 10ths
	}{
		{"sparse", 1 << 20, 3000, 3},
		{"one container dense", 1 << 16, 40000, 2},
		{"dense then shrinking", 3 << 16, 60000, 6},
		{"tiny", 10, 200, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.ops)))
			var b bitmap
			want := map[int32]bool{}
			for i := range tt.ops {
				s := rng.Int32N(tt.universe)
				if rng.IntN(10) < tt.removeShare {
					if got := b.remove(s); got != want[s] {
						t.Fatalf("op %d: remove(%d) = %v, want %v", i, s, got, want[s])
					}
					delete(want, s)
				} else {
					if got := b.add(s); got == want[s] {
						t.Fatalf("op %d: add(%d) = %v with present %v", i, s, got, want[s])
					}
					want[s] = true
				}
				if i%997 == 0 || i == tt.ops-1 {
					checkBitmap(t, &b, want, tt.universe)
				}
			}
		})
	}
}

func checkBitmap(t *testing.T, b *bitmap, want map[int32]bool, universe int32) {
	t.Helper()
	var sorted []int32
	for s := range want {
		sorted = append(sorted, s)
	}
	slices.Sort(sorted)
	if got := b.appendTo(nil); !slices.Equal(got, sorted) {
		t.Fatalf("appendTo: %d slots, want %d", len(got), len(sorted))
	}
	if b.len() != len(want) {
		t.Fatalf("len %d, want %d", b.len(), len(want))
	}
	for s := int32(0); s < min(universe, 5000); s++ {
		if b.contains(s) != want[s] {
			t.Fatalf("contains(%d) = %v", s, !want[s])
		}
	}
	// andAll of b alone is b.
	words := int(universe+63) / 64
	var scratch [containerWords]uint64
	one := make([]uint64, words)
	for i := range one {
		one[i] = ^uint64(0)
	}
	andAll(one, []*bitmap{b}, &scratch)
	if got := setBits(one); !slices.Equal(got, sorted) {
		t.Fatalf("andAll of one: %d slots, want %d", len(got), len(sorted))
	}
}

// TestAndAll intersects random lists of every density, both container
// kinds and a partial last container, against sets.
func TestAndAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var scratch [containerWords]uint64
	for round := range 60 {
		universe := int32(1 + rng.IntN(5<<16))
		n := 1 + rng.IntN(4)
		lists := make([]*bitmap, n)
		count := map[int32]int{}
		for i := range lists {
			lists[i] = &bitmap{}
			// From a few slots to most of them, so that containers are
			// arrays in some lists and bitmaps in others.
			share := []float64{0.001, 0.02, 0.06, 0.3, 0.9}[rng.IntN(5)]
			for s := range universe {
				if rng.Float64() < share && lists[i].add(s) {
					count[s]++
				}
			}
		}
		var want []int32
		for s, c := range count {
			if c == n {
				want = append(want, s)
			}
		}
		slices.Sort(want)
		dst := make([]uint64, (universe+63)/64)
		for i := range dst {
			dst[i] = rng.Uint64() // andAll must not depend on what dst held
		}
		nonEmpty := andAll(dst, lists, &scratch)
		if got := setBits(dst); !slices.Equal(got, want) {
			t.Fatalf("round %d (%d lists over %d): %d slots, want %d", round, n, universe, len(got), len(want))
		}
		if nonEmpty != (len(want) > 0) {
			t.Fatalf("round %d: andAll reported %v with %d slots", round, nonEmpty, len(want))
		}
	}
}

// TestPostingsInline: a key holds one slot inline and moves to a bitmap
// at its second, and back.
func TestPostingsInline(t *testing.T) {
	p := newPostings()
	steps := []struct {
		add    bool
		k, s   int32
		want   []int32
		inline bool
	}{
		{true, 3, 7, []int32{7}, true},
		{true, 3, 7, []int32{7}, true},
		{true, 3, 2, []int32{2, 7}, false},
		{false, 3, 7, []int32{2}, true},
		{false, 3, 9, []int32{2}, true},
		{false, 3, 2, nil, true},
		{false, 99, 1, nil, true},
	}
	for i, st := range steps {
		if st.add {
			p.add(st.k, st.s)
		} else {
			p.remove(st.k, st.s)
		}
		l := p.get(st.k)
		if got := l.appendTo(nil); !slices.Equal(got, st.want) || l.len() != len(st.want) || (l.bm == nil) != st.inline {
			t.Fatalf("step %d: %v (len %d, inline %v), want %v inline %v", i, got, l.len(), l.bm == nil, st.want, st.inline)
		}
	}
	if p.get(-1).len() != 0 || p.get(1000).len() != 0 {
		t.Fatal("unknown keys are not empty")
	}
}

func TestDict(t *testing.T) {
	d := newDict()
	var keys []string
	for i := range 5000 {
		keys = append(keys, fmt.Sprintf("t:tag-%d", i*7919%5003))
	}
	nums := map[string]int32{}
	for _, k := range keys {
		n := d.internBytes([]byte(k))
		if prev, ok := nums[k]; ok && prev != n {
			t.Fatalf("%s interned as %d then %d", k, prev, n)
		}
		nums[k] = n
	}
	for k, n := range nums {
		if got, ok := d.lookup(k); !ok || got != n || string(d.at(n)) != k {
			t.Fatalf("lookup(%s) = %d %v, want %d", k, got, ok, n)
		}
	}
	if _, ok := d.lookup("t:absent"); ok {
		t.Fatal("found an absent key")
	}
	// A dictionary loaded from another's strings answers the same.
	var e dict
	e = newDict()
	e.load(d.arena, d.end)
	for k, n := range nums {
		if got, ok := e.lookup(k); !ok || got != n {
			t.Fatalf("loaded lookup(%s) = %d %v, want %d", k, got, ok, n)
		}
	}
}
