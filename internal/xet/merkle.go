package xet

import (
	"encoding/binary"
	"strconv"
)

// A Leaf is one input of the Merkle aggregation behind xorb and file
// hashes: a chunk's hash and its raw (uncompressed) size in bytes.
type Leaf struct {
	Hash Hash
	Size uint64
}

// XorbHash returns the hash of a xorb made of chunks, in order. A xorb of
// one chunk has that chunk's hash; no chunks give the zero hash.
func XorbHash(chunks []Leaf) Hash {
	return aggregate(chunks)
}

// FileHash returns the hash of a file made of chunks, in order: the
// Merkle aggregation of the chunks keyed with the zero key. The empty
// file's hash is the zero hash, without the keyed step (xet-core
// aggregated_hashes.rs file_hash_with_salt); huggingface.js relies on the
// same rule.
func FileHash(chunks []Leaf) Hash {
	return fileHashWithSalt(chunks, Hash{})
}

func fileHashWithSalt(chunks []Leaf, salt Hash) Hash {
	if len(chunks) == 0 {
		return Hash{}
	}
	return HMAC(salt, aggregate(chunks))
}

// Tree shape (xet-core merklehash/aggregated_hashes.rs, absent from the
// published spec): each level is cut into groups of 2 to 9 nodes, a group
// ending after the first node, from the third on, whose hash is 0 mod 4,
// or at the ninth node, or at the end; at most two nodes left form a
// group. A group's parent hashes the text "<hex> : <size>\n" of its
// members with the internal-node key and sums their sizes.
const (
	meanBranching = 4
	maxGroup      = 2*meanBranching + 1
)

func aggregate(chunks []Leaf) Hash {
	if len(chunks) == 0 {
		return Hash{}
	}
	level := append([]Leaf(nil), chunks...)
	var text []byte
	for len(level) > 1 {
		out := level[:0]
		for rest := level; len(rest) > 0; {
			cut := groupLen(rest)
			var parent Leaf
			text = text[:0]
			for _, n := range rest[:cut] {
				hexForm, _ := n.Hash.MarshalText()
				text = append(text, hexForm...)
				text = append(text, " : "...)
				text = strconv.AppendUint(text, n.Size, 10)
				text = append(text, '\n')
				parent.Size += n.Size
			}
			parent.Hash = keyedHash(&internalNodeKey, text)
			// The parent is written over the first member, which has
			// been read: out never overtakes rest.
			out = append(out, parent)
			rest = rest[cut:]
		}
		level = out
	}
	return level[0].Hash
}

func groupLen(nodes []Leaf) int {
	if len(nodes) <= 2 {
		return len(nodes)
	}
	end := min(maxGroup, len(nodes))
	for i := 2; i < end; i++ {
		if binary.LittleEndian.Uint64(nodes[i].Hash[24:])%meanBranching == 0 {
			return i + 1
		}
	}
	return end
}
