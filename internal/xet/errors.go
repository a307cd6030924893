package xet

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is wrapped by every error that reports malformed input or
	// content that fails verification, as opposed to an I/O error from a
	// reader or an error returned by an [IndexSource]. The CAS service
	// answers it with 400.
	ErrInvalid = errors.New("invalid xet data")

	// ErrHashMismatch is wrapped, together with [ErrInvalid], by errors
	// that report content whose hash is not the one it was named by.
	ErrHashMismatch = errors.New("hash mismatch")

	// ErrTooLarge is wrapped, together with [ErrInvalid], by errors that
	// report input exceeding a size or count limit. The CAS service may
	// answer it with 413 rather than 400.
	ErrTooLarge = errors.New("too large")

	// ErrRangeNotSatisfiable is returned by [PlanReconstruction] for a
	// range that starts at or past the end of the file (HTTP 416).
	ErrRangeNotSatisfiable = errors.New("range not satisfiable")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func mismatch(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalid, ErrHashMismatch, fmt.Sprintf(format, args...))
}

func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalid, ErrTooLarge, fmt.Sprintf(format, args...))
}
