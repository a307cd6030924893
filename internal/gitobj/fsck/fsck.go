package fsck

import (
	"fmt"

	"github.com/agorahub/agora/internal/gitobj"
)

// MsgID names a check as git does in its messages and in fsck.<msgId>
// configuration ("hasDotgit", "treeNotSorted"…).
type MsgID string

// The checks, under git's names. Each [Error] carries one.
const (
	// Object headers (commits and tags).
	NulInHeader        MsgID = "nulInHeader"
	UnterminatedHeader MsgID = "unterminatedHeader"

	// Trees.
	BadTree            MsgID = "badTree"
	BadFilemode        MsgID = "badFilemode"
	DuplicateEntries   MsgID = "duplicateEntries"
	EmptyName          MsgID = "emptyName"
	FullPathname       MsgID = "fullPathname"
	HasDot             MsgID = "hasDot"
	HasDotdot          MsgID = "hasDotdot"
	HasDotgit          MsgID = "hasDotgit"
	NullSha1           MsgID = "nullSha1"
	TreeNotSorted      MsgID = "treeNotSorted"
	ZeroPaddedFilemode MsgID = "zeroPaddedFilemode"
	GitmodulesSymlink  MsgID = "gitmodulesSymlink"

	// Commits.
	MissingTree      MsgID = "missingTree"
	BadTreeSha1      MsgID = "badTreeSha1"
	BadParentSha1    MsgID = "badParentSha1"
	MissingAuthor    MsgID = "missingAuthor"
	MultipleAuthors  MsgID = "multipleAuthors"
	MissingCommitter MsgID = "missingCommitter"
	NulInCommit      MsgID = "nulInCommit"

	// Author, committer and tagger lines.
	MissingNameBeforeEmail  MsgID = "missingNameBeforeEmail"
	BadName                 MsgID = "badName"
	MissingEmail            MsgID = "missingEmail"
	MissingSpaceBeforeEmail MsgID = "missingSpaceBeforeEmail"
	BadEmail                MsgID = "badEmail"
	MissingSpaceBeforeDate  MsgID = "missingSpaceBeforeDate"
	ZeroPaddedDate          MsgID = "zeroPaddedDate"
	BadDateOverflow         MsgID = "badDateOverflow"
	BadDate                 MsgID = "badDate"
	BadTimezone             MsgID = "badTimezone"

	// Tags.
	MissingObject    MsgID = "missingObject"
	BadObjectSha1    MsgID = "badObjectSha1"
	MissingTypeEntry MsgID = "missingTypeEntry"
	MissingType      MsgID = "missingType"
	BadType          MsgID = "badType"
	MissingTagEntry  MsgID = "missingTagEntry"
	MissingTag       MsgID = "missingTag"

	// .gitmodules and .gitattributes.
	GitmodulesBlob          MsgID = "gitmodulesBlob"
	GitmodulesLarge         MsgID = "gitmodulesLarge"
	GitmodulesParse         MsgID = "gitmodulesParse"
	GitmodulesName          MsgID = "gitmodulesName"
	GitmodulesURL           MsgID = "gitmodulesUrl"
	GitmodulesPath          MsgID = "gitmodulesPath"
	GitmodulesUpdate        MsgID = "gitmodulesUpdate"
	GitattributesBlob       MsgID = "gitattributesBlob"
	GitattributesLarge      MsgID = "gitattributesLarge"
	GitattributesLineLength MsgID = "gitattributesLineLength"
)

// Error is an object git's fsck refuses. Its text is "<msgId>: <message>",
// the form git prints after the object id.
type Error struct {
	ID  MsgID
	Msg string // for people; may quote names from the object
}

func (e *Error) Error() string { return string(e.ID) + ": " + e.Msg }

func errorf(id MsgID, format string, args ...any) *Error {
	return &Error{ID: id, Msg: fmt.Sprintf(format, args...)}
}

// CheckObject checks an object of any kind, as [CheckTree], [CheckCommit]
// and [CheckTag] do. Blobs are checked only through the [Special] entries
// of the trees that name them, so a blob alone always passes.
func CheckObject(o gitobj.Object) ([]Special, error) {
	switch o.Kind {
	case gitobj.KindTree:
		return CheckTree(o.Data)
	case gitobj.KindCommit:
		return nil, CheckCommit(o.Data)
	case gitobj.KindTag:
		return nil, CheckTag(o.Data)
	case gitobj.KindBlob:
		return nil, nil
	}
	return nil, errorf(BadType, "unknown object type %d", o.Kind)
}
