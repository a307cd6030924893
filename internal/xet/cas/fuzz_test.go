package cas

import (
	"bytes"
	"testing"

	"github.com/agorahub/agora/internal/xet"
)

// FuzzLayout: a stored layout is trusted, but a corrupt row must give an
// error, never a panic or a plan that reads outside its chunks.
func FuzzLayout(f *testing.F) {
	var x xet.Hash
	x[0] = 7
	good := &layout{terms: []layoutTerm{{xorb: x, start: 1, end: 3, from: 100, raw: []uint32{10, 20}, ser: []uint32{18, 28}}}}
	b, _ := good.MarshalBinary()
	f.Add(b)
	f.Add([]byte{layoutVersion, 0})
	f.Add([]byte{layoutVersion, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l layout
		if err := l.UnmarshalBinary(b); err != nil {
			return
		}
		// Varints may arrive longer than needed: compare decodings.
		again, _ := l.MarshalBinary()
		var l2 layout
		if err := l2.UnmarshalBinary(again); err != nil || l2.size != l.size || len(l2.terms) != len(l.terms) {
			t.Fatalf("layout does not round-trip: %v", err)
		}
		if again2, _ := l2.MarshalBinary(); !bytes.Equal(again, again2) {
			t.Fatal("re-encoding differs")
		}
		if l.size == 0 {
			return
		}
		p, err := l.plan(t.Context(), &xet.FileRange{Start: 0, End: uint64(l.size)})
		if err != nil {
			t.Fatalf("plan of a decoded layout: %v", err)
		}
		var n uint64
		for _, term := range p.Terms {
			n += uint64(term.UnpackedLength)
		}
		if n != uint64(l.size) {
			t.Fatalf("plan covers %d bytes of %d", n, l.size)
		}
	})
}

// FuzzParseToken: a token from the Authorization header is accepted only
// if this service signed it.
func FuzzParseToken(f *testing.F) {
	s := &Service{cfg: DefaultConfig(), key: []byte("fuzz key")}
	good, _ := s.IssueToken(3, 4, true)
	f.Add(good)
	f.Add(TokenPrefix + "e30.")
	f.Add("hf_token")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.ParseToken(tok)
		if err != nil {
			return
		}
		if tok != good && got.RepoID != 3 {
			t.Fatalf("accepted a token it did not sign: %q → %+v", tok, got)
		}
	})
}
