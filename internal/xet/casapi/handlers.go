package casapi

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/cas"
)

func notFoundError(r *http.Request) error {
	return &cas.Error{Kind: cas.ErrNotFound, Msg: "Not found: " + r.Method + " " + r.URL.Path}
}

func (h *Handler) telemetry(w http.ResponseWriter, r *http.Request) error {
	// Fire and forget on the client's side: read a little, keep nothing.
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	w.WriteHeader(http.StatusOK)
	return nil
}

// grant answers hf_xet 1.8.0's request for a xorb upload grant (a URL to
// send the xorb to directly, then a commit call) with 404, which makes it
// upload through /v1/xorbs, as its documentation says
// (xet_client README: "If any grant request for a xorb returns 404, the
// client uploads that xorb through POST /v1/xorbs"). Grants would let
// clients write to S3 directly, but every xorb must be decompressed and
// hashed before it counts, so the hub would read it back whole: the same
// bytes, through the hub, in another direction.
func (h *Handler) grant(w http.ResponseWriter, r *http.Request) error {
	return &cas.Error{Kind: cas.ErrNotFound, Msg: "Xorb upload grants are not offered: upload through /v1/xorbs"}
}

func (h *Handler) uploadXorb(name string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := h.token(r)
		if err != nil {
			return err
		}
		added, err := h.cas.UploadXorb(r.Context(), tok, name, r.ContentLength, r.Body)
		if err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, xet.UploadXorbResponse{WasInserted: added})
		return nil
	}
}

func (h *Handler) xorbExists(name string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := h.token(r); err != nil {
			return err
		}
		ok, err := h.cas.XorbExists(r.Context(), name)
		if err != nil {
			return err
		}
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return nil
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}

// shardTooLarge refuses a shard from its declared length, before reading
// it (ReadShard bounds what it reads in any case).
func (h *Handler) shardTooLarge(r *http.Request) error {
	if max := h.cas.Config().MaxShardSize; r.ContentLength > max {
		return &cas.Error{Kind: cas.ErrTooLarge, Msg: fmt.Sprintf("Shard of %d bytes: this hub accepts at most %d", r.ContentLength, max)}
	}
	return nil
}

func (h *Handler) uploadShard(w http.ResponseWriter, r *http.Request) error {
	tok, err := h.token(r)
	if err != nil {
		return err
	}
	if err := h.shardTooLarge(r); err != nil {
		return err
	}
	res, err := h.cas.UploadShard(r.Context(), tok, r.Body, nil)
	if err != nil {
		return err
	}
	server.WriteJSON(w, r, http.StatusOK, xet.UploadShardResponse{Result: res})
	return nil
}

// keepalive is how often /v2/shards repeats its last frame while the
// checks run, so that proxies and clients see the answer progress.
const keepalive = 15 * time.Second

// uploadShardV2 answers POST /v2/shards: the same work as v1, reported as
// NDJSON frames (xet-core cas_types ShardUploadEvent): "validating" as
// files are verified, repeated every keepalive while quiet, then a
// terminal "result" or "error". Errors found before the first frame are
// plain HTTP errors, like v1's.
func (h *Handler) uploadShardV2(w http.ResponseWriter, r *http.Request) error {
	tok, err := h.token(r)
	if err != nil {
		return err
	}
	if err := h.shardTooLarge(r); err != nil {
		return err
	}
	var mu sync.Mutex
	started := false
	var last []byte
	rc := http.NewResponseController(w)
	send := func(frame any) {
		b, _ := json.Marshal(frame)
		b = append(b, '\n')
		mu.Lock()
		defer mu.Unlock()
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		last = b
		w.Write(b)
		rc.Flush()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	// The writer must be idle when the handler returns.
	defer func() { close(done); wg.Wait() }()
	wg.Go(func() {
		t := time.NewTicker(keepalive)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				if started {
					w.Write(last)
					rc.Flush()
				}
				mu.Unlock()
			}
		}
	})
	progress := func(verified, total int) {
		send(map[string]any{"type": "validating", "verified": verified, "total": total})
	}
	_, err = h.cas.UploadShard(r.Context(), tok, r.Body, progress)
	mu.Lock()
	wasStarted := started
	mu.Unlock()
	if err != nil && !wasStarted {
		return err
	}
	if err != nil {
		p := problem(err)
		if p.Internal {
			h.lg.ErrorContext(r.Context(), "cas request failed", "req", server.RequestID(r.Context()), "path", r.URL.EscapedPath(), "err", err)
		}
		send(map[string]any{"type": "error", "message": p.Message(r), "retryable": p.Internal})
		return nil
	}
	// xet-core's terminal frame is a bare {"type":"result"}: success
	// carries no Exists/Registered distinction in v2.
	send(map[string]any{"type": "result"})
	return nil
}

