package hubapi

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/wire"
)

// model_info answers are written from encoded parts instead of one map
// given to json.Marshal: what follows from the commit (the file list,
// cardData and the other derived fields, the commit's id and time) is
// encoded once per commit and kept (infoCache), and only the repository
// row, which changes, is encoded per request. Encoding the whole map,
// which re-validates every embedded JSON value, was about 40 % of the
// handler's time. The bytes are the same as json.Marshal of the map: keys
// sorted, later assignments winning, HTML characters escaped.

// pair is a key and its encoded value.
type pair struct {
	k string
	v []byte
}

func encoded(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

// rowPairs encodes a repository row's fields as repoJSON would hold them.
func rowPairs(out []pair, row *repoRow) []pair {
	str := func(k, v string) { out = append(out, pair{k, encoded(v)}) }
	num := func(k string, v int64) { out = append(out, pair{k, strconv.AppendInt(nil, v, 10)}) }
	flag := func(k string, v bool) { out = append(out, pair{k, strconv.AppendBool(nil, v)}) }
	str("_id", row.InternalID)
	str("id", row.ID)
	str("author", row.Author)
	flag("private", row.Private)
	out = append(out, pair{"gated", encoded(row.Gated)})
	flag("disabled", row.Disabled)
	num("downloads", row.Downloads)
	num("downloadsAllTime", row.DownloadsAllTime)
	num("trendingScore", row.TrendingScore)
	num("likes", row.Likes)
	str("lastModified", row.LastModified)
	str("createdAt", row.CreatedAt)
	out = append(out, pair{"tags", encoded(row.Tags)})
	for _, f := range []struct{ k, v string }{{"modelId", row.ModelID}, {"pipeline_tag", row.PipelineTag}, {"library_name", row.LibraryName}, {"sha", row.Sha}} {
		if f.v != "" {
			str(f.k, f.v)
		}
	}
	return out
}

// derivedPairs encodes cardData and the derived fields, as addDerived.
func derivedPairs(out []pair, md *hub.RepoMeta) []pair {
	if md == nil {
		return out
	}
	if md.CardData != nil {
		out = append(out, pair{"cardData", encoded(json.RawMessage(md.CardData))})
	}
	if md.CardError != "" {
		out = append(out, pair{"cardError", encoded(md.CardError)})
	}
	if md.Info != nil {
		var extra map[string]json.RawMessage
		if json.Unmarshal(md.Info, &extra) == nil {
			keys := make([]string, 0, len(extra))
			for k := range extra {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				out = append(out, pair{k, encoded(extra[k])})
			}
		}
	}
	return out
}

// appendObject writes pairs as a JSON object with sorted keys, the last
// pair of a key winning.
func appendObject(b []byte, pairs []pair) []byte {
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.k, b.k) })
	b = append(b, '{')
	first := true
	for i, p := range pairs {
		if i+1 < len(pairs) && pairs[i+1].k == p.k {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, encoded(p.k)...)
		b = append(b, ':')
		b = append(b, p.v...)
	}
	return append(b, '}')
}

// writeObject answers with pairs as server.WriteJSON would with their
// map.
func writeObject(w http.ResponseWriter, r *http.Request, status int, pairs []pair) {
	b := appendObject(make([]byte, 0, 4096), pairs)
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// infoKey names the cached part of an answer: a commit of a repository,
// with or without blob details.
type infoKey struct {
	repo  int64
	id    gitobj.ID
	blobs bool
}

// infoCache keeps the encoded commit-bound part of model_info answers:
// immutable, so never invalidated, only dropped (all at once) when it
// grows past its budget.
type infoCache struct {
	mu    sync.Mutex
	m     map[infoKey][]pair
	bytes int
}

const infoCacheBytes = 32 << 20

func (c *infoCache) get(k infoKey) ([]pair, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[k]
	return p, ok
}

func (c *infoCache) put(k infoKey, p []pair) {
	n := 64
	for _, x := range p {
		n += len(x.k) + len(x.v) + 40
	}
	if n > infoCacheBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes+n > infoCacheBytes {
		c.m, c.bytes = map[infoKey][]pair{}, 0
	}
	c.m[k] = p
	c.bytes += n
}

// commitPairs returns the encoded commit-bound fields of info: derived
// fields, sha, lastModified, siblings and usedStorage.
func (h *Handler) commitPairs(info *hub.RepoInfo, blobs bool) []pair {
	k := infoKey{info.Repo.ID, info.Revision.Commit, blobs}
	if p, ok := h.infos.get(k); ok {
		return p
	}
	p := derivedPairs(nil, info.Meta)
	p = append(p, pair{"sha", encoded(info.Revision.Commit.String())}, pair{"lastModified", encoded(isoTime(info.Commit.Committer.When))})
	sib := make([]wire.Sibling, 0, len(info.Siblings))
	var used int64
	for _, e := range info.Siblings {
		s := wire.Sibling{RFilename: e.Path}
		if blobs {
			size := e.Size
			s.Size, s.BlobID = &size, e.OID.String()
			if e.LFS != nil {
				s.LFS = &wire.SiblingLFS{Size: e.LFS.Size, SHA256: e.LFS.OID, PointerSize: e.PointerSize}
			}
		}
		used += e.Size
		sib = append(sib, s)
	}
	p = append(p, pair{"siblings", encoded(sib)}, pair{"usedStorage", strconv.AppendInt(nil, used, 10)})
	h.infos.put(k, p)
	return p
}
