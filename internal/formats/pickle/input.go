package pickle

import (
	"bytes"
	"errors"
	"io"
)

// retainMax is the longest string or line whose content is kept. Longer
// arguments are skipped and become opaque values: nothing a scanner needs
// (module and attribute names, persistent-id tags, joblib array metadata)
// is legitimately that long.
const retainMax = 64 << 10

const (
	firstChunk = 1 << 10 // small first read: most blobs sniffed are not pickles
	maxChunk   = 64 << 10
)

// errTruncated is returned by input methods when the stream ends inside an
// argument; the machine turns it into a [*SyntaxError].
var errTruncated = errors.New("truncated")

// input is a buffered reader that tracks the stream offset, enforces the
// byte budget, and skips long payloads by seeking when it can.
type input struct {
	r      io.Reader
	seeker io.Seeker
	buf    []byte
	rpos   int
	wpos   int
	off    int64 // stream offset of buf[rpos]
	size   int64 // stream size, or -1 if unknown
	chunk  int
	err    error // sticky error from r (io.EOF included)

	maxBytes int64
	exempt   int64 // bytes consumed that do not count against maxBytes
}

func newInput(r io.Reader, size int64, maxBytes int64) *input {
	in := &input{r: r, size: -1, chunk: firstChunk, maxBytes: maxBytes}
	if size > 0 {
		in.size = size
	}
	if s, ok := r.(io.Seeker); ok {
		in.seeker = s
		if in.size < 0 {
			if cur, err := s.Seek(0, io.SeekCurrent); err == nil {
				if end, err := s.Seek(0, io.SeekEnd); err == nil {
					if _, err := s.Seek(cur, io.SeekStart); err == nil {
						in.size = end - cur
					} else {
						in.seeker = nil
						in.err = err
					}
				}
			}
		}
	}
	return in
}

// remaining returns the bytes left in the stream, or -1 if unknown.
func (in *input) remaining() int64 {
	if in.size < 0 {
		return -1
	}
	return in.size - in.off
}

// charge checks that consuming n more bytes stays within the budget.
func (in *input) charge(n int64) error {
	if in.off-in.exempt+n > in.maxBytes {
		return &LimitError{Limit: "bytes", Offset: in.off}
	}
	return nil
}

// fill makes at least n bytes available in buf, or returns the reader's
// error (io.EOF at the end). n is at most maxChunk.
func (in *input) fill(n int) error {
	if in.wpos-in.rpos >= n {
		return nil
	}
	if in.rpos > 0 {
		copy(in.buf, in.buf[in.rpos:in.wpos])
		in.wpos -= in.rpos
		in.rpos = 0
	}
	want := max(n, in.chunk)
	if in.chunk < maxChunk {
		in.chunk *= 2
	}
	if cap(in.buf) < want {
		nb := make([]byte, want)
		copy(nb, in.buf[:in.wpos])
		in.buf = nb
	}
	in.buf = in.buf[:cap(in.buf)]
	for in.wpos < n {
		if in.err != nil {
			return in.err
		}
		k, err := in.r.Read(in.buf[in.wpos:])
		in.wpos += k
		if err != nil {
			in.err = err
		} else if k == 0 {
			// A reader returning 0, nil repeatedly would spin; treat it
			// as an error after the first time.
			in.err = io.ErrNoProgress
		}
	}
	return nil
}

// peekByte returns the next byte without consuming it.
func (in *input) peekByte() (byte, error) {
	if err := in.fill(1); err != nil {
		return 0, err
	}
	return in.buf[in.rpos], nil
}

func (in *input) readByte() (byte, error) {
	if err := in.charge(1); err != nil {
		return 0, err
	}
	if err := in.fill(1); err != nil {
		if err == io.EOF {
			return 0, errTruncated
		}
		return 0, err
	}
	b := in.buf[in.rpos]
	in.rpos++
	in.off++
	return b, nil
}

