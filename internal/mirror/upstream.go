package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// upstream talks to one upstream hub.
type upstream struct {
	Upstream
	m *Mirror

	mu sync.Mutex
	// backoff is when calls may resume after a 429, as last read from or
	// written to the store (shared by replicas).
	backoff   time.Time
	backoffAt time.Time // when backoff was last read from the store
	// downUntil skips calls for a moment after the upstream could not be
	// reached, so that an outage costs every request nothing but a map
	// lookup (per process).
	downUntil time.Time
	hrefs     map[string]lfsHref // by oid
}

// lfsHref is where the upstream's LFS batch API said to download an object.
type lfsHref struct {
	url     string
	header  map[string]string
	expires time.Time
}

// repoPath is the repository's URL path prefix on the upstream, for git
// and LFS ("org/name" or "datasets/org/name").
func repoPath(ref hub.RepoRef) string {
	p := escapeID(ref.FullName())
	if ref.Type == hub.TypeDataset {
		return "datasets/" + p
	}
	return p
}

func escapeID(id string) string {
	parts := strings.Split(id, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func apiPath(ref hub.RepoRef) string {
	return "api/" + ref.Type + "s/" + escapeID(ref.FullName())
}

// errorf returns a hub error of kind about this upstream.
func (u *upstream) errorf(kind error, format string, args ...any) *hub.Error {
	return &hub.Error{Kind: kind, Msg: "upstream " + u.Name + ": " + fmt.Sprintf(format, args...)}
}

// checkCallable fails fast while the upstream backs off or is down.
func (u *upstream) checkCallable(ctx context.Context) error {
	if u.m.cfg.Offline {
		return u.errorf(hub.ErrUpstreamUnavailable, "offline mode: not cached")
	}
	now := u.m.cfg.Now()
	u.mu.Lock()
	refresh := now.Sub(u.backoffAt) > time.Second
	u.mu.Unlock()
	if refresh {
		// Another replica may have been told to back off.
		if ups, err := u.m.meta.MirrorUpstreams(ctx); err == nil {
			for _, mu := range ups {
				if mu.Name == u.Name {
					u.mu.Lock()
					if mu.BackoffUntil.After(u.backoff) {
						u.backoff = mu.BackoffUntil
					}
					u.backoffAt = now
					u.mu.Unlock()
				}
			}
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Before(u.backoff) {
		return &hub.Error{Kind: &hub.BusyError{RetryAfter: u.backoff.Sub(now)}, Msg: "upstream " + u.Name + " is rate-limiting this mirror; retry later"}
	}
	if now.Before(u.downUntil) {
		return u.errorf(hub.ErrUpstreamUnavailable, "unreachable")
	}
	return nil
}

// How a request presents the service token.
const (
	authBearer = iota
	// authBasic is what git credential helpers send, and what hubs
	// accept on their git routes.
	authBasic
	// authNone is for signed URLs, which carry their own authorisation.
	authNone
)

// do sends req with the service token and maps transport failures and
// error answers to hub errors; a 2xx response is returned open.
func (u *upstream) do(ctx context.Context, req *http.Request, auth int) (*http.Response, error) {
	if err := u.checkCallable(ctx); err != nil {
		return nil, err
	}
	if u.Token != "" {
		switch auth {
		case authBasic:
			req.SetBasicAuth("agora-mirror", string(u.Token))
		case authBearer:
			req.Header.Set("Authorization", "Bearer "+string(u.Token))
		}
	}
	req.Header.Set("User-Agent", "agora-mirror/1")
	resp, err := u.m.cfg.Client.Do(req)
	if err != nil {
		return nil, u.transportError(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil, u.statusError(ctx, resp)
}

func (u *upstream) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ctx.Err() // the caller went away: nothing to report
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return u.errorf(hub.ErrUpstreamTimeout, "no answer in time")
	}
	u.mu.Lock()
	u.downUntil = u.m.cfg.Now().Add(2 * time.Second)
	u.mu.Unlock()
	return &hub.Error{Kind: hub.ErrUpstreamUnavailable, Msg: "upstream " + u.Name + ": unreachable", Err: err}
}

// statusError keeps the meaning of an upstream's refusal: its X-Error-Code
// for what the client would have been told directly, a back-off shared by
// every replica for 429, and a 5xx for anything else.
func (u *upstream) statusError(ctx context.Context, resp *http.Response) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		d := retryAfter(resp.Header, u.m.cfg.Now())
		until := u.m.cfg.Now().Add(d)
		u.mu.Lock()
		if until.After(u.backoff) {
			u.backoff = until
		}
		u.mu.Unlock()
		if err := u.m.meta.BackOffMirrorUpstream(ctx, u.Name, until); err != nil && !errors.Is(err, meta.ErrNotFound) {
			u.m.lg.WarnContext(ctx, "mirror: cannot share a back-off", "upstream", u.Name, "err", err)
		}
		return &hub.Error{Kind: &hub.BusyError{RetryAfter: d}, Msg: "upstream " + u.Name + " is rate-limiting this mirror; retry later"}
	case code == "RepoNotFound":
		return &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
	case code == "RevisionNotFound":
		return &hub.Error{Kind: hub.ErrRevisionNotFound, Msg: nonEmpty(msg, "Revision not found")}
	case code == "EntryNotFound":
		return &hub.Error{Kind: hub.ErrEntryNotFound, Msg: "Entry not found"}
	case code == "GatedRepo":
		return &hub.Error{Kind: hub.ErrGated, Msg: "upstream " + u.Name + ": the repository is gated and the mirror's service token has no access to it"}
	case resp.StatusCode == http.StatusNotFound:
		return &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// Without an error code, the upstream refuses the mirror's
		// credentials: the operator's problem, never a "not found".
		return u.errorf(hub.ErrUpstreamUnavailable, "refused the mirror's credentials (%d)", resp.StatusCode)
	case resp.StatusCode == http.StatusGatewayTimeout || resp.StatusCode == http.StatusRequestTimeout:
		return u.errorf(hub.ErrUpstreamTimeout, "answered %d", resp.StatusCode)
	case resp.StatusCode >= 500:
		return u.errorf(hub.ErrUpstreamUnavailable, "answered %d", resp.StatusCode)
	}
	return u.errorf(hub.ErrUpstreamInvalid, "answered %d", resp.StatusCode)
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// retryAfter reads how long to back off: Retry-After (seconds or a date),
// else the "t=" of the Hub's RateLimit header, else a minute.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			return max(time.Duration(s)*time.Second, time.Second)
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	for _, part := range strings.Split(h.Get("RateLimit"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			if s, err := strconv.Atoi(v); err == nil && s >= 0 {
				return max(time.Duration(s)*time.Second, time.Second)
			}
		}
	}
	return time.Minute
}

// repoInfo is what the mirror reads of the upstream's model_info.
type repoInfo struct {
	ID      string          `json:"_id"`
	Sha     string          `json:"sha"`
	Private bool            `json:"private"`
	Gated   json.RawMessage `json:"gated"` // false, "auto" or "manual"
}

func (ri *repoInfo) gated() string {
	var s string
	if json.Unmarshal(ri.Gated, &s) == nil && s != "" {
		return "manual"
	}
	return ""
}

// info reads the repository's info (at rev, when given).
func (u *upstream) info(ctx context.Context, ref hub.RepoRef, rev string) (*repoInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, u.m.cfg.Timeout)
	defer cancel()
	p := apiPath(ref)
	if rev != "" {
		p += "/revision/" + url.PathEscape(rev)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL+"/"+p, nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.do(ctx, req, authBearer)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var ri repoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&ri); err != nil {
		return nil, u.errorf(hub.ErrUpstreamInvalid, "unreadable repository info")
	}
	return &ri, nil
}

// lfsHref asks the upstream's LFS batch API where to download oid.
func (u *upstream) lfsHref(ctx context.Context, ref hub.RepoRef, oid string, size int64) (lfsHref, error) {
	now := u.m.cfg.Now()
	u.mu.Lock()
	h, ok := u.hrefs[oid]
	u.mu.Unlock()
	if ok && now.Before(h.expires) {
		return h, nil
	}
	ctx, cancel := context.WithTimeout(ctx, u.m.cfg.Timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{
		"operation": "download", "transfers": []string{"basic"}, "hash_algo": "sha256",
		"objects": []map[string]any{{"oid": oid, "size": size}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL+"/"+repoPath(ref)+".git/info/lfs/objects/batch", bytes.NewReader(body))
	if err != nil {
		return lfsHref{}, err
	}
	req.Header.Set("Accept", "application/vnd.git-lfs+json")
	req.Header.Set("Content-Type", "application/vnd.git-lfs+json")
	resp, err := u.do(ctx, req, authBearer)
	if err != nil {
		return lfsHref{}, err
	}
	defer resp.Body.Close()
	var ans struct {
		Objects []struct {
			OID     string `json:"oid"`
			Actions struct {
				Download *struct {
					Href      string            `json:"href"`
					Header    map[string]string `json:"header"`
					ExpiresIn int64             `json:"expires_in"`
				} `json:"download"`
			} `json:"actions"`
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"objects"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans); err != nil || len(ans.Objects) != 1 {
		return lfsHref{}, u.errorf(hub.ErrUpstreamInvalid, "unreadable LFS batch answer")
	}
	o := ans.Objects[0]
	if o.Error != nil || o.Actions.Download == nil || o.Actions.Download.Href == "" {
		// The upstream's tree names content it cannot serve: its
		// problem, and not a "not found" for the client to remember.
		return lfsHref{}, u.errorf(hub.ErrUpstreamInvalid, "cannot serve LFS object %s", oid)
	}
	d := o.Actions.Download
	h = lfsHref{url: d.Href, header: d.Header, expires: now.Add(50 * time.Minute)}
	if d.ExpiresIn > 0 {
		h.expires = now.Add(time.Duration(d.ExpiresIn)*time.Second*4/5 - 30*time.Second)
	}
	u.mu.Lock()
	if u.hrefs == nil || len(u.hrefs) > 10_000 {
		u.hrefs = map[string]lfsHref{}
	}
	u.hrefs[oid] = h
	u.mu.Unlock()
	return h, nil
}

// forgetHref drops a cached download URL that failed.
func (u *upstream) forgetHref(oid string) {
	u.mu.Lock()
	delete(u.hrefs, oid)
	u.mu.Unlock()
}

// getContent starts downloading bytes [from, size) of oid (or from from
// to to, exclusive, when to > 0). The body is the caller's to close.
func (u *upstream) getContent(ctx context.Context, ref hub.RepoRef, oid string, size, from, to int64) (io.ReadCloser, error) {
	h, err := u.lfsHref(ctx, ref, oid, size)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		u.forgetHref(oid)
		return nil, u.errorf(hub.ErrUpstreamInvalid, "bad download URL for %s", oid)
	}
	for k, v := range h.header {
		req.Header.Set(k, v)
	}
	ranged := from > 0 || to > 0 && to < size
	if ranged {
		if to > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to-1))
		} else {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
		}
	}
	// The signed URL carries its own authorisation; the service token is
	// sent only to the upstream itself (a redirect elsewhere drops it).
	sameHost := req.URL.Host == mustHost(u.URL)
	auth := authBearer
	if !sameHost || len(h.header) > 0 {
		auth = authNone
	}
	// The answer's headers must come within the timeout; the body may
	// take as long as it keeps moving (callers watch it).
	hctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(u.m.cfg.Timeout, cancel)
	resp, err := u.do(hctx, req.WithContext(hctx), auth)
	if !timer.Stop() && err != nil {
		err = u.errorf(hub.ErrUpstreamTimeout, "no answer in time for %s", oid)
	}
	if err != nil {
		cancel()
		u.forgetHref(oid)
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	if ranged {
		if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", from)) {
			resp.Body.Close()
			return nil, u.errorf(hub.ErrUpstreamInvalid, "ignored a range request for %s", oid)
		}
	} else if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, u.errorf(hub.ErrUpstreamInvalid, "answered %d for %s", resp.StatusCode, oid)
	}
	return resp.Body, nil
}

func mustHost(raw string) string {
	p, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return p.Host
}

// cancelOnClose ends a request's context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
