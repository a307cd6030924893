package xet

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHashHex(t *testing.T) {
	var seq Hash
	for i := range seq {
		seq[i] = byte(i)
	}
	tests := []struct {
		name string
		raw  Hash
		hex  string
	}{
		// xet-core merklehash/data_hash.rs test_hash_hex_string_endianness.
		{"xet-core", Hash{
			22, 175, 58, 132, 4, 75, 131, 214, 190, 153, 138, 66, 226, 3, 153, 242,
			204, 86, 80, 234, 249, 153, 80, 99, 159, 80, 65, 138, 236, 231, 149, 78,
		}, "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f"},
		// Xet storage spec §2.0, whose example drops the byte "10" (62
		// digits).
		{"sequence", seq, "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"},
		{"zero", Hash{}, "0000000000000000000000000000000000000000000000000000000000000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.raw.String(); got != tc.hex {
				t.Errorf("String() = %s, want %s", got, tc.hex)
			}
			got, err := ParseHash(tc.hex)
			if err != nil || got != tc.raw {
				t.Errorf("ParseHash(%s) = %v, %v; want the raw bytes back", tc.hex, got, err)
			}
		})
	}
}

func TestParseHash(t *testing.T) {
	const lower = "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f"
	want := mustHash(t, lower)
	tests := []struct {
		in string
		ok bool
	}{
		{lower, true},
		{"D6834B04843AAF16F29903E2428A99BE635099F9EA5056CC4E95E7EC8A41509F", true},
		{"", false},
		{lower[:63], false},
		{lower + "0", false},
		{"g" + lower[1:], false},
		{"+6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f", false},
		{"0x834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f", false},
	}
	for _, tc := range tests {
		got, err := ParseHash(tc.in)
		if tc.ok {
			if err != nil || got != want {
				t.Errorf("ParseHash(%q) = %v, %v; want %v", tc.in, got, err, want)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseHash(%q) error = %v, want ErrInvalid", tc.in, err)
		}
	}
}

func TestHashJSON(t *testing.T) {
	h := mustHash(t, "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f")
	in := map[Hash][]Hash{h: {h, {}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f":["d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f","0000000000000000000000000000000000000000000000000000000000000000"]}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out map[Hash][]Hash
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`"abc"`), &h); err == nil {
		t.Error("unmarshal of a short hash succeeded")
	}
}

func TestSHA256Order(t *testing.T) {
	// xet-core data_hash.rs test_hash_from_be_bytes: from_be_bytes of
	// these bytes has hex() equal to their plain hex.
	be := [32]byte{
		214, 131, 75, 4, 132, 58, 175, 22, 242, 153, 3, 226, 66, 138, 153, 190,
		99, 80, 153, 249, 234, 80, 86, 204, 78, 149, 231, 236, 138, 65, 80, 159,
	}
	h := HashFromSHA256(be)
	if got, want := h.String(), "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f"; got != want {
		t.Errorf("HashFromSHA256 hex = %s, want %s", got, want)
	}
	if h.SHA256() != be {
		t.Errorf("SHA256() does not invert HashFromSHA256")
	}
	sum := sha256.Sum256([]byte("hello"))
	if got := HashFromSHA256(sum).String(); got != hex.EncodeToString(sum[:]) {
		t.Errorf("hex of HashFromSHA256(sha256) = %s, want the LFS oid %x", got, sum)
	}
}

func TestKeyedHashes(t *testing.T) {
	// huggingface.js packages/xetchunk-wasm/tests/index.test.ts, "Hash
	// functions (verified against Rust thin-wasm)"; hexToBytes there is
	// the inverse of hashToHex, the Xet hex form.
	h1 := mustHash(t, "118bbac5c38b2bca9c2b7ae8307786de066696b91b2b5ccb7dbbd4608c966882")
	h2 := mustHash(t, "7884d4de4bcc904767362a91e97eb6c2b6bc5f3a61b640d0cad8bb1129ff0827")
	key := mustHash(t, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
	tests := []struct {
		name string
		got  Hash
		want string
	}{
		{"HMAC", HMAC(key, h1), "1e1f5ae2bae99fe030647a14a8c5fe6cdce57826387a7552236dfbebed533e04"},
		{"VerificationHash", VerificationHash([]Hash{h1, h2}), "82d580dd3896919ef870af78b2c7bd21e67e79777922bbc8cef1fc21630c308c"},
	}
	for _, tc := range tests {
		if tc.got.String() != tc.want {
			t.Errorf("%s = %v, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestGlobalDedupEligible(t *testing.T) {
	var h Hash
	binary.LittleEndian.PutUint64(h[24:], 3*1024)
	if !GlobalDedupEligible(h) {
		t.Errorf("%v not eligible", h)
	}
	h[24] = 1
	if GlobalDedupEligible(h) {
		t.Errorf("%v eligible", h)
	}
}

func TestGearTable(t *testing.T) {
	b := make([]byte, 0, 8*len(gearTable))
	for _, v := range gearTable {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	const want = "e1d3936666d7ae7a977c958e9afcc75f90aaca758ce5fbe4ece61dffefe1912c"
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
		t.Errorf("gear table sha256 = %x, want %s (Xet storage spec appendix B)", got, want)
	}
}
