package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/formats/card"
	"github.com/agorahub/agora/internal/formats/gguf"
	"github.com/agorahub/agora/internal/formats/safetensors"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// maxCardBytes bounds the README and config.json read for metadata;
// larger ones are LFS files or absurd, and their metadata is ignored with
// a problem noted.
const maxCardBytes = 10 << 20

// maxInspected bounds how many weight files are opened per derivation.
const maxInspected = 1000

// derivation collects what derive learns.
type derivation struct {
	m        *meta.RepoMeta
	info     map[string]any
	problems []map[string]string
}

func (d *derivation) problem(path, format string, args ...any) {
	d.problems = append(d.problems, map[string]string{"path": path, "error": fmt.Sprintf(format, args...)})
}

// derive computes the metadata of commit id from its files: the model
// card's front matter, config.json, safetensors and GGUF headers, lineage
// edges and tags (DESIGN.md decision 5). A malformed or hostile user file
// never fails it: the problem is recorded in the result instead
// ("formatErrors" and cardError).
// metaAt returns the derived metadata of commit id: the stored row when it
// was derived from that commit (the default branch's head), otherwise
// derived now (headers only, so this stays cheap).
func (s *Service) metaAt(ctx context.Context, objs *objects, r *meta.Repo, id gitobj.ID) (*meta.RepoMeta, error) {
	// What is derived at a commit follows from its objects: cached by
	// commit (commitcache.go), read-only for callers.
	if v := s.cachedView(r.ID, id); v != nil && v.meta != nil {
		return v.meta, nil
	}
	m, err := s.meta.GetRepoMeta(ctx, r.ID)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("repo meta: %w", err)
	}
	if m == nil || m.Sha != id {
		if m, err = s.derive(ctx, objs, r, id); err != nil {
			return nil, err
		}
	}
	if _, pending := objs.pending[id]; !pending {
		s.cacheMeta(r.ID, id, m)
	}
	return m, nil
}

