// Package mirror makes Agora a pull-through mirror of other hubs
// (huggingface.co, or another Agora): a repository no local one answers
// for is fetched from the upstream whose policy claims its id, kept, and
// served by Agora itself, also when the upstream is slow, rate-limited,
// down or gone (issue 14).
//
// Identity. A mirrored repository is a local repository row (flagged in
// the metadata store's mirror_repos) holding the upstream's own git
// objects, fetched with git's smart-HTTP protocol v2 (ls-refs, then a
// fetch of the missing commits with the local tips as haves). Commits,
// trees and blobs are stored as the upstream made them, so commit ids,
// tree entries, ETags (git blob ids and LFS SHA-256) and X-Linked-*
// headers are the upstream's byte for byte, and the rest of the hub
// (info, tree, paths-info, refs, commits, resolve, git clone) serves them
// unchanged. Branches and tags are bound to the upstream's targets for
// Config.TTL; everything under a commit id is immutable and kept.
//
// Content. LFS content is fetched on first download through the
// upstream's LFS batch API (by SHA-256, so Xet-backed files come as plain
// bytes and no answer ever names an upstream host), streamed to the
// client while it arrives and, in the same pass, hashed and written into
// the blob store, which publishes it only if the SHA-256 and size match.
// A reader never gets the last byte of a file before that check passed,
// so a client cannot complete a download of wrong bytes. One transfer
// serves every concurrent reader: in a process through a shared spool
// file, across replicas through a lease in the metadata store (with a
// fence that grows with each holder) and chunks the holder stages in the
// blob store's "mirrorfill" key space while readers elsewhere wait. A
// Range far ahead of a fill is answered by a ranged request upstream
// rather than by waiting (those bytes cannot be checked against the
// file's hash and are not cached).
//
// What this package must not do: forward a caller's Agora token upstream
// (only the operator's service token, sealed at rest, ever leaves), invent
// a 404 for something it could not ask about (failures are 429/502/503/
// 504, see hub's upstream error kinds), or let upstream answers bypass
// Agora's own access rules (a mirrored repository is authorised like any
// local one; see README for the rule that sets its visibility).
package mirror