// readFixed reads n <= 8 bytes; the slice is valid until the next call.
func (in *input) readFixed(n int) ([]byte, error) {
	if err := in.charge(int64(n)); err != nil {
		return nil, err
	}
	if err := in.fill(n); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errTruncated
		}
		return nil, err
	}
	b := in.buf[in.rpos : in.rpos+n]
	in.rpos += n
	in.off += int64(n)
	return b, nil
}

// readBytes reads an n-byte argument. It checks n against the input that
// remains and the budgets before allocating; arguments longer than
// retainMax are skipped and reported as opaque (nil data). The data may
// alias the buffer: it is valid until the next read.
func (in *input) readBytes(n int64, maxString int64) (data []byte, opaque bool, err error) {
	if n < 0 {
		return nil, false, errTruncated
	}
	if rem := in.remaining(); rem >= 0 && n > rem {
		return nil, false, errTruncated
	}
	if n > maxString {
		return nil, false, &LimitError{Limit: "string", Offset: in.off}
	}
	if err := in.charge(n); err != nil {
		return nil, false, err
	}
	if n > retainMax {
		return nil, true, in.skip(n)
	}
	if int64(in.wpos-in.rpos) >= n {
		out := in.buf[in.rpos : in.rpos+int(n) : in.rpos+int(n)]
		in.rpos += int(n)
		in.off += n
		return out, false, nil
	}
	out := make([]byte, 0, min(n, maxChunk))
	for int64(len(out)) < n {
		if err := in.fill(1); err != nil {
			if err == io.EOF {
				return nil, false, errTruncated
			}
			return nil, false, err
		}
		k := min(int64(in.wpos-in.rpos), n-int64(len(out)))
		out = append(out, in.buf[in.rpos:in.rpos+int(k)]...)
		in.rpos += int(k)
		in.off += k
	}
	return out, false, nil
}

// skip consumes n bytes without keeping them, seeking past what is not
// buffered when the reader allows it.
func (in *input) skip(n int64) error {
	buffered := int64(in.wpos - in.rpos)
	if n <= buffered {
		in.rpos += int(n)
		in.off += n
		return nil
	}
	in.rpos, in.wpos = 0, 0
	in.off += buffered
	n -= buffered
	if in.seeker != nil && in.size >= 0 {
		if n > in.size-in.off {
			return errTruncated
		}
		if _, err := in.seeker.Seek(n, io.SeekCurrent); err != nil {
			return err
		}
		in.off += n
		return nil
	}
	if in.err != nil {
		if in.err == io.EOF {
			return errTruncated
		}
		return in.err
	}
	k, err := io.CopyN(io.Discard, in.r, n)
	in.off += k
	if err != nil {
		if err == io.EOF {
			in.err = io.EOF
			return errTruncated
		}
		in.err = err
		return err
	}
	return nil
}

// readLine reads through the next '\n' and returns the line without it.
// Lines longer than retainMax are consumed and reported as opaque; a line
// longer than maxString exhausts the budget. A stream that ends before the
// newline is truncated, as for the C unpickler.
func (in *input) readLine(maxString int64) (line []byte, opaque bool, err error) {
	var out []byte
	var n int64
	for {
		if err := in.fill(1); err != nil {
			if err == io.EOF {
				return nil, false, errTruncated
			}
			return nil, false, err
		}
		avail := in.buf[in.rpos:in.wpos]
		i := bytes.IndexByte(avail, '\n')
		take := len(avail)
		if i >= 0 {
			take = i + 1
		}
		seg := avail[:take]
		if i >= 0 {
			seg = avail[:i]
		}
		if n+int64(len(seg)) > maxString {
			return nil, false, &LimitError{Limit: "string", Offset: in.off}
		}
		if err := in.charge(int64(take)); err != nil {
			return nil, false, err
		}
		if !opaque {
			if n+int64(len(seg)) > retainMax {
				opaque, out = true, nil
			} else {
				out = append(out, seg...)
			}
		}
		n += int64(len(seg))
		in.rpos += take
		in.off += int64(take)
		if i >= 0 {
			if out == nil && !opaque {
				out = []byte{}
			}
			return out, opaque, nil
		}
	}
}
