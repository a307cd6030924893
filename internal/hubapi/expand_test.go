package hubapi_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestExpandAnswersOnlyWhatWasAsked: with expand, model_info and the
// listings answer the named fields alone, with _id and id, as the Hub
// does; without it, the full document.
func TestExpandAnswersOnlyWhatWasAsked(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	keysOf := func(b []byte) []string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/api/models/alice/m?expand=downloads&expand=likes", []string{"_id", "downloads", "id", "likes"}},
		{"/api/models/alice/m?expand[]=siblings&expand[]=sha", []string{"_id", "id", "sha", "siblings"}},
		{"/api/models/alice/m?expand=xetEnabled", []string{"_id", "id", "xetEnabled"}},
		{"/api/models?author=alice&expand=downloads&expand=cardData", []string{"_id", "downloads", "id"}},
		{"/api/models?author=alice&expand=siblings", []string{"_id", "id", "siblings"}},
	} {
		b := e.mustOK(e.do("GET", tc.path, "", nil)).body
		if b[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(b, &items); err != nil || len(items) != 1 {
				t.Fatalf("%s: %v %s", tc.path, err, b)
			}
			b = items[0]
		}
		if got := keysOf(b); !slices.Equal(got, tc.want) {
			t.Errorf("%s: keys %q, want %q", tc.path, got, tc.want)
		}
	}
	full := keysOf(e.mustOK(e.do("GET", "/api/models/alice/m", "", nil)).body)
	for _, k := range []string{"siblings", "sha", "downloads", "tags", "lastModified"} {
		if !slices.Contains(full, k) {
			t.Errorf("model_info without expand lacks %s: %q", k, full)
		}
	}
}

// TestInferenceFiltersMatchNothing: no model here is served by an
// inference provider, so filtering on one lists nothing rather than
// everything.
func TestInferenceFiltersMatchNothing(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	for _, path := range []string{"/api/models?inference_provider=all", "/api/models?inference_provider=groq", "/api/models?inference=warm"} {
		if b := e.mustOK(e.do("GET", path, "", nil)).body; string(b) != "[]\n" {
			t.Errorf("%s: %s", path, b)
		}
	}
	if b := e.mustOK(e.do("GET", "/api/models", "", nil)).body; string(b) == "[]\n" {
		t.Error("the unfiltered listing is empty")
	}
}

// TestModelIndex: a card's model-index (evaluation results) is answered
// at the top level of model_info, with or without expand.
func TestModelIndex(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	card := "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n    dataset: {type: imdb, name: IMDB}\n    metrics:\n    - {type: accuracy, value: 0.9}\n---\n# m\n"
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("card", ""), file("README.md", card))))
	for _, path := range []string{"/api/models/alice/m", "/api/models/alice/m?expand=model-index"} {
		var got struct {
			ModelIndex []struct {
				Name string `json:"name"`
			} `json:"model-index"`
		}
		if err := json.Unmarshal(e.mustOK(e.do("GET", path, "", nil)).body, &got); err != nil || len(got.ModelIndex) != 1 || got.ModelIndex[0].Name != "m" {
			t.Errorf("%s: model-index %+v (%v)", path, got.ModelIndex, err)
		}
	}
}
