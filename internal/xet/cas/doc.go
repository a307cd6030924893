// Package cas is Agora's Xet content-addressed storage service: what the
// CAS routes do (package casapi serves them over HTTP), on top of the
// metadata store and the blob store, reached through the narrow
// interfaces this package declares. It knows nothing of HTTP; hub never
// sees xorb bytes, only files opened through [Service.Overlay].
//
// Storage. Xorbs are stored as uploaded (their chunks, plus the footer old
// clients append) in the blob store's "xorbs" key space, named by their
// Xet hash; the metadata store keeps each xorb's chunk index, every
// registered file with its layout (terms plus where each chunk lies in
// its xorb, so that one indexed read answers a reconstruction), and the
// global-dedup index. See meta.Xet for the tables.
//
// Trust. Nothing a client sends is believed: a xorb is decompressed and
// hashed while it streams into the blob store and published only if it
// hashes to its name; a shard's files are checked against the stored
// xorbs (chunk ranges, verification hashes that prove the uploader knew
// the chunks, file hashes); and the SHA-256 a shard claims for a file is
// recomputed from the stored chunks before the file is registered under
// it: a claim that differs fails the whole shard, and a file without a
// claim is registered under the computed one. So every SHA-256 → Xet file
// mapping is true content, whoever uploaded it, and a commit's LFS pointer
// resolves to exactly the bytes its oid names. Reading stays per
// repository, as for LFS: a shard uploaded with a repository's write token
// links the repository to its files' SHA-256s (repo_lfs), and a read token
// of a repository reconstructs only the files whose SHA-256 it links.
//
// Tokens. The CAS token is an HMAC-signed value (its key is a secret of
// the metadata store, shared by every replica) naming one repository, the
// user it was issued to, read or write, and an expiry; the hub issues it
// after its own authorisation decision, and every CAS request checks it.
// Xorb data URLs sign themselves: a presigned, range-bound S3 URL when the
// blob store can give one, else a URL of the CAS's own data route carrying
// an HMAC over the xorb, the byte range and the expiry.
//
// Plain downloads. [Service.Overlay] wraps the LFS blob store so that a
// Xet file reads as the LFS object of its SHA-256: resolve, git-lfs
// downloads, metadata derivation, scanning and fsck open it like any
// object, and it is streamed by decoding its chunks, one at a time.
package cas
