package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/fsck"
)

// Git's own object rules (`git fsck --strict`, which is what clients with
// transfer.fsckObjects apply to every clone and fetch) at the doors where
// objects come in: a push checks every object of its pack, the commit API
// checks what it builds from user input. Tree names are checked by
// gitobj.ValidatePath, which follows the same rules.

// checkPackObjects applies git's object rules to every object of a pushed
// pack, reachable or not (as receive.fsckObjects does), and to the
// .gitmodules and .gitattributes blobs its trees name, in the pack or
// already stored. It returns the reason to refuse the push, "" if none.
func checkPackObjects(ctx context.Context, objs *objects, pack *PushPack) (string, error) {
	ids := make([]gitobj.ID, 0, len(pack.Objects))
	for id := range pack.Objects {
		ids = append(ids, id)
	}
	// The same push is refused with the same message every time.
	slices.SortFunc(ids, func(a, b gitobj.ID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		ob := pack.Objects[id]
		specials, err := fsck.CheckObject(ob)
		if err != nil {
			return fmt.Sprintf("git fsck refuses %s %s: %v", ob.Kind, id, err), nil
		}
		for _, sp := range specials {
			where := fmt.Sprintf("%s %q of tree %s", sp.File, sp.Name, id)
			if _, big := pack.Oversized[sp.ID]; big {
				return fmt.Sprintf("git fsck refuses %s: %v", where, sp.TooLarge()), nil
			}
			so, err := objs.get(ctx, sp.ID)
			if errors.Is(err, errCorrupt) {
				continue // missing: the connectivity check refuses it if it is reachable
			}
			if err != nil {
				return "", fmt.Errorf("push: read %s: %w", sp.ID, err)
			}
			if err := sp.Check(so); err != nil {
				return fmt.Sprintf("git fsck refuses %s: %v", where, err), nil
			}
		}
	}
	return "", nil
}

// checkCommitMessage refuses a message that git's fsck refuses in a
// commit (nulInCommit): git's tools would also cut it at the NUL.
func checkCommitMessage(msg string) error {
	if strings.IndexByte(msg, 0) >= 0 {
		return errorf(ErrInvalid, "The commit message contains a NUL byte, which git does not accept")
	}
	return nil
}

// checkFileContent refuses content for path that git's fsck would refuse:
// path names a .gitmodules or .gitattributes (under any name a checkout
// writes to those files) and blob breaks its rules. Other paths pass.
func checkFileContent(filePath string, blob gitobj.Object) error {
	if blob.Kind != gitobj.KindBlob {
		return nil
	}
	f, ok := fsck.IsSpecial(filePath)
	if !ok {
		return nil
	}
	sp := fsck.Special{File: f, Name: path.Base(filePath), ID: blob.ID()}
	if err := sp.Check(blob); err != nil {
		return errorf(ErrInvalid, "Invalid %s file %s: %v", f, filePath, err)
	}
	return nil
}
