package mirror

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
)

// The client side of git's smart-HTTP protocol v2 (gitprotocol-v2(5)),
// just what a mirror needs: ls-refs and a fetch of whole objects. Both
// huggingface.co and Agora serve it; fetching the upstream's own objects
// is what keeps commit ids and tree entries identical.

// pkt appends a pkt-line.
func pkt(b *bytes.Buffer, s string) { fmt.Fprintf(b, "%04x%s", len(s)+4, s) }

const (
	pktFlush = "0000"
	pktDelim = "0001"
)

// pktReader reads pkt-lines from an upstream answer.
type pktReader struct {
	r   *bufio.Reader
	buf []byte
}

func newPktReader(r io.Reader) *pktReader {
	return &pktReader{r: bufio.NewReaderSize(r, 64<<10), buf: make([]byte, 65520)}
}

// Packet kinds.
const (
	kindData = iota
	kindFlush
	kindDelim
	kindEnd
)

// next reads one packet; the payload is valid until the next call.
func (p *pktReader) next() (int, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	var n int
	for _, c := range hdr {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, nil, fmt.Errorf("bad pkt-line length %q", hdr[:])
		}
		n = n<<4 | int(v)
	}
	switch {
	case n == 0:
		return kindFlush, nil, nil
	case n == 1:
		return kindDelim, nil, nil
	case n == 2:
		return kindEnd, nil, nil
	case n < 4 || n > len(p.buf):
		return 0, nil, fmt.Errorf("bad pkt-line length %d", n)
	}
	b := p.buf[:n-4]
	if _, err := io.ReadFull(p.r, b); err != nil {
		return 0, nil, io.ErrUnexpectedEOF
	}
	return kindData, b, nil
}

// upstreamRef is one ref the upstream advertises.
type upstreamRef struct {
	Name   string
	Target gitobj.ID
}

// gitURL is the upstream's git endpoint of ref.
func (u *upstream) gitURL(ref hub.RepoRef) string {
	return u.URL + "/" + repoPath(ref) + ".git"
}

// checkV2 reads the capability advertisement: the upstream must speak v2.
func (u *upstream) checkV2(ctx context.Context, ref hub.RepoRef) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.gitURL(ref)+"/info/refs?service=git-upload-pack", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Git-Protocol", "version=2")
	resp, err := u.do(ctx, req, authBasic)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	pr := newPktReader(io.LimitReader(resp.Body, 1<<20))
	for {
		k, b, err := pr.next()
		if err != nil {
			return u.errorf(hub.ErrUpstreamInvalid, "git: unreadable capability advertisement")
		}
		if k == kindData && strings.TrimSpace(string(b)) == "version 2" {
			return nil
		}
		if k == kindData && strings.HasPrefix(string(b), "# service=") {
			continue
		}
		if k == kindFlush {
			continue
		}
		return u.errorf(hub.ErrUpstreamInvalid, "git: the upstream does not speak protocol v2")
	}
}

// post sends one v2 command.
func (u *upstream) post(ctx context.Context, ref hub.RepoRef, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.gitURL(ref)+"/git-upload-pack", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Git-Protocol", "version=2")
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Accept", "application/x-git-upload-pack-result")
	return u.do(ctx, req, authBasic)
}

// lsRefs lists the upstream's refs (branches, tags, pull requests,
// conversions) and the branch HEAD names.
func (u *upstream) lsRefs(ctx context.Context, ref hub.RepoRef) (refs []upstreamRef, head string, err error) {
	ctx, cancel := context.WithTimeout(ctx, u.m.cfg.Timeout)
	defer cancel()
	if err := u.checkV2(ctx, ref); err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	pkt(&b, "command=ls-refs\n")
	pkt(&b, "agent=agora-mirror/1\n")
	b.WriteString(pktDelim)
	pkt(&b, "symrefs\n")
	pkt(&b, "ref-prefix HEAD\n")
	pkt(&b, "ref-prefix refs/\n")
	b.WriteString(pktFlush)
	resp, err := u.post(ctx, ref, b.Bytes())
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	pr := newPktReader(io.LimitReader(resp.Body, 64<<20))
	for {
		k, line, err := pr.next()
		if err != nil {
			return nil, "", u.errorf(hub.ErrUpstreamInvalid, "git: truncated ref listing")
		}
		if k == kindFlush {
			return refs, head, nil
		}
		if k != kindData {
			continue
		}
		s := strings.TrimSuffix(string(line), "\n")
		if rest, ok := strings.CutPrefix(s, "ERR "); ok {
			return nil, "", u.errorf(hub.ErrUpstreamInvalid, "git: %s", rest)
		}
		fields := strings.Fields(s)
		if len(fields) < 2 {
			return nil, "", u.errorf(hub.ErrUpstreamInvalid, "git: bad ref line")
		}
		id, err := gitobj.ParseID(fields[0])
		if err != nil {
			return nil, "", u.errorf(hub.ErrUpstreamInvalid, "git: bad ref line")
		}
		if fields[1] == "HEAD" {
			for _, attr := range fields[2:] {
				if t, ok := strings.CutPrefix(attr, "symref-target:"); ok {
					head = t
				}
			}
			continue
		}
		if !validRefName(fields[1]) {
			continue // nothing the hub can hold
		}
		refs = append(refs, upstreamRef{Name: fields[1], Target: id})
	}
}

