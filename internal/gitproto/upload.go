package gitproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// Limits of one upload-pack request.
const (
	maxHaves   = 1 << 20
	maxPrefix  = 1 << 16
	maxDeepNot = 1 << 10
)

// protoError is a request the protocol cannot accept; it is sent to the
// client as an ERR packet.
func protoError(format string, args ...any) error {
	return &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf(format, args...)}
}

// uploadPack serves POST git-upload-pack, v0 (stateless) or v2.
func (h *Handler) uploadPack(t *target) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, _, err := h.open(w, r, t, false)
		if err != nil {
			return err
		}
		body, closeBody, err := requestBody(r)
		if err != nil {
			return err
		}
		defer closeBody()
		pr := newPktReader(io.LimitReader(body, maxRequestBody))
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		noCache(w)
		pw := &pktWriter{w: w}
		if protocolV2(r) {
			err = h.serveV2(r.Context(), g, pr, pw)
		} else {
			err = h.serveV0(r.Context(), g, pr, pw)
		}
		if err == nil {
			return nil
		}
		return h.reportERR(w, r, pw, err)
	}
}

// reportERR sends an error the git way: an ERR packet (git prints
// "remote error: …"), or nothing more once the pack has started.
func (h *Handler) reportERR(w http.ResponseWriter, r *http.Request, pw *pktWriter, err error) error {
	var started *packStarted
	if errors.As(err, &started) {
		// The pack is on its way: the client sees the sideband error, or
		// a truncated pack; log what happened.
		p := server.Classify(started.err)
		if p.Internal {
			h.lg.ErrorContext(r.Context(), "git pack failed", "req", server.RequestID(r.Context()), "err", started.err)
		}
		return nil
	}
	p := server.Classify(err)
	if p.Status == 499 {
		return nil
	}
	if p.Internal {
		h.lg.ErrorContext(r.Context(), "git upload-pack failed", "req", server.RequestID(r.Context()), "err", err)
		pw.linef("ERR internal error (request %s)", server.RequestID(r.Context()))
		return nil
	}
	pw.linef("ERR %s", oneLine(p.Msg))
	return nil
}

// packStarted wraps an error that happened after the pack started.
type packStarted struct{ err error }

func (e *packStarted) Error() string { return e.err.Error() }
func (e *packStarted) Unwrap() error { return e.err }

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func parseID(s string) (gitobj.ID, error) {
	id, err := gitobj.ParseID(s)
	if err != nil {
		return id, protoError("invalid object id %q", s)
	}
	return id, nil
}

// fetchArgs are the parsed arguments of a fetch, v0 or v2.
type fetchArgs struct {
	req        hub.FetchRequest
	haves      []gitobj.ID
	done       bool
	noProgress bool
	sideband   int // max packet size: 0 (none), 1000 or 65520
	multiAck   int // v0: 0, 1 (multi_ack) or 2 (multi_ack_detailed)
	v2         bool
}

// parseShallowArg handles the shallow-related lines common to v0 and v2.
func (a *fetchArgs) parseShallowArg(line string) (bool, error) {
	switch {
	case strings.HasPrefix(line, "shallow "):
		id, err := parseID(line[8:])
		if err != nil {
			return true, err
		}
		a.req.Shallow = append(a.req.Shallow, id)
	case strings.HasPrefix(line, "deepen "):
		n, err := strconv.Atoi(line[7:])
		if err != nil || n <= 0 {
			return true, protoError("invalid deepen: %s", line)
		}
		a.req.Depth = n
	case strings.HasPrefix(line, "deepen-since "):
		ts, err := strconv.ParseInt(line[13:], 10, 64)
		if err != nil || ts <= 0 {
			return true, protoError("invalid deepen-since: %s", line)
		}
		a.req.DeepenSince = time.Unix(ts, 0)
	case strings.HasPrefix(line, "deepen-not "):
		if len(a.req.DeepenNot) >= maxDeepNot {
			return true, protoError("too many deepen-not lines")
		}
		a.req.DeepenNot = append(a.req.DeepenNot, line[11:])
	case line == "deepen-relative":
		a.req.DeepenRelative = true
	default:
		return false, nil
	}
	if len(a.req.Shallow) > maxHaves {
		return true, protoError("too many shallow lines")
	}
	return true, nil
}

func (a *fetchArgs) check() error {
	if a.req.Depth > 0 && (!a.req.DeepenSince.IsZero() || len(a.req.DeepenNot) > 0) {
		return protoError("deepen and deepen-since (or deepen-not) cannot be used together")
	}
	if len(a.req.Wants) > hub.MaxFetchWants {
		return protoError("too many wants")
	}
	return nil
}

