package sqlstore

import (
	"database/sql"
	"encoding/json"
	"slices"
	"testing"
)

// TestDecodeTags: the fast path decodes what json.Unmarshal does, in both
// stores' spellings (Go's and PostgreSQL's json_agg, with spaces), and
// leaves everything else to it.
func TestDecodeTags(t *testing.T) {
	tests := []struct {
		name    string
		col     sql.NullString
		want    []string
		plain   bool // decoded by plainTags
		wantErr bool
	}{
		{"null", sql.NullString{}, nil, false, false},
		{"none", sql.NullString{String: "[]", Valid: true}, nil, false, false},
		{"go spelling", sql.NullString{String: `["a","license:mit","base_model:x/y"]`, Valid: true}, []string{"a", "license:mit", "base_model:x/y"}, true, false},
		{"json_agg spelling", sql.NullString{String: `["a", "b"]`, Valid: true}, []string{"a", "b"}, true, false},
		{"unicode", sql.NullString{String: `["日本語","é"]`, Valid: true}, []string{"日本語", "é"}, true, false},
		{"escapes", sql.NullString{String: `["a\"b","c\\d","\u003c"]`, Valid: true}, []string{`a"b`, `c\d`, "<"}, false, false},
		{"empty tag", sql.NullString{String: `[""]`, Valid: true}, []string{""}, true, false},
		{"not strings", sql.NullString{String: `[1]`, Valid: true}, nil, false, true},
		{"trailing comma", sql.NullString{String: `["a",]`, Valid: true}, nil, false, true},
		{"not an array", sql.NullString{String: `"a"`, Valid: true}, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeTags(tc.col)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("tags = %q, want %q", got, tc.want)
			}
			if _, ok := plainTags(tc.col.String); ok != tc.plain && tc.col.Valid && tc.col.String != "[]" {
				t.Fatalf("plainTags ok = %v, want %v", ok, tc.plain)
			}
		})
	}
}

// FuzzPlainTags: whatever plainTags accepts, json.Unmarshal accepts too,
// with the same strings (tags come from model cards, untrusted).
func FuzzPlainTags(f *testing.F) {
	for _, s := range []string{`[]`, `["a","b"]`, `["a", "b"]`, `[""]`, `["a\"b"]`, `["a",]`, `[ "x" ]`, "[\"\t\"]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainTags(s)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("plainTags accepted %q, which json refuses: %v", s, err)
		}
		if len(got) != len(want) || !slices.Equal(got, want) && len(want) > 0 {
			t.Fatalf("plainTags(%q) = %q, json = %q", s, got, want)
		}
	})
}
