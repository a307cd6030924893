package safetensors

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of [ParseIndex].
const (
	// MaxIndexSize is the largest index file accepted, in bytes. The
	// largest real indexes (MoE models with ~500k tensors) are ~60 MB.
	MaxIndexSize = 128 << 20
	// MaxShards is the most distinct shard files an index may name, as on
	// the Hub.
	MaxShards = 10_000
	// MaxIndexMetadata is the most entries the "metadata" object may have,
	// as on the Hub.
	MaxIndexMetadata = 1_000
)

// IndexFile is the conventional name of the index of a sharded
// checkpoint. Any file named "*.safetensors.index.json" is an index.
const IndexFile = "model.safetensors.index.json"

// Index is a parsed model.safetensors.index.json.
type Index struct {
	// TotalSize is metadata.total_size, the sum of the tensors' byte sizes;
	// 0 when absent or not a non-negative integer.
	TotalSize int64
	// Metadata holds the "metadata" object's entries as raw JSON,
	// including total_size.
	Metadata map[string]json.RawMessage
	// WeightMap maps each tensor name to the shard file holding it. Shard
	// names are relative to the directory of the index file; see
	// [ShardPath].
	WeightMap map[string]string
}

// ParseIndex reads and validates a safetensors index from r, reading at
// most [MaxIndexSize] bytes. The top level must be an object; duplicate
// keys at any level are refused; "weight_map" must map strings to shard
// names that are clean relative paths (see [ValidShardName]); at most
// [MaxShards] distinct shards and [MaxIndexMetadata] metadata entries.
// Other top-level keys (some writers add "dtype") are ignored. Malformed
// input yields an error wrapping [ErrInvalid].
func ParseIndex(r io.Reader) (*Index, error) {
	return parseIndex(r, MaxIndexSize)
}

func parseIndex(r io.Reader, limit int64) (*Index, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	d := &decoder{Decoder: json.NewDecoder(lr)}
	d.UseNumber()
	if err := d.expectDelim("index", '{'); err != nil {
		return nil, err
	}
	ix := &Index{}
	seen := make(map[string]bool)
	for d.More() {
		k, err := d.key()
		if err != nil {
			return nil, indexErr(lr, limit, err)
		}
		if seen[k] {
			return nil, invalid("index: duplicate key %q", k)
		}
		seen[k] = true
		switch k {
		case "metadata":
			err = d.indexMetadata(ix)
		case "weight_map":
			err = d.weightMap(ix)
		default:
			err = d.skip()
		}
		if err != nil {
			return nil, indexErr(lr, limit, err)
		}
	}
	if err := d.expectDelim("index", '}'); err != nil {
		return nil, indexErr(lr, limit, err)
	}
	// Anything but whitespace after the object is an error, as for
	// JSON.parse.
	if _, err := d.Token(); err != io.EOF {
		return nil, indexErr(lr, limit, invalid("index: unexpected data after the JSON object"))
	}
	if lr.N <= 0 {
		return nil, invalid("index is larger than %d bytes", limit)
	}
	if ix.WeightMap == nil {
		return nil, invalid("index: missing weight_map")
	}
	return ix, nil
}

// indexErr reports the size limit in preference to the syntax error that
// the truncation at the limit causes.
func indexErr(lr *io.LimitedReader, limit int64, err error) error {
	if lr.N <= 0 {
		return invalid("index is larger than %d bytes", limit)
	}
	return err
}

func (d *decoder) indexMetadata(ix *Index) error {
	t, err := d.token()
	if err != nil {
		return err
	}
	if t == nil {
		return nil
	}
	if delim, ok := t.(json.Delim); !ok || delim != '{' {
		return invalid("index: metadata: expected an object, found %s", describe(t))
	}
	ix.Metadata = make(map[string]json.RawMessage)
	for d.More() {
		k, err := d.key()
		if err != nil {
			return err
		}
		if _, dup := ix.Metadata[k]; dup {
			return invalid("index: metadata: duplicate key %q", k)
		}
		if len(ix.Metadata) == MaxIndexMetadata {
			return invalid("index: metadata has more than %d entries", MaxIndexMetadata)
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return invalid("index: metadata[%q]: %v", k, err)
		}
		ix.Metadata[k] = raw
	}
	if raw, ok := ix.Metadata["total_size"]; ok {
		if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil && v >= 0 {
			ix.TotalSize = v
		}
	}
	return d.expectDelim("index: metadata", '}')
}

