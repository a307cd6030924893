package mirror

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
)

// Upstream is one upstream hub as the operator configures it.
type Upstream struct {
	// Name is the operator's short name for it: lowercase letters, digits
	// and '-' ("hf").
	Name string
	// URL is the upstream's base URL ("https://huggingface.co").
	URL string
	// Token is the service token the mirror presents upstream ("":
	// anonymous). It is the operator's, never a caller's.
	Token Secret
	// Policy says which repository ids the upstream serves.
	Policy Policy
}

// Secret is a credential that never prints.
type Secret string

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("xxxxx")
}

func (s Secret) String() string { return string(s.LogValue().String()) }

// Policy is the set of repository ids an upstream serves: every id, only
// the ids matching one of a list of patterns (allow:), or every id but
// those (deny:). A pattern is a glob on the repository id
// ("meta-llama/*", "*/bert-*", "gpt2"), where '*' does not cross '/'; it
// may start with "datasets/" or "models/" to name only repositories of
// that type.
type Policy struct {
	Mode     string // "all", "allow" or "deny"
	Patterns []string
}

// ParsePolicy parses "all", "allow:P1,P2…" or "deny:P1,P2…".
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return Policy{Mode: "all"}, nil
	}
	mode, list, ok := strings.Cut(s, ":")
	if !ok || (mode != "allow" && mode != "deny") {
		return Policy{}, fmt.Errorf("policy %q: use all, allow:PATTERNS or deny:PATTERNS", s)
	}
	p := Policy{Mode: mode}
	for _, pat := range strings.Split(list, ",") {
		pat = strings.TrimSpace(pat)
		if pat == "" {
			continue
		}
		if _, err := path.Match(pat, ""); err != nil {
			return Policy{}, fmt.Errorf("policy %q: bad pattern %q", s, pat)
		}
		p.Patterns = append(p.Patterns, pat)
	}
	if len(p.Patterns) == 0 {
		return Policy{}, fmt.Errorf("policy %q: no pattern", s)
	}
	return p, nil
}

func (p Policy) String() string {
	if p.Mode == "" || p.Mode == "all" {
		return "all"
	}
	return p.Mode + ":" + strings.Join(p.Patterns, ",")
}

// Claims reports whether the policy serves repository ref.
func (p Policy) Claims(ref hub.RepoRef) bool {
	if p.Mode == "" || p.Mode == "all" {
		return true
	}
	id := strings.ToLower(ref.FullName())
	match := false
	for _, pat := range p.Patterns {
		pat = strings.ToLower(pat)
		switch {
		case strings.HasPrefix(pat, "datasets/"):
			if ref.Type != hub.TypeDataset {
				continue
			}
			pat = pat[len("datasets/"):]
		case strings.HasPrefix(pat, "models/"):
			if ref.Type != hub.TypeModel {
				continue
			}
			pat = pat[len("models/"):]
		}
		if ok, _ := path.Match(pat, id); ok {
			match = true
			break
		}
	}
	return match == (p.Mode == "allow")
}

// ParseUpstream parses NAME=URL.
func ParseUpstream(s string) (Upstream, error) {
	name, raw, ok := strings.Cut(s, "=")
	if !ok {
		return Upstream{}, fmt.Errorf("upstream %q: use NAME=URL", s)
	}
	if err := CheckName(name); err != nil {
		return Upstream{}, err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return Upstream{}, fmt.Errorf("upstream %s: %q is not an http(s) URL without credentials", name, raw)
	}
	return Upstream{Name: name, URL: strings.TrimRight(u.String(), "/"), Policy: Policy{Mode: "all"}}, nil
}

// CheckName validates an upstream name.
func CheckName(name string) error {
	if name == "" || len(name) > 32 {
		return fmt.Errorf("upstream name %q: 1 to 32 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("upstream name %q: use lowercase letters, digits and '-'", name)
		}
	}
	return nil
}

// Config configures the mirror.
type Config struct {
	// Upstreams in the order their policies are asked: the first that
	// claims a repository id serves it.
	Upstreams []Upstream
	// TTL is how long a branch or tag stays bound to the commit the
	// upstream last named (0: ask at every request).
	TTL time.Duration
	// CacheSize caps the LFS content cached per upstream, in bytes;
	// least recently used content of unpinned mirrors is evicted beyond
	// it (0: no cap).
	CacheSize int64
	// Offline serves only what is cached and never calls an upstream.
	Offline bool
	// SpoolDir holds the spool files of fills in progress (default: the
	// system's temporary directory). They are unlinked at creation, so a
	// crash leaves nothing behind.
	SpoolDir string
	// Timeout bounds an upstream call that is not a transfer, and the time
	// a transfer may go without receiving a byte (default 30s).
	Timeout time.Duration
	// Client makes the upstream calls (default: a client with the
	// defaults of http.DefaultTransport).
	Client *http.Client
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
	// Holder names this process in fill leases (default: host, pid and a
	// random suffix).
	Holder string
	// LeaseTTL is how long a fill's lease lasts without renewal (default
	// 30s); its holder renews it every third of that.
	LeaseTTL time.Duration
	// ChunkSize is the size of the pieces a fill stages for readers on
	// other replicas (default 8 MiB).
	ChunkSize int64
	// Poll is how often a reader on another replica looks for new chunks
	// (default 100ms).
	Poll time.Duration
	// Metrics receives the mirror's events (nil fields are ignored).
	Metrics Metrics
}

// Metrics are the functions the mirror reports to; cmd/agora connects
// them to /metrics.
type Metrics struct {
	// Hits and Misses count LFS downloads served from the cache and
	// those that needed the upstream.
	Hits, Misses func(float64)
	// UpstreamBytes counts bytes received from upstreams (fills and
	// ranged reads).
	UpstreamBytes func(float64)
	// FillSeconds observes how long each completed fill took.
	FillSeconds func(float64)
	// FillFailures counts fills that failed (nothing was cached).
	FillFailures func(float64)
	// Evictions and EvictedBytes count evicted objects and their bytes.
	Evictions, EvictedBytes func(float64)
	// StaleAnswers counts revisions answered from an old binding because
	// the upstream could not be asked.
	StaleAnswers func(float64)
}

func inc(f func(float64), v float64) {
	if f != nil {
		f(v)
	}
}

func (c *Config) withDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 8 << 20
	}
	if c.Poll <= 0 {
		c.Poll = 100 * time.Millisecond
	}
}

func (m Metrics) upstreamBytes(n int64) { inc(m.UpstreamBytes, float64(n)) }
