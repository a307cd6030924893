package hub

import (
	"strings"

	"github.com/agorahub/agora/internal/formats/card"
)

// readmePath is the card the Hub checks at commit time: only the root
// README.md, with that exact spelling.
const readmePath = "README.md"

// checkCardMetadata refuses a README.md whose metadata the Hub would
// refuse, with the same checks as /api/validate-yaml ([card.Validate]).
// Warnings, such as a card without metadata, never refuse a commit. The
// message is what huggingface_hub shows when its own pre-upload check
// fails, "Invalid metadata in README.md." and one "- " line per problem,
// so that a client skipping that check (or git) reads the same text.
//
// Front matter that is not YAML at all is the one exception: such a card
// is kept and its error shown (cardError), since refusing it would lose
// the README of repositories imported from elsewhere; only metadata that
// parses but breaks the Hub's schema is refused.
func checkCardMetadata(repoType string, readme []byte) error {
	c := card.Parse(readme)
	if c.Err != nil {
		return nil
	}
	errs, _ := card.Validate(c, repoType)
	if len(errs) == 0 {
		return nil
	}
	return errorf(ErrInvalid, "Invalid metadata in README.md.\n- %s", strings.Join(errs, "\n- "))
}

// committedReadme returns the content a commit's operations give the root
// README.md, and false when they leave it untouched, delete it, or add it
// through LFS (the Hub does not read a card stored in LFS). Operations
// apply in order, so the last one touching the file decides.
func committedReadme(ops []CommitOp) ([]byte, bool) {
	for i := len(ops) - 1; i >= 0; i-- {
		op := ops[i]
		switch op.Kind {
		case OpFile:
			if op.Path == readmePath {
				return op.Content, true
			}
		case OpLFSFile, OpDeleteFile:
			if op.Path == readmePath {
				return nil, false
			}
		}
	}
	return nil, false
}