func (d *decoder) weightMap(ix *Index) error {
	if err := d.expectDelim("index: weight_map", '{'); err != nil {
		return err
	}
	ix.WeightMap = make(map[string]string)
	// Shard names repeat for every tensor; intern them so that a map of
	// a million tensors holds a handful of strings.
	shards := make(map[string]string)
	for d.More() {
		k, err := d.key()
		if err != nil {
			return err
		}
		if _, dup := ix.WeightMap[k]; dup {
			return invalid("index: weight_map: duplicate tensor %q", k)
		}
		v, err := d.str(fmt.Sprintf("index: weight_map[%q]", k))
		if err != nil {
			return err
		}
		s, ok := shards[v]
		if !ok {
			if !ValidShardName(v) {
				return invalid("index: weight_map[%q]: unsafe shard name %q", k, v)
			}
			if len(shards) == MaxShards {
				return invalid("index: weight_map names more than %d shards", MaxShards)
			}
			shards[v] = v
			s = v
		}
		ix.WeightMap[k] = s
	}
	return d.expectDelim("index: weight_map", '}')
}

// ValidShardName reports whether name is acceptable as a shard file name in
// an index: a non-empty, clean, slash-separated relative path of valid
// UTF-8 without control characters or backslashes, without "." or ".."
// elements, and, as on the Hub, without ".." or "://" anywhere.
func ValidShardName(name string) bool {
	if name == "" || len(name) > 1024 || !utf8.ValidString(name) ||
		strings.Contains(name, "..") || strings.Contains(name, "://") ||
		strings.ContainsRune(name, '\\') || strings.HasPrefix(name, "/") {
		return false
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return false
	}
	return path.Clean(name) == name && name != "."
}

// Shards returns the distinct shard names of the index, sorted.
func (ix *Index) Shards() []string {
	set := make(map[string]bool)
	for _, s := range ix.WeightMap {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// ShardPath returns the repository path of shard, which an index stored at
// indexPath names relative to its own directory.
func ShardPath(indexPath, shard string) string {
	dir := path.Dir(indexPath)
	if dir == "." {
		return shard
	}
	return dir + "/" + shard
}

// Count returns the Hub's `safetensors` object for a sharded model, given
// the header of every shard of [Index.Shards] keyed by shard name:
// parameters are summed per dtype over all tensors of all shards (as
// [Header.Parameters] counts them), and metadata.total_parameters, when
// present and non-negative, replaces the total but is capped at the
// computed sum. It fails if a shard's header is missing.
func (ix *Index) Count(headers map[string]*Header) (Count, error) {
	params := make(map[string]int64)
	for _, s := range ix.Shards() {
		h := headers[s]
		if h == nil {
			return Count{}, fmt.Errorf("safetensors index: no header for shard %q", s)
		}
		for dt, n := range h.Parameters() {
			params[dt] = addSat(params[dt], n)
		}
	}
	d, ok := ix.declaredTotal()
	return Count{Parameters: params, Total: total(params, d, ok), Sharded: true}, nil
}

// declaredTotal returns metadata.total_parameters as huggingface.js reads
// it: a string goes through parseDeclaredTotal (JavaScript parseInt); a
// number is used as is (truncated if fractional) unless it is 0, negative or
// not finite.
func (ix *Index) declaredTotal() (int64, bool) {
	raw, ok := ix.Metadata["total_parameters"]
	if !ok {
		return 0, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return parseDeclaredTotal(s)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, false
	}
	if f >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(f), true
}
