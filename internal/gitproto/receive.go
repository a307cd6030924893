package gitproto

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// maxCommands bounds the ref updates of one push.
const maxCommands = 10_000

// drainLimit is how much of a refused push's body is read (so that the
// client reads the answer instead of a broken pipe) before giving up.
const drainLimit = 64 << 20

// receivePack serves POST git-receive-pack: ref update commands, then the
// pack; the answer is report-status.
func (h *Handler) receivePack(t *target) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		g, _, err := h.open(w, r, t, true)
		if err != nil {
			return err
		}
		if r.ContentLength > h.cfg.MaxPushSize+1<<20 {
			return &hub.Error{Kind: hub.ErrTooLarge, Msg: fmt.Sprintf("This push is %d bytes: pushes are limited to %d bytes by this hub (push fewer commits at a time, and track large files with git lfs)", r.ContentLength, h.cfg.MaxPushSize)}
		}
		body, closeBody, err := requestBody(r)
		if err != nil {
			return err
		}
		defer closeBody()
		pr := newPktReader(body)
		var cmds []hub.RefUpdate
		var caps map[string]bool
		for {
			kind, line, err := pr.line()
			if err == io.EOF && len(cmds) == 0 {
				return nil
			}
			if err != nil {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid push request: " + err.Error()}
			}
			if kind == pktFlush {
				break
			}
			if kind != pktData {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid push request"}
			}
			if strings.HasPrefix(line, "shallow ") {
				continue // the connectivity check refuses what is missing
			}
			if caps == nil {
				caps = map[string]bool{}
				if l, c, ok := strings.Cut(line, "\x00"); ok {
					line = l
					for f := range strings.FieldsSeq(c) {
						caps[f] = true
					}
				}
			}
			c, err := parseCommand(line)
			if err != nil {
				return err
			}
			if len(cmds) >= maxCommands {
				return &hub.Error{Kind: hub.ErrTooLarge, Msg: fmt.Sprintf("At most %d refs per push", maxCommands)}
			}
			cmds = append(cmds, c)
		}
		needPack := false
		for _, c := range cmds {
			if !c.New.IsZero() {
				needPack = true
			}
		}
		reasons := make([]string, len(cmds))
		unpack := "ok"
		if needPack {
			pack, err := h.readPack(r, g, pr)
			if err != nil {
				p := server.Classify(err)
				if p.Internal {
					if errors.Is(err, packfile.ErrInvalid) || errors.Is(err, packfile.ErrLimit) || errors.Is(err, packfile.ErrBaseNotFound) {
						p.Msg = err.Error()
					} else {
						return err
					}
				}
				unpack = oneLine(p.Msg)
				for i := range reasons {
					reasons[i] = "unpacker error"
				}
				// Let the client finish sending so that it reads the answer.
				io.Copy(io.Discard, io.LimitReader(pr.r, drainLimit))
			} else {
				if reasons, err = g.Push(r.Context(), cmds, pack); err != nil {
					return err
				}
			}
		} else if reasons, err = g.Push(r.Context(), cmds, nil); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
		noCache(w)
		if !caps["report-status"] {
			return nil
		}
		pw := &pktWriter{w: w}
		pw.linef("unpack %s", unpack)
		for i, c := range cmds {
			if reasons[i] == "" {
				pw.linef("ok %s", c.Name)
			} else {
				pw.linef("ng %s %s", c.Name, oneLine(reasons[i]))
			}
		}
		pw.flush()
		return nil
	}
}

// maxRefName bounds the ref name of a push command. Branch and tag names
// are at most 255 bytes (hub.ValidRefName); without a bound, 10,000
// commands of 64 KiB names (a few hundred KiB gzipped) would be held in
// memory before any of them is checked.
const maxRefName = 1024

// parseCommand parses "<old> <new> <ref>".
func parseCommand(line string) (hub.RefUpdate, error) {
	if len(line) > 82+maxRefName {
		return hub.RefUpdate{}, &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf("Invalid push command: ref name longer than %d bytes", maxRefName)}
	}
	bad := &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf("Invalid push command %q", line)}
	if len(line) < 83 || line[40] != ' ' || line[81] != ' ' {
		return hub.RefUpdate{}, bad
	}
	old, err1 := gitobj.ParseID(line[:40])
	nw, err2 := gitobj.ParseID(line[41:81])
	if err1 != nil || err2 != nil {
		return hub.RefUpdate{}, bad
	}
	return hub.RefUpdate{Name: line[82:], Old: old, New: nw}, nil
}

// readPack reads the pushed pack within the limits, resolving thin-pack
// bases against the repository.
func (h *Handler) readPack(r *http.Request, g *hub.GitRepo, pr *pktReader) (*hub.PushPack, error) {
	maxObject, maxMemory := h.hub.PushLimits()
	lim := packfile.Limits{MaxPackSize: h.cfg.MaxPushSize, MaxObjectSize: maxObject, MaxMemory: maxMemory}
	base := func(id gitobj.ID) (gitobj.Object, error) {
		o, err := g.Object(r.Context(), id)
		if errors.Is(err, hub.ErrNotFound) {
			return o, fmt.Errorf("%w: %s", packfile.ErrBaseNotFound, id)
		}
		return o, err
	}
	p, err := packfile.Read(pr.r, lim, base)
	if errors.Is(err, packfile.ErrLimit) {
		return nil, &hub.Error{Kind: hub.ErrTooLarge, Msg: fmt.Sprintf("%v (this hub accepts pushes up to %d bytes; track large files with git lfs)", err, h.cfg.MaxPushSize)}
	}
	if err != nil {
		return nil, err
	}
	out := &hub.PushPack{Objects: p.Objects, Oversized: make(map[gitobj.ID]hub.OversizedObject, len(p.Oversized))}
	for id, o := range p.Oversized {
		out.Oversized[id] = hub.OversizedObject{Kind: o.Kind, Size: o.Size}
	}
	return out, nil
}
