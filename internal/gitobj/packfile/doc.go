// Package packfile reads and writes git pack files (format version 2).
//
// [Writer] streams full objects: a pack is written while the objects are
// read one by one from wherever they are stored, so a clone never holds a
// repository in memory. [Reader] parses a pack received from an untrusted
// client, resolving OFS_DELTA and REF_DELTA entries (bases from the pack or
// from a callback for objects the receiver already stores), within
// [Limits]: a hostile pack can neither exhaust memory (declared and
// inflated sizes are bounded, zlib bombs stop at the bound) nor loop.
//
// It imports nothing but the standard library and gitobj, and does no I/O
// besides the reader and writer it is handed.
package packfile
