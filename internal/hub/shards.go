package hub

import (
	"bytes"
	"context"
	"errors"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/formats/safetensors"
)

// SafetensorsShards reads the safetensors index at indexPath on the
// default branch and the header of every shard it names, in one call
// (huggingface_hub's get_sharded_safetensors_metadata). The headers are
// content, so the caller needs what a download needs; a shard the index
// names but the branch lacks is EntryNotFound, an unreadable index or
// header ErrInvalid.
func (s *Service) SafetensorsShards(ctx context.Context, who *auth.Identity, ref RepoRef, indexPath string) (*safetensors.Index, map[string]*safetensors.Header, error) {
	r, rv, e, err := s.FileAt(ctx, who, ref, "", indexPath)
	if err != nil {
		return nil, nil, err
	}
	objs := s.objectsOf(r.ID)
	data, ok, err := s.smallContent(ctx, objs, e)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, errorf(ErrInvalid, "%s is too large to be a safetensors index", e.Path)
	}
	ix, err := safetensors.ParseIndex(bytes.NewReader(data))
	if err != nil {
		return nil, nil, errorf(ErrInvalid, "%s: %v", e.Path, err)
	}
	shards := ix.Shards()
	if len(shards) > maxInspected {
		return nil, nil, errorf(ErrInvalid, "%s names %d shards, more than the %d this hub reads in one request", e.Path, len(shards), maxInspected)
	}
	paths := make([]string, len(shards))
	for i, sh := range shards {
		paths[i] = safetensors.ShardPath(e.Path, sh)
	}
	ents, err := s.PathsInfoAt(ctx, r, rv, paths, false)
	if err != nil {
		return nil, nil, err
	}
	byPath := map[string]*Entry{}
	for i := range ents {
		if ents[i].Type == "file" {
			byPath[ents[i].Path] = &ents[i]
		}
	}
	headers := make(map[string]*safetensors.Header, len(shards))
	for i, sh := range shards {
		se := byPath[paths[i]]
		if se == nil {
			return nil, nil, &Error{Kind: ErrEntryNotFound, Msg: "Shard " + paths[i] + " named by " + e.Path + " not found", Commit: rv.Commit.String()}
		}
		h, err := s.readSafetensors(ctx, objs, se)
		if errors.Is(err, safetensors.ErrInvalid) {
			return nil, nil, errorf(ErrInvalid, "%s: %v", se.Path, err)
		}
		if err != nil {
			return nil, nil, err
		}
		headers[sh] = h
	}
	return ix, headers, nil
}
