package fsblob

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/agorahub/agora/internal/blob"
)

// noSpace turns the file system's "full" errors into blob.ErrNoSpace: a
// full disk (ENOSPC) or a user over its quota (EDQUOT) is not a bug of the
// request that met it, and the client must be told storage is full. The
// errno stays in the message for the log.
func noSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w (%v)", blob.ErrNoSpace, err)
	}
	return err
}