// validRefName accepts the refs a hub keeps.
func validRefName(name string) bool {
	for _, p := range []string{"refs/heads/", "refs/tags/", "refs/pr/", "refs/convert/"} {
		if strings.HasPrefix(name, p) && len(name) > len(p) && !strings.Contains(name, "..") &&
			!strings.ContainsAny(name, " ~^:?*[\\\x00\x7f") && !strings.HasSuffix(name, "/") && !strings.HasSuffix(name, ".lock") {
			return true
		}
	}
	return false
}

// packLimits bound what one fetch may bring: git objects of models are
// small (weights are LFS), so these are generous.
var packLimits = packfile.Limits{MaxPackSize: 4 << 30, MaxObjects: 4 << 20, MaxObjectSize: 256 << 20, MaxMemory: 4 << 30, MaxOversized: 1}

// fetchPack fetches the objects reachable from wants that haves do not
// reach, as whole objects (no thin pack): every id is computed from the
// bytes received, so nothing the upstream sends can pass for another
// object.
func (u *upstream) fetchPack(ctx context.Context, ref hub.RepoRef, wants, haves []gitobj.ID, base packfile.BaseFunc) (*packfile.Pack, error) {
	var b bytes.Buffer
	pkt(&b, "command=fetch\n")
	pkt(&b, "agent=agora-mirror/1\n")
	b.WriteString(pktDelim)
	pkt(&b, "no-progress\n")
	pkt(&b, "ofs-delta\n")
	for _, id := range wants {
		pkt(&b, "want "+id.String()+"\n")
	}
	for _, id := range haves {
		pkt(&b, "have "+id.String()+"\n")
	}
	pkt(&b, "done\n")
	b.WriteString(pktFlush)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := u.post(ctx, ref, b.Bytes())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body := newIdleReader(resp.Body, u.m.cfg.Timeout, cancel)
	defer body.stop()
	pr := newPktReader(body)
	for {
		k, line, err := pr.next()
		if err != nil {
			return nil, u.packError(err)
		}
		if k != kindData {
			continue
		}
		s := strings.TrimSuffix(string(line), "\n")
		if rest, ok := strings.CutPrefix(s, "ERR "); ok {
			return nil, u.errorf(hub.ErrUpstreamInvalid, "git: %s", rest)
		}
		if s == "packfile" {
			break
		}
	}
	pack, err := packfile.Read(&sidebandReader{pr: pr, u: u}, packLimits, base)
	if err != nil {
		return nil, u.packError(err)
	}
	if len(pack.Oversized) > 0 {
		return nil, u.errorf(hub.ErrUpstreamInvalid, "git: an object larger than %d bytes", packLimits.MaxObjectSize)
	}
	u.m.cfg.Metrics.upstreamBytes(pack.Bytes)
	return pack, nil
}

func (u *upstream) packError(err error) error {
	if he, ok := hub.AsError(err); ok {
		return he
	}
	if errors.Is(err, errIdle) {
		return u.errorf(hub.ErrUpstreamTimeout, "git: the transfer stalled")
	}
	return &hub.Error{Kind: hub.ErrUpstreamInvalid, Msg: "upstream " + u.Name + ": git: bad pack", Err: err}
}

// sidebandReader demultiplexes the packfile section: band 1 is the pack,
// 2 progress, 3 a fatal error.
type sidebandReader struct {
	pr  *pktReader
	u   *upstream
	buf []byte
}

func (s *sidebandReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		k, b, err := s.pr.next()
		if err != nil {
			if err == io.EOF {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if k == kindFlush {
			return 0, io.EOF
		}
		if k != kindData || len(b) == 0 {
			continue
		}
		switch b[0] {
		case 1:
			s.buf = append(s.buf[:0], b[1:]...)
		case 2:
		case 3:
			return 0, s.u.errorf(hub.ErrUpstreamInvalid, "git: %s", strings.TrimSpace(string(b[1:])))
		default:
			return 0, fmt.Errorf("bad sideband %d", b[0])
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}
