// Package limits holds the request limits shared by every route: rate
// limits per caller on the Hub's three buckets of requests (API calls,
// resolvers, pages), counted in fixed windows shared by every replica
// through the metadata store.
//
// It knows nothing of HTTP: the server classifies a request (by its path,
// with [Classify]), names the caller (a user, or a client address for
// anonymous requests) and writes the headers a [Decision] gives.
//
// The one decision a reader may question is that counts are batched: a
// replica admits requests against the last total it read from the store
// plus its own counts since, and adds those counts to the store once a
// second (one upsert per active counter) instead of writing on every
// request. A store write per request would put the database on the path
// of every download and listing; the price is that replicas learn each
// other's counts up to a second late, so a caller spreading a burst over
// R replicas can exceed a limit by what R-1 replicas admit in that second.
// Limits of thousands per five minutes make that slack small; the store
// stays the only shared state, and a replica that cannot reach it keeps
// counting locally and retries.
package limits
