// Package xet implements the data formats of Hugging Face's Xet storage:
// hashes and their hex form, the content-defined chunker, xorbs (the
// chunk containers clients upload) and MDB shards (the file-to-chunk
// metadata clients register), with the checks a server must make before
// trusting them, and the arithmetic of reconstruction responses. It is
// what the CAS service and the hub build on; it stores nothing and knows
// nothing of HTTP. The protocol description the code follows is
// shared/reference/xet.md; where it and xet-core differ, xet-core's code
// wins.
//
// Hashes. A [Hash] is 32 raw bytes. Its text form, in URLs and JSON, reads
// them as four little-endian uint64 values ([Hash.String]); a SHA-256 in a
// shard is stored so that this form is its usual hex ([HashFromSHA256]).
// A chunk's hash is keyed BLAKE3 of its bytes ([ChunkHash]); xorb and file
// hashes aggregate (hash, size) leaves in a Merkle tree of variable
// fan-out ([XorbHash], [FileHash]); shards prove knowledge of a term's
// chunks with [VerificationHash].
//
// Untrusted input. Xorbs and shards arrive from clients, so [ReadXorb],
// [VerifyXorb] and [ReadShard] read them as streams, once, with a size
// limit from the caller, and allocate no more than a small fixed amount
// on the word of a size or count read from the input: memory grows with
// the bytes that have arrived. A chunk is at most [MaxChunkSize] raw bytes
// and twice that compressed, LZ4 frames decode straight into a buffer of
// the chunk's declared raw size and fail rather than grow it, whatever
// block size they declare, and a xorb holds at most [MaxXorbChunks]
// chunks. Errors about the input
// wrap [ErrInvalid]; errors of the caller's reader or store come back
// unchanged, so the CAS service can tell a 400 from a 500.
//
// A server validates a xorb upload with [VerifyXorb] (every chunk
// decompressed and hashed, the xorb hash compared with its name) and keeps
// the resulting [Index], which maps chunk ranges to byte ranges of the
// stored xorb for downloads. It validates a shard with [ReadShard],
// [Shard.Check] (what needs no store) and [Shard.Verify] (file hashes and
// verification hashes recomputed from the stored xorbs' indexes, reached
// through an [IndexSource]). File hashes name content across repositories,
// so a shard that fails these checks must not register anything.
// [PlanReconstruction] turns a file's terms and a byte range into the
// terms and fetch ranges of a reconstruction response ([Plan.V1],
// [Plan.V2]); a [ChunkReader] decodes fetched chunk bytes back into file
// content.
//
// Writing. [Chunker] and [XorbWriter] turn content into chunks and xorbs
// exactly as clients do, so content converted from LFS by the server
// deduplicates against content uploaded with Xet; [Shard.MarshalBinary]
// writes shards, such as global-dedup replies.
//
// The package uses lukechampine.com/blake3 for BLAKE3 and
// github.com/pierrec/lz4/v4 for LZ4 blocks and for writing LZ4 frames;
// it parses LZ4 frames itself, to bound their memory. Nothing else comes
// from outside the standard library.
package xet