// serveV0 answers one stateless round of protocol v0: wants (with
// capabilities on the first), shallow/deepen lines, a flush, then haves
// ended by a flush (another round follows) or "done" (send the pack).
func (h *Handler) serveV0(ctx context.Context, g *hub.GitRepo, pr *pktReader, pw *pktWriter) error {
	var a fetchArgs
	first := true
	for {
		kind, line, err := pr.line()
		if err == io.EOF && first {
			return nil // nothing asked
		}
		if err != nil {
			return protoError("reading wants: %v", err)
		}
		if kind == pktFlush {
			break
		}
		if kind != pktData {
			return protoError("unexpected packet in wants")
		}
		if ok, err := a.parseShallowArg(line); ok {
			if err != nil {
				return err
			}
			continue
		}
		rest, ok := strings.CutPrefix(line, "want ")
		if !ok || len(rest) < 40 {
			return protoError("expected a want, got %q", line)
		}
		id, err := parseID(rest[:40])
		if err != nil {
			return err
		}
		if first {
			for c := range strings.FieldsSeq(strings.TrimPrefix(rest[40:], "\x00")) {
				switch c {
				case "multi_ack_detailed":
					a.multiAck = 2
				case "multi_ack":
					a.multiAck = max(a.multiAck, 1)
				case "side-band-64k":
					a.sideband = 65520
				case "side-band":
					a.sideband = max(a.sideband, 1000)
				case "no-progress":
					a.noProgress = true
				case "include-tag":
					a.req.IncludeTag = true
				case "deepen-relative":
					a.req.DeepenRelative = true
				}
			}
		}
		first = false
		a.req.Wants = append(a.req.Wants, id)
		if len(a.req.Wants) > hub.MaxFetchWants {
			return protoError("too many wants")
		}
	}
	if len(a.req.Wants) == 0 {
		return nil
	}
	if err := a.check(); err != nil {
		return err
	}
	if a.req.Deepens() {
		plan, err := g.PlanShallow(ctx, a.req)
		if err != nil {
			return err
		}
		for _, id := range plan.Shallow {
			pw.linef("shallow %s", id)
		}
		for _, id := range plan.Unshallow {
			pw.linef("unshallow %s", id)
		}
		pw.flush()
	}
	// Haves, up to a flush (end of this round) or "done". A request that
	// ends with the wants only asked for the shallow list (git sends it
	// alone first when deepening).
	for n := 0; ; n++ {
		kind, line, err := pr.line()
		if err == io.EOF {
			if n == 0 {
				return pw.err
			}
			break
		}
		if err != nil {
			return protoError("reading haves: %v", err)
		}
		if kind == pktFlush {
			continue
		}
		if line == "done" {
			a.done = true
			break
		}
		rest, ok := strings.CutPrefix(line, "have ")
		if !ok {
			return protoError("expected a have, got %q", line)
		}
		id, err := parseID(rest)
		if err != nil {
			return err
		}
		if len(a.haves) >= maxHaves {
			return protoError("too many haves")
		}
		a.haves = append(a.haves, id)
	}
	common, err := g.Common(ctx, a.haves)
	if err != nil {
		return err
	}
	for i, id := range common {
		switch a.multiAck {
		case 2:
			pw.linef("ACK %s common", id)
		case 1:
			pw.linef("ACK %s continue", id)
		default:
			if i == 0 {
				pw.linef("ACK %s", id)
			}
		}
	}
	if !a.done {
		if a.multiAck > 0 || len(common) == 0 {
			pw.linef("NAK")
		}
		return pw.err
	}
	switch {
	case len(common) == 0:
		pw.linef("NAK")
	case a.multiAck > 0:
		pw.linef("ACK %s", common[len(common)-1])
	}
	a.req.Haves = common
	return h.sendPack(ctx, g, pw, a)
}

// serveV2 answers one protocol v2 command.
func (h *Handler) serveV2(ctx context.Context, g *hub.GitRepo, pr *pktReader, pw *pktWriter) error {
	command := ""
	for {
		kind, line, err := pr.line()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return protoError("reading command: %v", err)
		}
		if kind == pktDelim {
			break
		}
		if kind == pktFlush {
			if command == "" {
				return nil
			}
			break
		}
		if c, ok := strings.CutPrefix(line, "command="); ok {
			command = c
		}
		if of, ok := strings.CutPrefix(line, "object-format="); ok && of != "sha1" {
			return protoError("unsupported object format %s", of)
		}
	}
	switch command {
	case "ls-refs":
		return h.lsRefs(ctx, g, pr, pw)
	case "fetch":
		return h.fetchV2(ctx, g, pr, pw)
	}
	return protoError("unknown command %q", command)
}

