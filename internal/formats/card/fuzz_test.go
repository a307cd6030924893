package card

import (
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// allocated returns the bytes f allocates. It is approximate (the whole
// process is measured), so callers compare it with generous bounds.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("---\nlicense: apache-2.0\nlanguage: [en, fr]\nbase_model: a/b\nbase_model_relation: quantized\ntags: [gguf]\nextra_gated_fields:\n  Name: text\n  Use: {type: select, options: [a, {label: B, value: b}]}\n---\n# Model\nhttps://arxiv.org/abs/2305.18290\n"))
	f.Add([]byte("\ufeff---\r\nlicense: mit\r\n---\r\nbody"))
	f.Add([]byte("---\nbase: &b {x: 1}\nd: {<<: *b, y: [*b, *b]}\nt: 2024-01-01\nn: .nan\n1: ~\n---\n"))
	f.Add([]byte("---\na: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n---\n"))
	f.Add([]byte("---\na: &x [*x]\n---\n"))
	f.Add([]byte("---\n? [a]\n: b\n---\n"))
	f.Add([]byte("---\n!!python/object:os.system x\n---\n"))
	f.Add([]byte("---\nlicense: mit\n"))
	f.Add([]byte("no front matter\n---\n"))

	f.Fuzz(func(t *testing.T, in []byte) {
		var c Card
		n := allocated(func() { c = Parse(in) })
		// yaml.v3 allocates up to ~150 bytes per input byte while parsing;
		// alias expansion is bounded by MaxNodes and MaxExpandedBytes.
		if limit := 512*uint64(len(in)) + 64<<20; n > limit {
			t.Errorf("Parse of %d bytes allocated %d bytes, limit %d", len(in), n, limit)
		}
		text := strings.TrimPrefix(string(in), "\ufeff")
		if !strings.HasSuffix(text, c.Body) {
			t.Fatalf("Body %q is not a suffix of the input", c.Body)
		}
		if c.Err != nil {
			if !errors.Is(c.Err, ErrInvalid) || c.Data != nil || c.Body != text {
				t.Fatalf("Err %v with Data %v, Body %q", c.Err, c.Data, c.Body)
			}
			if len(c.Problems) == 0 || c.Problems[0] != c.Err.Error() {
				t.Fatalf("Problems %q do not start with Err", c.Problems)
			}
		}
		tags := HubTags(c)
		if len(slices.Compact(slices.Sorted(slices.Values(tags)))) != len(tags) {
			t.Fatalf("HubTags has duplicates: %q", tags)
		}
		dtags := DatasetTags(c)
		if len(slices.Compact(slices.Sorted(slices.Values(dtags)))) != len(dtags) {
			t.Fatalf("DatasetTags has duplicates: %q", dtags)
		}
		c.Gate()
		if c.Data == nil {
			return
		}
		j1, err := json.Marshal(c.Data)
		if err != nil {
			t.Fatalf("Data is not JSON-compatible: %v", err)
		}

		// Round trip: re-emit the data as YAML front matter and parse it
		// back; the JSON must agree (numerically, so that 1.0 and 1 match).
		y, err := yaml.Marshal(c.Data)
		if err != nil {
			t.Fatalf("yaml.Marshal(Data): %v", err)
		}
		if len(y) > MaxFrontMatterSize {
			return // alias expansion can outgrow the limit; nothing to compare
		}
		c2 := Parse([]byte("---\n" + string(y) + "---\n" + c.Body))
		if c2.Err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", y, c2.Err)
		}
		if c2.Body != c.Body {
			t.Fatalf("round trip changed Body %q to %q", c.Body, c2.Body)
		}
		j2, err := json.Marshal(c2.Data)
		if err != nil {
			t.Fatal(err)
		}
		var v1, v2 any
		if err := json.Unmarshal(j1, &v1); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(j2, &v2); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(v1, v2); diff != "" {
			t.Fatalf("round trip changed Data (-first +second):\n%s", diff)
		}
		if diff := cmp.Diff(HubTags(c), HubTags(c2)); diff != "" {
			t.Fatalf("round trip changed HubTags (-first +second):\n%s", diff)
		}
	})
}