func (s *Service) derive(ctx context.Context, objs *objects, r *meta.Repo, id gitobj.ID) (*meta.RepoMeta, error) {
	c, err := objs.commit(ctx, id)
	if err != nil {
		return nil, err
	}
	files, err := s.listEntries(ctx, objs, c.Tree, "", true, id)
	if err != nil {
		return nil, err
	}
	byPath := map[string]*Entry{}
	for i := range files {
		if files[i].Type == "file" {
			byPath[files[i].Path] = &files[i]
		}
	}
	d := &derivation{m: &meta.RepoMeta{Sha: id}, info: map[string]any{}}
	var cd card.Card
	if e := byPath["README.md"]; e != nil {
		data, ok, err := s.smallContent(ctx, objs, e)
		if err != nil {
			return nil, err
		}
		if ok {
			cd = card.Parse(data)
			if cd.Err != nil {
				d.m.CardError = cd.Err.Error()
			}
			if cd.Data != nil {
				if b, err := json.Marshal(cd.Data); err != nil {
					d.m.CardError = fmt.Sprintf("card metadata cannot be represented as JSON: %v", err)
				} else {
					d.m.CardData = b
				}
			}
			d.m.PipelineTag, d.m.LibraryName = cd.PipelineTag(), cd.LibraryName()
		} else {
			d.m.CardError = "README.md is too large to read its metadata"
		}
	}
	tags := card.HubTags(cd)

	var config map[string]any
	if r.Type == TypeModel {
		if e := byPath["config.json"]; e != nil {
			data, ok, err := s.smallContent(ctx, objs, e)
			if err != nil {
				return nil, err
			}
			if ok && json.Unmarshal(data, &config) == nil {
				d.info["config"] = pickConfig(config)
				if mt, ok := config["model_type"].(string); ok && mt != "" {
					tags = append(tags, mt)
				}
			} else if ok {
				d.problem("config.json", "not a JSON object")
			}
		}
		if err := s.inspectSafetensors(ctx, objs, byPath, d); err != nil {
			return nil, err
		}
		if err := s.inspectGGUF(ctx, objs, files, d); err != nil {
			return nil, err
		}
		if _, ok := d.info["safetensors"]; ok {
			tags = append(tags, "safetensors")
		}
		if _, ok := d.info["gguf"]; ok {
			tags = append(tags, "gguf")
		}
		sig, err := s.verifySignature(ctx, objs, files, byPath)
		if err != nil {
			return nil, err
		}
		if sig != nil {
			d.info["signature"] = sig
			if sig["status"] == "verified" {
				tags = append(tags, "signed")
			}
		}
		op, err := s.classifyOpenness(ctx, objs, files, byPath, cd)
		if err != nil {
			return nil, err
		}
		d.info["openness"] = op
		tags = append(tags, op.Tags...)
		if d.m.LibraryName == "" {
			switch {
			case byPath["adapter_config.json"] != nil:
				d.m.LibraryName = "peft"
			case config != nil && (config["architectures"] != nil || config["model_type"] != nil):
				d.m.LibraryName = "transformers"
			}
			if d.m.LibraryName != "" {
				tags = append([]string{d.m.LibraryName}, tags...)
			}
		}
		// The card's evaluation results, which the Hub also answers at
		// the top level of model_info.
		if mi, ok := cd.Data["model-index"].([]any); ok {
			d.info["model-index"] = mi
		}
		// Lineage: the card's base models, with the relation it states or
		// the one its files imply.
		bases := cd.BaseModels()
		rel := cd.BaseModelRelation()
		if len(bases) > 0 {
			stated := rel != ""
			if !stated {
				rel = inferRelation(bases, byPath, files, config)
				tags = append(tags, card.BaseModelTags(bases, rel)...)
			}
			var shown []string
			for _, b := range bases {
				d.m.Bases = append(d.m.Bases, meta.Edge{Base: b, Relation: rel})
				shown = append(shown, b)
			}
			d.info["baseModels"] = map[string]any{"relation": rel, "models": baseModelList(shown)}
		}
	}
	if r.Type == TypeDataset {
		tags = append(tags, card.DatasetTags(cd)...)
		tags = append(tags, datasetFileTags(files)...)
	}
	if len(d.problems) > 0 {
		d.info["formatErrors"] = d.problems
	}
	if len(d.info) > 0 {
		b, err := json.Marshal(d.info)
		if err != nil {
			return nil, fmt.Errorf("derive: %w", err)
		}
		d.m.Info = b
	}
	d.m.Tags = dedupe(tags)
	return d.m, nil
}

func baseModelList(names []string) []map[string]string {
	out := make([]map[string]string, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]string{"id": n})
	}
	return out
}

