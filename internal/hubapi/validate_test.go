package hubapi_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/formats/card"
	"github.com/google/go-cmp/cmp"
)

// TestValidateYAML drives /api/validate-yaml the two ways huggingface_hub
// calls it: HfApi._validate_yaml posts JSON and reads the JSON reply,
// RepoCard.validate posts a form with Accept: text/plain and raises the
// text of a 400.
func TestValidateYAML(t *testing.T) {
	e := newEnv(t)
	const (
		badModel   = "---\ntags: {a: b}\nbase_model: ./out\n---\n# M\n"
		badDataset = "---\nconfigs:\n- data_files: a.csv\n---\n"
		goodModel  = "---\nlicense: mit\nlanguage: [en]\nbase_model: org/base\n---\n# M\n"
		noMeta     = "# Just text\n"
	)
	tagsErr := `"tags" must be one of [string, array]`
	baseErr := `"base_model" with value "./out" is not valid. Use a model id from https://hf.co/models.`
	msgs := func(m ...string) []any {
		out := []any{}
		for _, s := range m {
			out = append(out, map[string]any{"message": s})
		}
		return out
	}
	form := func(content, repoType string) string {
		v := url.Values{"content": {content}}
		if repoType != "" {
			v.Set("repoType", repoType)
		}
		return v.Encode()
	}
	jsonBody := func(content, repoType string) string {
		b, _ := json.Marshal(map[string]string{"content": content, "repoType": repoType})
		return string(b)
	}
	multipartBody, multipartType := func() (string, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("content", badDataset)
		mw.WriteField("repoType", "dataset")
		mw.Close()
		return b.String(), mw.FormDataContentType()
	}()

	tests := []struct {
		name        string
		contentType string
		accept      string
		body        string
		wantStatus  int
		wantJSON    map[string]any // when the reply is JSON
		wantText    string         // when it is text
	}{
		{
			name: "valid card", contentType: "application/json", body: jsonBody(goodModel, "model"),
			wantStatus: http.StatusOK, wantJSON: map[string]any{"errors": msgs(), "warnings": msgs()},
		},
		{
			name: "card without metadata warns", contentType: "application/json", body: jsonBody(noMeta, "model"),
			wantStatus: http.StatusOK, wantJSON: map[string]any{"errors": msgs(), "warnings": msgs(card.MissingMetadata)},
		},
		{
			name: "invalid model card", contentType: "application/json", body: jsonBody(badModel, "model"),
			wantStatus: http.StatusBadRequest, wantJSON: map[string]any{"errors": msgs(tagsErr, baseErr), "warnings": msgs()},
		},
		{
			name: "repo type defaults to model", contentType: "application/json", body: `{"content": ` + mustJSON(badModel) + `}`,
			wantStatus: http.StatusBadRequest, wantJSON: map[string]any{"errors": msgs(tagsErr, baseErr), "warnings": msgs()},
		},
		{
			name: "dataset rules", contentType: "application/json", body: jsonBody(badDataset, "dataset"),
			wantStatus: http.StatusBadRequest, wantJSON: map[string]any{"errors": msgs(`"configs[0].config_name" is required`), "warnings": msgs()},
		},
		{
			name: "unknown repo type", contentType: "application/json", body: jsonBody(goodModel, "bucket"),
			wantStatus: http.StatusBadRequest, wantJSON: map[string]any{"errors": msgs(`"repoType" must be one of [model, dataset, space]`), "warnings": msgs()},
		},
		{
			name: "invalid YAML", contentType: "application/json", body: jsonBody("---\nlicense: [mit\n---\n", "model"),
			wantStatus: http.StatusBadRequest,
			wantJSON:   map[string]any{"errors": msgs("Invalid YAML in README.md: yaml: line 1: did not find expected ',' or ']'"), "warnings": msgs()},
		},
		{
			name: "form as text, invalid", contentType: "application/x-www-form-urlencoded", accept: "text/plain", body: form(badModel, "model"),
			wantStatus: http.StatusBadRequest, wantText: "- Error: " + tagsErr + "\n- Error: " + baseErr + "\n",
		},
		{
			name: "form as text, warning", contentType: "application/x-www-form-urlencoded", accept: "text/plain", body: form(noMeta, ""),
			wantStatus: http.StatusOK, wantText: "- Warning: " + card.MissingMetadata + "\n",
		},
		{
			name: "form as text, valid", contentType: "application/x-www-form-urlencoded", accept: "text/plain", body: form(goodModel, "model"),
			wantStatus: http.StatusOK, wantText: "",
		},
		{
			name: "form as JSON", contentType: "application/x-www-form-urlencoded", body: form(badDataset, "dataset"),
			wantStatus: http.StatusBadRequest, wantJSON: map[string]any{"errors": msgs(`"configs[0].config_name" is required`), "warnings": msgs()},
		},
		{
			name: "multipart form as text", contentType: multipartType, accept: "text/plain, */*", body: multipartBody,
			wantStatus: http.StatusBadRequest, wantText: `- Error: "configs[0].config_name" is required` + "\n",
		},
		{
			name: "JSON preferred over text", contentType: "application/json", accept: "application/json, text/plain", body: jsonBody(noMeta, "model"),
			wantStatus: http.StatusOK, wantJSON: map[string]any{"errors": msgs(), "warnings": msgs(card.MissingMetadata)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Content-Type", tc.contentType}
			if tc.accept != "" {
				hdr = append(hdr, "Accept", tc.accept)
			}
			r := e.do(http.MethodPost, "/api/validate-yaml", "", tc.body, hdr...)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			ct := r.h.Get("Content-Type")
			if tc.wantJSON == nil {
				if !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
				if diff := cmp.Diff(tc.wantText, string(r.body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			if !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("body %s: %v", r.body, err)
			}
			if diff := cmp.Diff(tc.wantJSON, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateYAMLBadRequest: a body that is not one JSON value (nor a
// form) is the client's mistake, answered as any other bad request.
func TestValidateYAMLBadRequest(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, body, want string }{
		{"not json", "{not json", "Invalid JSON body"},
		{"two values", `{"content":"a: 1"}{"content":"b: 2"}`, "data after the JSON value"},
		{"wrong type", `{"content": 3}`, "Invalid JSON body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/api/validate-yaml", "", tc.body, "Content-Type", "application/json")
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if !strings.Contains(string(r.body), tc.want) {
				t.Errorf("body %s, want %q", r.body, tc.want)
			}
		})
	}
	// Trailing whitespace is not a second value.
	r := e.do(http.MethodPost, "/api/validate-yaml", "", "{\"content\":\"a: 1\"}\n \n", "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
