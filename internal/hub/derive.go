package hub

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agorahub/agora/internal/formats/card"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// maxCardBytes bounds the README read for metadata; larger READMEs are
// LFS files or absurd, and their metadata is ignored with a problem noted.
const maxCardBytes = 10 << 20

// derive computes the metadata of commit id from its files: the model
// card's front matter, config.json and weight headers (DESIGN.md decision
// 5). It never fails because of a malformed user file: problems are
// recorded in the result instead.
func (s *Service) derive(ctx context.Context, objs *objects, r *meta.Repo, id gitobj.ID) (*meta.RepoMeta, error) {
	c, err := objs.commit(ctx, id)
	if err != nil {
		return nil, err
	}
	m := &meta.RepoMeta{Sha: id}
	info := map[string]any{}

	readme, ok, err := s.smallFile(ctx, objs, c.Tree, "README.md")
	if err != nil {
		return nil, err
	}
	if ok {
		cd := card.Parse(readme)
		if cd.Err != nil {
			m.CardError = cd.Err.Error()
		}
		if cd.Data != nil {
			b, err := json.Marshal(cd.Data)
			if err != nil {
				m.CardError = fmt.Sprintf("card metadata cannot be represented as JSON: %v", err)
			} else {
				m.CardData = b
			}
			m.PipelineTag = cd.PipelineTag()
			m.LibraryName = cd.LibraryName()
			m.Tags = card.HubTags(cd)
		}
	}
	if r.Type == TypeModel {
		cfg, ok, err := s.smallFile(ctx, objs, c.Tree, "config.json")
		if err != nil {
			return nil, err
		}
		if ok {
			var v map[string]any
			if json.Unmarshal(cfg, &v) == nil {
				info["config"] = pickConfig(v)
			}
		}
	}
	if len(info) > 0 {
		b, err := json.Marshal(info)
		if err != nil {
			return nil, fmt.Errorf("derive: %w", err)
		}
		m.Info = b
	}
	if m.Tags == nil {
		m.Tags = []string{}
	}
	return m, nil
}

// smallFile reads a regular (non-LFS) file of at most maxCardBytes.
func (s *Service) smallFile(ctx context.Context, objs *objects, tree gitobj.ID, path string) ([]byte, bool, error) {
	te, ok, err := objs.entryAt(ctx, tree, path)
	if err != nil || !ok || !te.Mode.IsBlob() {
		return nil, false, err
	}
	data, err := objs.blobData(ctx, te.ID)
	if err != nil {
		return nil, false, err
	}
	if _, isPtr := gitobj.ParsePointer(data); isPtr || len(data) > maxCardBytes {
		return nil, false, nil
	}
	return data, true, nil
}

// configKeys are the config.json fields the Hub shows in model_info.config.
var configKeys = []string{"architectures", "model_type", "quantization_config", "tokenizer_config", "task_specific_params", "adapter_transformers", "auto_map"}

func pickConfig(v map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range configKeys {
		if x, ok := v[k]; ok {
			out[k] = x
		}
	}
	return out
}
