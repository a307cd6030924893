package main

import (
	"fmt"
	"time"

	"github.com/agorahub/agora/internal/limits"
	"github.com/agorahub/agora/internal/server"
)

// limitFlags are serve's flags against slow clients and heavy callers.
type limitFlags struct {
	readHeader, idle, bodyIdle, writeIdle *time.Duration
	maxHeader, connsPerIP                 *int64
	anon, user                            *ratesValue
	window                                *time.Duration
}

func addLimitFlags(f *flags) *limitFlags {
	def := limits.DefaultConfig()
	lf := &limitFlags{
		readHeader: f.duration("read-header-timeout", server.DefaultReadHeaderTimeout, "longest time a client may take to send a request's headers"),
		idle:       f.duration("idle-timeout", server.DefaultIdleTimeout, "how long an idle keep-alive connection stays open"),
		bodyIdle:   f.duration("body-idle-timeout", server.DefaultBodyIdleTimeout, "longest wait for a request body to progress by 16KiB (0 = none)"),
		writeIdle:  f.duration("write-idle-timeout", server.DefaultWriteIdleTimeout, "longest wait for a client to take the next piece of a response (0 = none)"),
		maxHeader:  f.size("max-header-bytes", server.DefaultMaxHeaderBytes, "largest request header block"),
		connsPerIP: f.size("max-conns-per-ip", server.DefaultMaxConnsPerIP, "open connections allowed per client address; more are closed at accept (0 = no cap; behind a proxy, the proxy is one address)"),
		anon:       &ratesValue{def.Anonymous},
		user:       &ratesValue{def.User},
		window:     f.duration("rate-window", def.Window, "window the rate limits count requests in"),
	}
	f.value(lf.anon, "rate-limit-anon", "requests per window and client address without credentials: api=N,resolvers=N,pages=N (0 = unlimited) or off")
	f.value(lf.user, "rate-limit-user", "requests per window and signed-in user (administrators are exempt): api=N,resolvers=N,pages=N or off")
	return lf
}

// apply fills cfg's limits and returns the rate limiter's configuration.
func (lf *limitFlags) apply(cfg *server.Config) (limits.Config, error) {
	if *lf.readHeader <= 0 || *lf.idle <= 0 {
		return limits.Config{}, fmt.Errorf("--read-header-timeout and --idle-timeout must be positive")
	}
	if *lf.maxHeader < 4<<10 || *lf.maxHeader > 16<<20 {
		return limits.Config{}, fmt.Errorf("--max-header-bytes must be between 4KiB and 16MiB")
	}
	if *lf.window < time.Second || *lf.window%time.Second != 0 {
		return limits.Config{}, fmt.Errorf("--rate-window must be a whole number of seconds")
	}
	cfg.ReadHeaderTimeout, cfg.IdleTimeout = *lf.readHeader, *lf.idle
	cfg.BodyIdleTimeout, cfg.WriteIdleTimeout = *lf.bodyIdle, *lf.writeIdle
	cfg.MaxHeaderBytes, cfg.MaxConnsPerIP = int(*lf.maxHeader), int(*lf.connsPerIP)
	lc := limits.DefaultConfig()
	lc.Window, lc.Anonymous, lc.User = *lf.window, lf.anon.r, lf.user.r
	return lc, nil
}

// on reports whether any rate limit is set.
func (lf *limitFlags) on() bool {
	return lf.anon.r != (limits.Rates{}) || lf.user.r != (limits.Rates{})
}

type ratesValue struct{ r limits.Rates }

func (v *ratesValue) String() string { return v.r.String() }
func (v *ratesValue) Set(s string) error {
	r, err := limits.ParseRates(s, v.r)
	if err != nil {
		return err
	}
	v.r = r
	return nil
}
