package hubapi

import (
	"net/http"
	"strconv"
	"strings"
)

// normalizeRange applies the Range rules of PROTOCOL.md §2.6 that
// http.ServeContent does not, before handing the request to it. It
// returns false when it answered the request itself.
//
//   - A unit other than bytes is ignored (RFC 9110 §14.2: a server MUST
//     ignore a range unit it does not understand): the whole body, 200.
//     ServeContent would answer 416.
//   - "bytes=-0" asks for the last zero bytes, which no representation
//     has: 416 with "Content-Range: bytes */N" (RFC 9110 §14.1.2), which
//     huggingface_hub reads as end-of-file. ServeContent answers 206 with
//     an empty body and an invalid "bytes N-(N-1)/N". Among several
//     ranges, such a range is dropped and the others served.
//   - A malformed bytes range is unsatisfiable: 416 with the same
//     Content-Range, so that the client learns the size (ServeContent
//     sends no Content-Range).
//
// With If-Range, ServeContent decides whether the range applies at all,
// and a matching If-None-Match makes the answer a 304 whatever the range:
// in both cases only the unit rule runs here.
func normalizeRange(w http.ResponseWriter, r *http.Request, size int64) bool {
	h := r.Header.Get("Range")
	if h == "" {
		return true
	}
	unit, set, ok := strings.Cut(h, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		r.Header.Del("Range")
		return true
	}
	if r.Header.Get("If-Range") != "" {
		return true
	}
	if inm, etag := r.Header.Get("If-None-Match"), w.Header().Get("ETag"); inm != "" && (inm == "*" || etag != "" && strings.Contains(inm, etag)) {
		return true
	}
	var keep []string
	specs := 0
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.TrimSpace(spec)
		if spec == "" {
			continue // empty list elements are allowed
		}
		specs++
		first, last, ok := strings.Cut(spec, "-")
		if !ok || !digits(first) || !digits(last) || first == "" && last == "" {
			return unsatisfiable(w, size)
		}
		if first == "" {
			if n, _ := strconv.ParseInt(last, 10, 64); n == 0 {
				continue // "-0": satisfiable by no representation
			}
		} else if last != "" {
			a, err1 := strconv.ParseInt(first, 10, 64)
			b, err2 := strconv.ParseInt(last, 10, 64)
			if err1 != nil || err2 != nil || b < a {
				return unsatisfiable(w, size)
			}
		}
		keep = append(keep, spec)
	}
	switch {
	case specs == 0:
		r.Header.Del("Range") // "bytes=": no range asked
	case len(keep) == 0:
		return unsatisfiable(w, size)
	default:
		// Canonical form: ServeContent only knows the unit spelled
		// "bytes" (units are case-insensitive).
		r.Header.Set("Range", "bytes="+strings.Join(keep, ","))
	}
	return true
}

// digits reports whether s is empty or all ASCII digits (at most 18, so
// that it parses into an int64).
func digits(s string) bool {
	if len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unsatisfiable answers 416 with the size, as §2.6 asks.
func unsatisfiable(w http.ResponseWriter, size int64) bool {
	h := w.Header()
	h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
	h.Del("Content-Length")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	w.Write([]byte("Range not satisfiable\n"))
	return false
}
