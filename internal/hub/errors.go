package hub

import (
	"errors"
	"fmt"
	"strings"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// The domain's error kinds. Every error the Service returns to a caller
// that is not an internal failure is an [*Error] whose Kind is one of
// these; the server maps kinds to HTTP statuses in one table.
var (
	ErrNotFound = errors.New("not found")
	// ErrRepoNotFound is also what a caller gets for a private repository
	// it may not see: the two are indistinguishable.
	ErrRepoNotFound     = fmt.Errorf("repository %w", ErrNotFound)
	ErrRevisionNotFound = fmt.Errorf("revision %w", ErrNotFound)
	ErrEntryNotFound    = fmt.Errorf("entry %w", ErrNotFound)

	ErrInvalid = errors.New("invalid request")
	// ErrInvalidPath: a file path the repository cannot hold (the Hub
	// answers these with 422, not 400).
	ErrInvalidPath     = fmt.Errorf("%w: path", ErrInvalid)
	ErrConflict        = errors.New("conflict")
	ErrStaleParent     = errors.New("parent commit is not the head")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("authentication required")
	ErrTooLarge        = errors.New("too large")
	ErrUnsupported     = errors.New("not supported")
	// ErrMoved: the repository was renamed; the Error is a [*MovedError].
	ErrMoved = errors.New("repository moved")
	// ErrGated: the file is in a gated repository the caller has no
	// access to (ErrGatedSignIn when the caller is anonymous).
	ErrGated = errors.New("gated repository")
	// ErrNotGated: an access-request action on a repository that is not
	// gated (400 RepoNotGated).
	ErrNotGated    = fmt.Errorf("%w: repository not gated", ErrInvalid)
	ErrGatedSignIn = fmt.Errorf("%w: sign in", ErrGated)
	// ErrNoSpace: a store is full (507). The request was fine and may
	// succeed once an operator frees space; nothing of it was kept.
	ErrNoSpace = errors.New("storage is full")
)

// Error is a domain error: a kind, a message written for the user from
// identifiers the user supplied, and the internal cause if any (for logs).
type Error struct {
	Kind error
	Msg  string
	Err  error
	// Commit is the resolved commit of the request, when one was resolved
	// before the error (EntryNotFound answers carry it to clients).
	Commit string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap lets errors.Is see both the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// errorf returns an *Error of kind with a formatted user message.
func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// MovedError says where a renamed repository lives now.
type MovedError struct {
	Msg             string
	Namespace, Name string
}

func (e *MovedError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrMoved) true.
func (e *MovedError) Unwrap() error { return ErrMoved }

// AsError returns the domain error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	if m, ok := errors.AsType[*MovedError](err); ok {
		return &Error{Kind: ErrMoved, Msg: m.Msg}, true
	}
	return errors.AsType[*Error](err)
}

// noSpaceMsg is what a client is told when a store is full.
const noSpaceMsg = "Storage is full on this hub: nothing was stored. Ask its operator to free space, then retry"

// Domain returns err in the domain's vocabulary. Store failures that any
// write may meet and that no method translates one by one (a full disk
// or database, classified by the stores as blob.ErrNoSpace and
// meta.ErrNoSpace) become their kind here; the server calls it before
// classifying, so every route answers them alike.
func Domain(err error) error {
	if _, ok := AsError(err); ok {
		return err
	}
	if errors.Is(err, blob.ErrNoSpace) || errors.Is(err, meta.ErrNoSpace) {
		return &Error{Kind: ErrNoSpace, Msg: noSpaceMsg, Err: err}
	}
	return err
}

func repoNotFound() *Error {
	return errorf(ErrRepoNotFound, "Repository not found")
}

func revisionNotFound(rev string) *Error {
	return errorf(ErrRevisionNotFound, "Invalid rev id: %s", rev)
}

// invalidPath is the error for a path that gitobj.ValidatePath refused.
func invalidPath(path string, err error) *Error {
	return errorf(ErrInvalidPath, "Invalid path %q: %s", path, strings.TrimPrefix(err.Error(), gitobj.ErrInvalid.Error()+": "))
}
