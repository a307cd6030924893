// Package fsck checks git objects one at a time with the rules of
// `git fsck --strict`, which are also what a server or client with
// transfer.fsckObjects (receive.fsckObjects, fetch.fsckObjects: `git
// index-pack --strict`) applies to every object it receives.
//
// Agora stores whatever objects a push or the commit API produce and
// serves them back verbatim. An object git's fsck refuses would make every
// later clone with transfer.fsckObjects fail, and some (a tree entry that
// Windows or macOS reads as ".git", a .gitmodules that slips options into
// the client's git) are the way into known remote-code-execution bugs of
// git clients. So every object is checked here before it is stored.
//
// The checks are per object, as in git. [CheckTree] also returns the
// entries whose blobs git checks as .gitmodules or .gitattributes files
// ([Special]); the caller looks those blobs up and hands them to
// [Special.Check]. Connectivity (that referenced objects exist, with the
// right type) is the caller's job. Failures are [*Error] values carrying
// git's message id, so that a refusal reads like git's own.
//
// Where git only informs (badTagName, missingTaggerEntry, the mode 100664
// of early git, a symbolic link named .gitattributes…) this package
// accepts what git accepts. It refuses more than git, on purpose, in a few
// places, each checked against the git binary in the tests:
//
//   - tree entry modes other than the five git writes and 100664
//     (badFilemode, which git only notes, but which no git tool can say
//     what to do with), and modes longer than seven digits;
//   - dates with leading blanks or a sign, which git's strtoumax
//     tolerates (badDate);
//   - .gitmodules files that do not parse to the end (gitmodulesParse,
//     which git only notes): git then checks only what comes before the
//     error, and a parser that stopped elsewhere could miss a hostile URL;
//   - HFS+ spellings of .git after a backslash in a name (git checks only
//     the NTFS ones there).
//
// The package is pure: no I/O, the standard library and [gitobj] only.
package fsck