// lsRefs answers the v2 ls-refs command.
func (h *Handler) lsRefs(ctx context.Context, g *hub.GitRepo, pr *pktReader, pw *pktWriter) error {
	var peel, symrefs bool
	var prefixes []string
	for {
		kind, line, err := pr.line()
		if err == io.EOF || kind == pktFlush {
			break
		}
		if err != nil {
			return protoError("reading ls-refs: %v", err)
		}
		switch {
		case line == "peel":
			peel = true
		case line == "symrefs":
			symrefs = true
		case strings.HasPrefix(line, "ref-prefix "):
			prefixes = append(prefixes, line[11:])
		}
	}
	if len(prefixes) > maxPrefix {
		prefixes = nil // as git: too many to be worth filtering
	}
	match := func(name string) bool {
		if len(prefixes) == 0 {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	head, refs, err := g.Refs(ctx)
	if err != nil {
		return err
	}
	if head != "" && match("HEAD") {
		for _, rf := range refs {
			if rf.Name == head {
				l := rf.ID.String() + " HEAD"
				if symrefs {
					l += " symref-target:" + head
				}
				pw.linef("%s", l)
			}
		}
	}
	for _, rf := range refs {
		if !match(rf.Name) {
			continue
		}
		l := rf.ID.String() + " " + rf.Name
		if peel && !rf.Peeled.IsZero() {
			l += " peeled:" + rf.Peeled.String()
		}
		pw.linef("%s", l)
	}
	pw.flush()
	return pw.err
}

// fetchV2 answers the v2 fetch command.
func (h *Handler) fetchV2(ctx context.Context, g *hub.GitRepo, pr *pktReader, pw *pktWriter) error {
	a := fetchArgs{sideband: 65520, v2: true}
	for {
		kind, line, err := pr.line()
		if err == io.EOF || kind == pktFlush {
			break
		}
		if err != nil {
			return protoError("reading fetch: %v", err)
		}
		if ok, err := a.parseShallowArg(line); ok {
			if err != nil {
				return err
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "want "):
			id, err := parseID(line[5:])
			if err != nil {
				return err
			}
			if len(a.req.Wants) >= hub.MaxFetchWants {
				return protoError("too many wants")
			}
			a.req.Wants = append(a.req.Wants, id)
		case strings.HasPrefix(line, "have "):
			id, err := parseID(line[5:])
			if err != nil {
				return err
			}
			if len(a.haves) >= maxHaves {
				return protoError("too many haves")
			}
			a.haves = append(a.haves, id)
		case line == "done":
			a.done = true
		case line == "no-progress":
			a.noProgress = true
		case line == "include-tag":
			a.req.IncludeTag = true
		case line == "thin-pack", line == "ofs-delta":
			// Full objects only: every client reads those.
		case strings.HasPrefix(line, "filter "):
			return protoError("filter is not supported")
		case strings.HasPrefix(line, "want-ref "):
			return protoError("want-ref is not supported")
		}
	}
	if err := a.check(); err != nil {
		return err
	}
	common, err := g.Common(ctx, a.haves)
	if err != nil {
		return err
	}
	if !a.done {
		pw.linef("acknowledgments")
		if len(common) == 0 {
			pw.linef("NAK")
		}
		for _, id := range common {
			pw.linef("ACK %s", id)
		}
		pw.flush()
		return pw.err
	}
	a.req.Haves = common
	return h.sendPack(ctx, g, pw, a)
}

// sendPack plans the fetch and streams the pack: in v2 with the
// shallow-info and packfile sections, in v0 after the ACK/NAK lines.
func (h *Handler) sendPack(ctx context.Context, g *hub.GitRepo, pw *pktWriter, a fetchArgs) error {
	plan, err := g.PlanFetch(ctx, a.req)
	if err != nil {
		return err
	}

	if a.v2 {
		if a.req.Deepens() || len(plan.Shallow) > 0 || len(plan.Unshallow) > 0 {
			pw.linef("shallow-info")
			for _, id := range plan.Shallow {
				pw.linef("shallow %s", id)
			}
			for _, id := range plan.Unshallow {
				pw.linef("unshallow %s", id)
			}
			pw.delim()
		}
		pw.linef("packfile")
	}
	if pw.err != nil {
		return pw.err
	}
	var dst io.Writer = pw.w
	if a.sideband > 0 {
		dst = &sideband{pw: pw, band: 1, max: a.sideband}
	}
	if err := h.writePack(ctx, g, dst, plan.Objects); err != nil {
		if a.sideband > 0 && pw.err == nil {
			msg := "internal error"
			if p := server.Classify(err); !p.Internal {
				msg = p.Msg
			}
			(&sideband{pw: pw, band: 3, max: a.sideband}).Write([]byte(oneLine(msg) + "\n"))
		}
		return &packStarted{err: err}
	}
	if a.sideband > 0 {
		pw.flush()
	}
	return pw.err
}