// byteRange parses the Range header of a reconstruction: "bytes=a-b"
// (what hf_xet and huggingface.js send), "bytes=a-" or "bytes=-n", as
// xet-core's reference server accepts. No header: nil.
func byteRange(r *http.Request) (*cas.ByteRange, error) {
	v := r.Header.Get("Range")
	if v == "" {
		return nil, nil
	}
	bad := &cas.Error{Kind: cas.ErrInvalid, Msg: fmt.Sprintf("Invalid Range %q: use bytes=start-end", v)}
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, bad
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return nil, bad
	}
	parse := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	switch {
	case a == "":
		n, ok := parse(b)
		if !ok || n == 0 {
			return nil, bad
		}
		return &cas.ByteRange{Start: -n, End: -1}, nil
	case b == "":
		start, ok := parse(a)
		if !ok {
			return nil, bad
		}
		return &cas.ByteRange{Start: start, End: -1}, nil
	}
	start, ok1 := parse(a)
	end, ok2 := parse(b)
	if !ok1 || !ok2 || end < start || end == math.MaxInt64 {
		return nil, bad
	}
	return &cas.ByteRange{Start: start, End: end + 1}, nil
}

func (h *Handler) reconstruction(name string, version int) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := h.token(r)
		if err != nil {
			return err
		}
		rng, err := byteRange(r)
		if err != nil {
			return err
		}
		p, err := h.cas.Reconstruction(r.Context(), tok, name, rng)
		if err != nil {
			return err
		}
		base := h.URL(r)
		var urlErr error
		url := func(x xet.Hash, from, to int64) string {
			u, err := h.cas.DataURL(r.Context(), base, x, from, to)
			if err != nil && urlErr == nil {
				urlErr = err
			}
			return u
		}
		var body any
		if version == 2 {
			body = p.V2(url)
		} else {
			body = p.V1(url)
		}
		if urlErr != nil {
			return urlErr
		}
		// Always 200 with the JSON, also for a range (Hugging Face does the
		// same; clients read the body either way).
		server.WriteJSON(w, r, http.StatusOK, body)
		return nil
	}
}

func (h *Handler) dedup(name string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		tok, err := h.token(r)
		if err != nil {
			return err
		}
		b, err := h.cas.DedupShard(r.Context(), tok, name)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(b)
		}
		return nil
	}
}

// xorbData serves the bytes a data URL grants, through http.ServeContent
// on the stored xorb (sendfile on the filesystem store). Every range the
// client asks for must lie within the granted one: asking for more is a
// 403, as on Hugging Face's CDN, and makes clients fetch a new
// reconstruction. Without a Range header the granted range is served.
func (h *Handler) xorbData(name string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, err := h.cas.ParseDataURL(name, r.URL.Query())
		if err != nil {
			return err
		}
		rh := r.Header.Get("Range")
		if rh == "" {
			rh = fmt.Sprintf("bytes=%d-%d", g.From, g.To-1)
		}
		if !withinGrant(rh, g) {
			return &cas.Error{Kind: cas.ErrForbidden, Msg: "Range outside what this URL grants: ask for a new reconstruction"}
		}
		f, _, err := h.cas.OpenData(r.Context(), g)
		if err != nil {
			return err
		}
		defer f.Close()
		r2 := r.Clone(r.Context())
		r2.Header.Set("Range", rh)
		r2.Header.Del("If-Range")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "private, max-age=3600")
		http.ServeContent(w, r2, "", time.Time{}, f)
		return nil
	}
}

// withinGrant reports whether every range of a Range header lies within
// the grant (only the explicit "a-b" form is accepted).
func withinGrant(header string, g *cas.DataGrant) bool {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return false
	}
	for part := range strings.SplitSeq(spec, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || start < g.From || end < start || end >= g.To {
			return false
		}
	}
	return true
}
