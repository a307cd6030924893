package limits

import (
	"net/netip"
	"strconv"
	"strings"
)

// Bucket is a class of requests with a limit of its own, named as the
// Hub names them in its RateLimit headers
// (https://huggingface.co/docs/hub/rate-limits).
type Bucket string

// The Hub's buckets.
const (
	// API: the JSON API under /api (listings, repository info, commits,
	// preupload…), the heaviest per request.
	API Bucket = "api"
	// Resolvers: file content — resolve and raw downloads, the signed LFS
	// transfer URLs, git-lfs batch calls and git smart HTTP. The Hub's
	// clients make most of their calls here, so its limit is the highest.
	Resolvers Bucket = "resolvers"
	// Pages: the web UI.
	Pages Bucket = "pages"
)

// Classify returns the bucket of a request by its escaped path (without
// the public URL's prefix), or "" for requests no limit applies to: the
// operations endpoints and the web UI's static files.
//
// It reads the path only, not the routers' tables, so that a request is
// counted before anything parses it. The repository id takes one segment
// (a canonical id, "gpt2") or two, after an optional "datasets" or
// "models"; repository names equal to a route keyword are refused at
// creation, so "resolve" right after it is a download.
func Classify(escapedPath string) Bucket {
	segs := strings.FieldsFunc(escapedPath, func(r rune) bool { return r == '/' })
	if len(segs) == 0 {
		return Pages
	}
	switch segs[0] {
	case "healthz", "readyz", "metrics":
		if len(segs) == 1 {
			return ""
		}
	case "static":
		return ""
	case "api":
		if len(segs) > 1 && segs[1] == "lfs" {
			return Resolvers
		}
		return API
	case "datasets", "models", "spaces":
		segs = segs[1:]
	}
	for i := 0; i < len(segs) && i < 2; i++ {
		if strings.HasSuffix(segs[i], ".git") {
			return Resolvers // git smart HTTP and git-lfs batch
		}
		if i+2 < len(segs) && (segs[i+1] == "resolve" || segs[i+1] == "raw") {
			return Resolvers
		}
	}
	return Pages
}

// UserSubject names a signed-in caller: limits follow the user, whichever
// of their tokens a request carries.
func UserSubject(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

// AddrSubject names an anonymous caller by address. An IPv6 caller is
// counted by its /64, the block one host or network usually holds, so
// that cycling through addresses of one block does not reset its count.
func AddrSubject(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}
