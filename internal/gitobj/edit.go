package gitobj

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// TreeReader loads the entries of a tree by id.
type TreeReader func(ctx context.Context, id ID) ([]TreeEntry, error)

// Errors returned by [Editor] operations.
var (
	// ErrPathNotFound: a delete named a path that does not exist (or has
	// the wrong type: a file deleted as a folder or the reverse).
	ErrPathNotFound = errors.New("path not found")
	// ErrPathConflict: a file would be written where a folder is, or a
	// folder where a file is.
	ErrPathConflict = errors.New("path conflict")
)

// EmptyTreeID is the id of the tree with no entries.
var EmptyTreeID = Hash(KindTree, nil)

// Editor applies file-level edits to a tree and writes the changed trees.
// Only the directories along edited paths are loaded. It is not safe for
// concurrent use.
type Editor struct {
	read TreeReader
	root *dirNode
}

type dirNode struct {
	id       ID // original id; zero for a directory created by the edit
	loaded   bool
	dirty    bool
	entries  map[string]TreeEntry
	children map[string]*dirNode
}

// NewEditor starts editing the tree root (zero or [EmptyTreeID] for an
// empty repository).
func NewEditor(read TreeReader, root ID) *Editor {
	if root == EmptyTreeID {
		root = ZeroID
	}
	return &Editor{read: read, root: &dirNode{id: root}}
}

func (e *Editor) load(ctx context.Context, n *dirNode) error {
	if n.loaded {
		return nil
	}
	n.entries = map[string]TreeEntry{}
	n.children = map[string]*dirNode{}
	if !n.id.IsZero() {
		ents, err := e.read(ctx, n.id)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", n.id, err)
		}
		for _, ent := range ents {
			n.entries[ent.Name] = ent
		}
	}
	n.loaded = true
	return nil
}

// walk returns the node of directory dir (a '/'-joined path, "" = root).
// With create, missing directories are made; otherwise a missing one yields
// nil and no error.
func (e *Editor) walk(ctx context.Context, dir string, create bool) (*dirNode, error) {
	n := e.root
	if err := e.load(ctx, n); err != nil {
		return nil, err
	}
	if dir == "" {
		return n, nil
	}
	done := ""
	for seg := range strings.SplitSeq(dir, "/") {
		if done == "" {
			done = seg
		} else {
			done += "/" + seg
		}
		child, ok := n.children[seg]
		if !ok {
			ent, exists := n.entries[seg]
			switch {
			case exists && !ent.Mode.IsTree():
				if create {
					return nil, fmt.Errorf("%w: %q is a file", ErrPathConflict, done)
				}
				return nil, nil
			case exists:
				child = &dirNode{id: ent.ID}
			case create:
				child = &dirNode{}
			default:
				return nil, nil
			}
			n.children[seg] = child
		}
		if err := e.load(ctx, child); err != nil {
			return nil, err
		}
		n = child
	}
	return n, nil
}

func splitPath(p string) (dir, base string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func (e *Editor) markDirty(ctx context.Context, dir string) error {
	n := e.root
	n.dirty = true
	if dir == "" {
		return nil
	}
	for seg := range strings.SplitSeq(dir, "/") {
		n = n.children[seg]
		if n == nil {
			return fmt.Errorf("internal: %q not opened", dir)
		}
		n.dirty = true
	}
	return nil
}

// Put writes a blob entry at path, creating parent directories. A path
// that [ValidatePath] refuses is an [ErrInvalid] error: the Editor is the
// last door before a name is written into a tree, so it never writes one
// that git's fsck would refuse.
func (e *Editor) Put(ctx context.Context, path string, mode Mode, id ID) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	dir, base := splitPath(path)
	n, err := e.walk(ctx, dir, true)
	if err != nil {
		return err
	}
	if old, ok := n.entries[base]; ok && old.Mode.IsTree() {
		return fmt.Errorf("%w: %q is a folder", ErrPathConflict, path)
	}
	n.entries[base] = TreeEntry{Mode: mode, Name: base, ID: id}
	return e.markDirty(ctx, dir)
}

// Delete removes the file at path.
func (e *Editor) Delete(ctx context.Context, path string) error {
	dir, base := splitPath(path)
	n, err := e.walk(ctx, dir, false)
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w: %q", ErrPathNotFound, path)
	}
	if ent, ok := n.entries[base]; !ok || ent.Mode.IsTree() {
		return fmt.Errorf("%w: %q", ErrPathNotFound, path)
	}
	delete(n.entries, base)
	return e.markDirty(ctx, dir)
}

// DeleteDir removes the folder at path and everything under it.
func (e *Editor) DeleteDir(ctx context.Context, path string) error {
	dir, base := splitPath(path)
	n, err := e.walk(ctx, dir, false)
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w: %q", ErrPathNotFound, path)
	}
	if ent, ok := n.entries[base]; !ok || !ent.Mode.IsTree() {
		return fmt.Errorf("%w: %q", ErrPathNotFound, path)
	}
	delete(n.entries, base)
	delete(n.children, base)
	return e.markDirty(ctx, dir)
}

// Lookup returns the entry at path as edited so far.
func (e *Editor) Lookup(ctx context.Context, path string) (TreeEntry, bool, error) {
	dir, base := splitPath(path)
	n, err := e.walk(ctx, dir, false)
	if err != nil || n == nil {
		return TreeEntry{}, false, err
	}
	ent, ok := n.entries[base]
	return ent, ok, nil
}

// Write encodes every changed tree and returns the new root id and the new
// tree objects (children before parents). Directories left empty by the
// edits disappear, as git cannot record them.
func (e *Editor) Write() (ID, []Object, error) {
	var objs []Object
	id, _, err := e.write(e.root, &objs)
	if err != nil {
		return ZeroID, nil, err
	}
	if id.IsZero() {
		objs = append(objs, Object{Kind: KindTree})
		id = EmptyTreeID
	}
	return id, objs, nil
}

// write returns the node's id (zero when it ended up empty).
func (e *Editor) write(n *dirNode, objs *[]Object) (ID, bool, error) {
	if !n.dirty {
		return n.id, !n.id.IsZero(), nil
	}
	for name, child := range n.children {
		if !child.dirty {
			continue
		}
		id, nonEmpty, err := e.write(child, objs)
		if err != nil {
			return ZeroID, false, err
		}
		if nonEmpty {
			n.entries[name] = TreeEntry{Mode: ModeTree, Name: name, ID: id}
		} else {
			delete(n.entries, name)
		}
	}
	if len(n.entries) == 0 {
		return ZeroID, false, nil
	}
	ents := make([]TreeEntry, 0, len(n.entries))
	for _, ent := range n.entries {
		ents = append(ents, ent)
	}
	data, err := EncodeTree(ents)
	if err != nil {
		return ZeroID, false, err
	}
	o := Object{Kind: KindTree, Data: data}
	*objs = append(*objs, o)
	return o.ID(), true, nil
}