func dedupe(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// inferRelation decides the relation to base models when the card does
// not say: adapter files mean an adapter, GGUF weights or a quantization
// config mean a quantization, several bases a merge, else a fine-tune.
func inferRelation(bases []string, byPath map[string]*Entry, files []Entry, config map[string]any) string {
	switch {
	case byPath["adapter_config.json"] != nil || byPath["adapter_model.safetensors"] != nil || byPath["adapter_model.bin"] != nil:
		return meta.RelAdapter
	case config != nil && config["quantization_config"] != nil:
		return meta.RelQuantized
	case slices.ContainsFunc(files, func(e Entry) bool { return e.Type == "file" && strings.HasSuffix(strings.ToLower(e.Path), ".gguf") }):
		return meta.RelQuantized
	case len(bases) > 1:
		return meta.RelMerge
	}
	return meta.RelFinetune
}

// openFile returns a reader over a file's content (LFS or git blob).
func (s *Service) openFile(ctx context.Context, objs *objects, e *Entry) (io.ReaderAt, func(), error) {
	if e.LFS == nil {
		data, err := objs.blobData(ctx, e.OID)
		if err != nil {
			return nil, nil, err
		}
		return bytes.NewReader(data), func() {}, nil
	}
	f, _, err := s.blobs.Open(ctx, e.LFS.OID)
	if errors.Is(err, blob.ErrNotFound) {
		// mirror hook (issue 14): a mirror reads headers from its upstream.
		if mf, merr := s.mirrorOpenFile(ctx, objs.repo, *e.LFS); merr != nil || mf != nil {
			f, err = mf, merr
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", e.Path, err)
	}
	return f, func() { f.Close() }, nil
}

// inspectSafetensors reads the headers of the model's safetensors
// weights: the shards of a root model.safetensors.index.json if there is
// one, else every root *.safetensors file.
func (s *Service) inspectSafetensors(ctx context.Context, objs *objects, byPath map[string]*Entry, d *derivation) error {
	var shards []string
	var index *safetensors.Index
	if e := byPath[safetensors.IndexFile]; e != nil {
		data, ok, err := s.smallContent(ctx, objs, e)
		if err != nil {
			return err
		}
		if ok {
			ix, err := safetensors.ParseIndex(bytes.NewReader(data))
			if err != nil {
				d.problem(e.Path, "%v", err)
			} else {
				index, shards = ix, ix.Shards()
			}
		}
	}
	if index == nil {
		for p := range byPath {
			if !strings.Contains(p, "/") && strings.HasSuffix(p, ".safetensors") {
				shards = append(shards, p)
			}
		}
		slices.Sort(shards)
	}
	if len(shards) == 0 || len(shards) > maxInspected {
		return nil
	}
	headers := map[string]*safetensors.Header{}
	for _, p := range shards {
		e := byPath[p]
		if e == nil {
			d.problem(p, "shard named by %s is missing", safetensors.IndexFile)
			continue
		}
		h, err := s.readSafetensors(ctx, objs, e)
		if err != nil {
			if errors.Is(err, safetensors.ErrInvalid) {
				d.problem(p, "%v", err)
				continue
			}
			return err
		}
		headers[p] = h
	}
	var count safetensors.Count
	if index != nil {
		cnt, err := index.Count(headers)
		if err != nil {
			return nil // missing shards were reported above
		}
		count = cnt
	} else {
		if len(headers) == 0 {
			return nil
		}
		params := map[string]int64{}
		for _, h := range headers {
			for dt, n := range h.Parameters() {
				params[dt] += n
			}
		}
		var total int64
		for _, n := range params {
			total += n
		}
		count = safetensors.Count{Parameters: params, Total: total, Sharded: len(headers) > 1}
		if len(headers) == 1 {
			for _, h := range headers {
				count = h.Count()
			}
		}
	}
	d.info["safetensors"] = count
	d.m.NumParameters = count.Total
	return nil
}

func (s *Service) readSafetensors(ctx context.Context, objs *objects, e *Entry) (*safetensors.Header, error) {
	r, done, err := s.openFile(ctx, objs, e)
	if err != nil {
		return nil, err
	}
	defer done()
	return safetensors.ReadHeader(r, e.Size)
}

// inspectGGUF reads the first GGUF file (in path order) that parses; the
// Hub also shows one GGUF summary per repository.
func (s *Service) inspectGGUF(ctx context.Context, objs *objects, files []Entry, d *derivation) error {
	n := 0
	for i := range files {
		e := &files[i]
		if e.Type != "file" || !strings.EqualFold(path.Ext(e.Path), ".gguf") {
			continue
		}
		if n++; n > maxInspected {
			return nil
		}
		r, done, err := s.openFile(ctx, objs, e)
		if err != nil {
			return err
		}
		f, err := gguf.Read(r, e.Size)
		done()
		if err != nil {
			if errors.Is(err, gguf.ErrInvalid) {
				d.problem(e.Path, "%v", err)
				continue
			}
			return err
		}
		sum := f.Summary()
		d.info["gguf"] = sum
		if d.m.NumParameters == 0 {
			d.m.NumParameters = sum.Total
		}
		return nil
	}
	return nil
}

// smallContent reads a file of at most maxCardBytes (git blob or LFS).
func (s *Service) smallContent(ctx context.Context, objs *objects, e *Entry) ([]byte, bool, error) {
	if e.Size > maxCardBytes {
		return nil, false, nil
	}
	if e.LFS == nil {
		data, err := objs.blobData(ctx, e.OID)
		return data, err == nil, err
	}
	r, done, err := s.openFile(ctx, objs, e)
	if err != nil {
		return nil, false, err
	}
	defer done()
	data := make([]byte, e.Size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, false, fmt.Errorf("read %s: %w", e.Path, err)
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
