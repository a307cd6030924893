package gitproto

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// pkt-line framing (gitprotocol-common(5)): a 4-hex-digit length that
// counts itself, then the payload. "0000" is a flush packet, "0001" a
// delimiter (protocol v2), "0002" a response end.

// maxPktPayload is the largest payload of one pkt-line (65520 - 4).
const maxPktPayload = 65516

// Packet kinds returned by [pktReader.next] besides data.
const (
	pktData = iota
	pktFlush
	pktDelim
	pktEnd
)

var errPktInvalid = errors.New("invalid pkt-line")

type pktReader struct {
	r   *bufio.Reader
	buf [maxPktPayload]byte
}

func newPktReader(r io.Reader) *pktReader {
	return &pktReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next reads one packet. The payload aliases an internal buffer valid
// until the next call. io.EOF is returned only at a packet boundary.
func (p *pktReader) next() (int, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(p.r, hdr[:]); err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("%w: truncated length", errPktInvalid)
	}
	n, ok := parseHex4(hdr)
	if !ok {
		return 0, nil, fmt.Errorf("%w: bad length %q", errPktInvalid, hdr[:])
	}
	switch {
	case n == 0:
		return pktFlush, nil, nil
	case n == 1:
		return pktDelim, nil, nil
	case n == 2:
		return pktEnd, nil, nil
	case n < 4 || n-4 > maxPktPayload:
		return 0, nil, fmt.Errorf("%w: length %d", errPktInvalid, n)
	}
	b := p.buf[:n-4]
	if _, err := io.ReadFull(p.r, b); err != nil {
		return 0, nil, fmt.Errorf("%w: truncated payload", errPktInvalid)
	}
	return pktData, b, nil
}

// line reads a data packet as text without its trailing newline; flush,
// delim and end packets give kind != pktData and "".
func (p *pktReader) line() (int, string, error) {
	k, b, err := p.next()
	if err != nil || k != pktData {
		return k, "", err
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return pktData, string(b), nil
}

func parseHex4(h [4]byte) (int, bool) {
	n := 0
	for _, c := range h {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int(v)
	}
	return n, true
}

const hexDigits = "0123456789abcdef"

// appendPkt appends payload as one pkt-line.
func appendPkt(b []byte, payload []byte) []byte {
	n := len(payload) + 4
	b = append(b, hexDigits[n>>12&0xf], hexDigits[n>>8&0xf], hexDigits[n>>4&0xf], hexDigits[n&0xf])
	return append(b, payload...)
}

// pktWriter writes pkt-lines; the first error sticks.
type pktWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (p *pktWriter) write(payload []byte) {
	if p.err != nil {
		return
	}
	if len(payload) > maxPktPayload {
		p.err = fmt.Errorf("pkt-line payload of %d bytes", len(payload))
		return
	}
	p.buf = appendPkt(p.buf[:0], payload)
	_, p.err = p.w.Write(p.buf)
}

// linef writes a text line, adding the newline.
func (p *pktWriter) linef(format string, args ...any) {
	p.write(fmt.Appendf(nil, format+"\n", args...))
}

func (p *pktWriter) flush() { p.special("0000") }
func (p *pktWriter) delim() { p.special("0001") }

func (p *pktWriter) special(s string) {
	if p.err != nil {
		return
	}
	_, p.err = io.WriteString(p.w, s)
}

// sideband writes data on band 1 (pack), 2 (progress) or 3 (fatal error)
// in packets of at most size bytes (1000 for side-band, 65520 for
// side-band-64k, including the length and band byte).
type sideband struct {
	pw   *pktWriter
	band byte
	max  int
	buf  []byte
}

func (s *sideband) Write(p []byte) (int, error) {
	n := len(p)
	chunk := s.max - 5
	for len(p) > 0 {
		m := min(len(p), chunk)
		s.buf = append(append(s.buf[:0], s.band), p[:m]...)
		s.pw.write(s.buf)
		if s.pw.err != nil {
			return 0, s.pw.err
		}
		p = p[m:]
	}
	return n, nil
}
