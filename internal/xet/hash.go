package xet

import (
	"encoding/binary"
	"encoding/hex"

	"lukechampine.com/blake3"
)

// A Hash is a 32-byte Xet hash: of a chunk, a xorb, a file, a shard or a
// verification range. It is stored and sent on the wire as its raw bytes;
// [Hash.String] gives the hex form used in URLs and JSON.
type Hash [32]byte

// String returns the Xet hex form of h: the 32 bytes read as four
// little-endian uint64 values, each printed as 16 lower-case hex digits.
// It is not the hex of the bytes in order (xet-core
// merklehash/data_hash.rs DataHash::hex).
func (h Hash) String() string {
	b, _ := h.MarshalText()
	return string(b)
}

// MarshalText implements [encoding.TextMarshaler] with the [Hash.String]
// form, so a Hash is a JSON string and can be a JSON object key.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, 64)
	for i := range 4 {
		for j := range 8 {
			hex.Encode(out[16*i+2*j:], h[8*i+7-j:8*i+8-j])
		}
	}
	return out, nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseHash].
func (h *Hash) UnmarshalText(text []byte) error {
	p, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseHash parses the [Hash.String] form of a hash. Upper-case hex digits
// are accepted, as hf_xet accepts them.
func ParseHash(s string) (Hash, error) {
	var raw, h Hash
	if len(s) != 64 {
		return h, invalid("hash %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(raw[:], []byte(s)); err != nil {
		return h, invalid("hash %q: not hex", s)
	}
	for i := range 32 {
		h[i] = raw[i/8*8+7-i%8]
	}
	return h, nil
}

// IsZero reports whether h is the all-zero hash, which names the empty
// file.
func (h Hash) IsZero() bool { return h == Hash{} }

// HashFromSHA256 returns the Hash whose [Hash.String] form is the usual
// hex of the SHA-256 digest sum: the digest as the shard's FileMetadataExt
// stores it, each 8-byte group reversed (xet-core DataHash::from_be_bytes;
// huggingface.js writeHashToArray).
func HashFromSHA256(sum [32]byte) Hash {
	var h Hash
	for i := range 4 {
		binary.LittleEndian.PutUint64(h[8*i:], binary.BigEndian.Uint64(sum[8*i:]))
	}
	return h
}

// SHA256 is the inverse of [HashFromSHA256]: it returns the SHA-256 digest
// that a FileMetadataExt hash stands for, in the usual byte order.
func (h Hash) SHA256() [32]byte {
	var sum [32]byte
	for i := range 4 {
		binary.BigEndian.PutUint64(sum[8*i:], binary.LittleEndian.Uint64(h[8*i:]))
	}
	return sum
}

// Keys of the keyed BLAKE3 hashes (xet-core merklehash/data_hash.rs and
// metadata_shard/chunk_verification.rs), as raw bytes.
var (
	dataKey = [32]byte{
		102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
		157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41,
	}
	internalNodeKey = [32]byte{
		1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
		93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63,
	}
	verificationKey = [32]byte{
		127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
		164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195,
	}
)

// keyedHash is BLAKE3 keyed with key over data. A zero key is still a key:
// keyed mode with 32 zero bytes differs from unkeyed BLAKE3.
func keyedHash(key *[32]byte, data []byte) Hash {
	h := blake3.New(32, key[:])
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// ChunkHash returns the hash of a chunk's raw bytes.
func ChunkHash(data []byte) Hash { return keyedHash(&dataKey, data) }

// chunkHasher hashes many chunks with one BLAKE3 state, which is
// several kilobytes: worth reusing across the thousands of chunks of a
// xorb.
type chunkHasher struct{ h *blake3.Hasher }

func (c *chunkHasher) sum(data []byte) Hash {
	if c.h == nil {
		c.h = blake3.New(32, dataKey[:])
	}
	c.h.Reset()
	c.h.Write(data)
	var out Hash
	c.h.Sum(out[:0])
	return out
}

// HMAC returns h keyed with key (xet-core DataHash::hmac): BLAKE3 keyed
// with key over the raw bytes of h. Global-dedup replies carry chunk
// hashes in this form, keyed with the shard footer's chunk_hash_hmac_key.
func HMAC(key, h Hash) Hash {
	k := [32]byte(key)
	return keyedHash(&k, h[:])
}

// VerificationHash returns the range hash that a shard's
// FileVerificationEntry holds for a term: BLAKE3 keyed with the
// verification key over the raw hashes of the term's chunks, in order
// (xet-core range_hash_from_chunks).
func VerificationHash(chunks []Hash) Hash {
	h := blake3.New(32, verificationKey[:])
	for i := range chunks {
		h.Write(chunks[i][:])
	}
	var out Hash
	h.Sum(out[:0])
	return out
}

// GlobalDedupEligible reports whether clients query the global-dedup
// route for a chunk with hash h: the last eight bytes, as a little-endian
// uint64, are a multiple of 1024 (xet-core hash_is_global_dedup_eligible).
func GlobalDedupEligible(h Hash) bool {
	return binary.LittleEndian.Uint64(h[24:])%1024 == 0
}
