package hubapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/agorahub/agora/internal/formats/safetensors"
)

// TestSafetensorsMetadata: get_sharded_safetensors_metadata's route gives
// the index's metadata and every shard's header in one answer, and clear
// errors for a missing index, a missing shard and a broken header.
func TestSafetensorsMetadata(t *testing.T) {
	e := newEnv(t)
	e.createModel("sh")
	shard := func(names ...string) string {
		var specs []safetensors.TensorSpec
		for _, n := range names {
			specs = append(specs, safetensors.TensorSpec{Name: n, Dtype: "F32", Shape: []int64{2, 3}})
		}
		var b bytes.Buffer
		if err := safetensors.Write(&b, specs, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	index := `{"metadata": {"total_size": 48}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`
	e.mustOK(e.do("POST", "/api/models/alice/sh/commit/main", e.alice, ndjson(header("shards", ""),
		file("model.safetensors.index.json", index),
		file("model-00001-of-00002.safetensors", shard("a")),
		file("model-00002-of-00002.safetensors", shard("b")),
		file("broken/model.safetensors.index.json", `{"weight_map": {"x": "x.safetensors"}}`),
		file("broken/x.safetensors", "not safetensors"),
		file("missing/model.safetensors.index.json", `{"weight_map": {"x": "gone.safetensors"}}`))))
	var got struct {
		Index   map[string]map[string]any `json:"index"`
		Headers map[string]map[string]struct {
			Dtype       string  `json:"dtype"`
			Shape       []int64 `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		} `json:"headers"`
	}
	if err := json.Unmarshal(e.mustOK(e.do("GET", "/api/models/alice/sh/safetensors-metadata/model.safetensors.index.json", "", nil)).body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Index["metadata"]["total_size"] != float64(48) || len(got.Headers) != 2 {
		t.Fatalf("answer %+v", got)
	}
	a := got.Headers["model-00001-of-00002.safetensors"]["a"]
	if a.Dtype != "F32" || fmt.Sprint(a.Shape) != "[2 3]" || fmt.Sprint(a.DataOffsets) != "[0 24]" {
		t.Fatalf("tensor a: %+v", a)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/models/alice/sh/safetensors-metadata/nothing.json", 404},
		{"/api/models/alice/sh/safetensors-metadata/missing/model.safetensors.index.json", 404},
		{"/api/models/alice/sh/safetensors-metadata/broken/model.safetensors.index.json", 400},
		{"/api/models/alice/nope/safetensors-metadata/model.safetensors.index.json", 404},
	} {
		if r := e.do("GET", tc.path, "", nil); r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.path, r.status, r.body, tc.status)
		}
	}
}
