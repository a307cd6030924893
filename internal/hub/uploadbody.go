package hub

import (
	"fmt"
	"io"
)

// clientBody remembers why reading an upload's body failed, so that a
// failed copy can be told apart: the client's connection dropped or it
// stopped sending (a client error: 400, or 408 and 499 when the server
// noticed a stall or the cancellation first), or the store failed (ours).
type clientBody struct {
	r   io.Reader
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// interrupted is the answer to an upload whose body ended before its
// declared length. The writer was aborted, so nothing of it is kept.
func interrupted(oid string, err error) error {
	return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf("Upload of %s interrupted before the declared size was received: nothing was stored, retry the upload", oid), Err: err}
}
