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

// appendString appends s encoded as json.Marshal encodes it. Names,
// dates and ids are plain ASCII and are copied as they are; anything that
// needs escaping (or is not ASCII) goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(b, encoded(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// rowPairs encodes a repository row's fields as repoJSON would hold them,
// in key order (appendObject then has little to sort). The values share
// one buffer: a slice taken from it stays valid when it grows.
func rowPairs(out []pair, row *repoRow) []pair {
	buf := make([]byte, 0, 512)
	add := func(k string, enc func([]byte) []byte) {
		start := len(buf)
		buf = enc(buf)
		out = append(out, pair{k, buf[start:len(buf):len(buf)]})
	}
	str := func(k, v string) { add(k, func(b []byte) []byte { return appendString(b, v) }) }
	num := func(k string, v int64) { add(k, func(b []byte) []byte { return strconv.AppendInt(b, v, 10) }) }
	flag := func(k string, v bool) { add(k, func(b []byte) []byte { return strconv.AppendBool(b, v) }) }
	opt := func(k, v string) {
		if v != "" {
			str(k, v)
		}
	}
	str("_id", row.InternalID)
	str("author", row.Author)
	str("createdAt", row.CreatedAt)
	flag("disabled", row.Disabled)
	num("downloads", row.Downloads)
	num("downloadsAllTime", row.DownloadsAllTime)
	switch g := row.Gated.(type) {
	case string:
		str("gated", g)
	case bool:
		flag("gated", g)
	default:
		out = append(out, pair{"gated", encoded(g)})
	}
	str("id", row.ID)
	str("lastModified", row.LastModified)
	opt("library_name", row.LibraryName)
	num("likes", row.Likes)
	opt("modelId", row.ModelID)
	opt("pipeline_tag", row.PipelineTag)
	flag("private", row.Private)
	opt("sha", row.Sha)
	add("tags", func(b []byte) []byte {
		if row.Tags == nil {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i, t := range row.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, t)
		}
		return append(b, ']')
	})
	num("trendingScore", row.TrendingScore)
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
// pair of a key winning. The pairs come in a few sorted runs (the row's,
// the cached commit's, a few more), so a stable insertion sort moves
// little; it was a third of the encoding's time as a general sort.
func appendObject(b []byte, pairs []pair) []byte {
	if len(pairs) > 128 {
		slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.k, b.k) })
	}
	for i := 1; i < len(pairs); i++ {
		for j := i; j > 0 && pairs[j-1].k > pairs[j].k; j-- {
			pairs[j-1], pairs[j] = pairs[j], pairs[j-1]
		}
	}
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
		b = appendString(b, p.k)
		b = append(b, ':')
		b = append(b, p.v...)
	}
	return append(b, '}')
}

// objectBufs are writeObject's buffers: the body is copied into the
// connection's buffer by Write.
var objectBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writeObject answers with pairs as server.WriteJSON would with their
// map.
func writeObject(w http.ResponseWriter, r *http.Request, status int, pairs []pair) {
	writeEncoded(w, r, status, func(b []byte) []byte { return appendObject(b, pairs) })
}

// writeEncoded answers with the JSON encode appends, and a newline, as
// server.WriteJSON would: encode writes into a pooled buffer, and the
// body goes out in one write.
func writeEncoded(w http.ResponseWriter, r *http.Request, status int, encode func([]byte) []byte) {
	bp := objectBufs.Get().(*[]byte)
	b := encode((*bp)[:0])
	b = append(b, '\n')
	defer func() {
		if cap(b) <= 1<<20 {
			*bp = b
			objectBufs.Put(bp)
		}
	}()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// appendTreeEntries appends es as json.Marshal encodes them (a test
// compares the bytes). The generic encoder was a quarter of paths-info's
// handler time: reflection, and every embedded security object parsed
// again. The security objects are json.Marshal's output already.
func appendTreeEntries(b []byte, es []wire.TreeEntry) []byte {
	b = append(b, '[')
	for i := range es {
		if i > 0 {
			b = append(b, ',')
		}
		e := &es[i]
		b = append(b, `{"type":`...)
		b = appendString(b, e.Type)
		b = append(b, `,"oid":`...)
		b = appendString(b, e.OID)
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, `,"path":`...)
		b = appendString(b, e.Path)
		if l := e.LFS; l != nil {
			b = append(b, `,"lfs":{"oid":`...)
			b = appendString(b, l.OID)
			b = append(b, `,"size":`...)
			b = strconv.AppendInt(b, l.Size, 10)
			b = append(b, `,"pointerSize":`...)
			b = strconv.AppendInt(b, l.PointerSize, 10)
			b = append(b, '}')
		}
		if e.XetHash != "" {
			b = append(b, `,"xetHash":`...)
			b = appendString(b, e.XetHash)
		}
		if c := e.LastCommit; c != nil {
			b = append(b, `,"lastCommit":{"id":`...)
			b = appendString(b, c.ID)
			b = append(b, `,"title":`...)
			b = appendString(b, c.Title)
			b = append(b, `,"date":`...)
			b = appendString(b, c.Date)
			b = append(b, '}')
		}
		if len(e.SecurityFileStatus) > 0 {
			b = append(b, `,"securityFileStatus":`...)
			b = append(b, e.SecurityFileStatus...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
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
	// Sorted once here, so that appendObject merely interleaves.
	slices.SortStableFunc(p, func(a, b pair) int { return cmp.Compare(a.k, b.k) })
	h.infos.put(k, p)
	return p
}
