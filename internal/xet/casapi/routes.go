package casapi

import (
	"net/http"
	"net/url"

	"github.com/agorahub/agora/internal/route"
)

// Owner implements server.AddrRouter: the CAS rows of the route table
// (everything under route.CASPrefix, and POST /v1/telemetry).
func (h *Handler) Owner() route.Owner { return route.CAS }

// RouteAddr implements server.AddrRouter.
func (h *Handler) RouteAddr(r *http.Request, a *route.Addr) http.Handler { return h.Route(r, a.Segs) }

// Route implements server.Router. Under the prefix it claims every path:
// hf_xet detects the v2 routes by their 404 (or 501), so unknown paths,
// /v2/* included, answer 404 and never 405 or 400.
//
// Routes by hf_xet release (shared/reference/xet.md §2.1, checked against
// xet-core's remote_client.rs of each tag) and huggingface.js:
//
//	                 1.0.0–1.1.9        1.1.10–1.2.x      1.3.0 and later, JS
//	upload xorb      POST /xorb/p/h     POST /xorbs/p/h   POST /v1/xorbs/p/h
//	xorb exists      HEAD /xorb/p/h     HEAD /xorbs/p/h   HEAD /v1/xorbs/p/h
//	upload shard     POST|PUT /shard/p/h  POST /shards    POST /shards (≤1.5.1), /v1/shards;
//	                                                      1.6.0+: /v2/shards first
//	reconstruction   GET /reconstruction/f  /reconstructions/f  /v1/reconstructions/f;
//	                                                      1.5.1+ and JS: /v2/ first (JS only)
//	global dedup     GET /chunk/p/c     GET /chunks/p/c   GET /v1/chunks/p/c
//	telemetry        POST /v1/telemetry (xet-core after 1.6.0: at the host root too)
//
// plus this hub's own GET /v1/xorb-data/h (signed xorb ranges). hf_xet
// 1.8.0 asks POST /v1/xorb-grants/p/h for an upload grant first and
// uploads through /v1/xorbs when that is 404: it is 404 on purpose (see
// grant below).
func (h *Handler) Route(r *http.Request, segs []string) http.Handler {
	if len(segs) == 2 && segs[0] == "v1" && segs[1] == "telemetry" && r.Method == http.MethodPost {
		// xet-core joins "/v1/telemetry" to the CAS URL's host, dropping
		// its path.
		return h.adapt("cas-telemetry", h.telemetry)
	}
	if len(segs) == 0 || segs[0] != h.prefix {
		return nil
	}
	s := segs[1:]
	m := r.Method
	arg := func(i int) string {
		v, err := url.PathUnescape(s[i])
		if err != nil {
			return s[i]
		}
		return v
	}
	// Unversioned routes of old releases are their v1 route.
	version := ""
	if len(s) > 0 && (s[0] == "v1" || s[0] == "v2") {
		version, s = s[0], s[1:]
	}
	if len(s) == 0 {
		return h.notFound()
	}
	switch {
	case version == "v1" && s[0] == "telemetry" && len(s) == 1 && m == http.MethodPost:
		return h.adapt("cas-telemetry", h.telemetry)
	case version != "v2" && (s[0] == "xorbs" || s[0] == "xorb" && version == "") && len(s) == 3:
		switch m {
		case http.MethodPost:
			return h.adapt("cas-xorb-upload", h.uploadXorb(arg(2)))
		case http.MethodHead:
			return h.adapt("cas-xorb-head", h.xorbExists(arg(2)))
		}
	case version == "v1" && s[0] == "xorb-grants" && len(s) == 3 && m == http.MethodPost:
		return h.adapt("cas-xorb-grant", h.grant)
	case version == "v1" && s[0] == "xorb-data" && len(s) == 2 && (m == http.MethodGet || m == http.MethodHead):
		return h.adapt("cas-xorb-data", h.xorbData(arg(1)))
	case version != "v2" && s[0] == "shards" && len(s) == 1 && m == http.MethodPost,
		version == "" && s[0] == "shard" && len(s) == 3 && (m == http.MethodPost || m == http.MethodPut):
		return h.adapt("cas-shard-v1", h.uploadShard)
	case version == "v2" && s[0] == "shards" && len(s) == 1 && m == http.MethodPost:
		return h.adapt("cas-shard-v2", h.uploadShardV2)
	case (s[0] == "reconstructions" || s[0] == "reconstruction" && version == "") && len(s) == 2 && (m == http.MethodGet || m == http.MethodHead):
		if version == "v2" {
			return h.adapt("cas-reconstruction-v2", h.reconstruction(arg(1), 2))
		}
		return h.adapt("cas-reconstruction-v1", h.reconstruction(arg(1), 1))
	case version != "v2" && (s[0] == "chunks" || s[0] == "chunk" && version == "") && len(s) == 3 && (m == http.MethodGet || m == http.MethodHead):
		return h.adapt("cas-dedup", h.dedup(arg(2)))
	}
	return h.notFound()
}

func (h *Handler) notFound() http.Handler {
	return h.adapt("cas-notfound", func(w http.ResponseWriter, r *http.Request) error {
		return notFoundError(r)
	})
}
