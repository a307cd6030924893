package hubapi

import (
	"encoding/json"
	"testing"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/scan"
	"github.com/agorahub/agora/internal/wire"
)

// TestSecurityJSONMatchesMap: securityJSON gives the bytes json.Marshal
// gave for the map it was built as, twice (the second time from its
// cache where it keeps answers).
func TestSecurityJSONMatchesMap(t *testing.T) {
	asMap := func(fs hub.FileSecurity) string {
		v := map[string]any{
			"status":           fs.Level,
			"safe":             fs.Level == "safe",
			"avScan":           map[string]any{"virusFound": false, "virusNames": nil, "status": "unscanned"},
			"pickleImportScan": nil,
		}
		if fs.Result != nil {
			if p := fs.Result.PickleImportScan(); p != nil {
				v["pickleImportScan"] = p
			}
			v["weightsOnly"] = fs.Result.WeightsOnly
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	tests := []hub.FileSecurity{
		{Level: "safe"},
		{Level: "queued"},
		{Level: "unscanned"},
		{Level: "safe", Result: &scan.Result{WeightsOnly: true}},
		{Level: "safe", Result: &scan.Result{WeightsOnly: false}},
		{Level: "unsafe", Result: &scan.Result{Pickles: 1, Imports: []scan.Import{{Module: "os", Name: "system"}, {Module: "<&>", Name: "x"}}}},
	}
	for _, fs := range tests {
		want := asMap(fs)
		for range 2 {
			if got := string(securityJSON(fs)); got != want {
				t.Fatalf("%+v:\n got %s\nwant %s", fs, got, want)
			}
		}
	}
}

// TestTreeEntriesMatchMarshal: appendTreeEntries gives json.Marshal's
// bytes, escapes, omitted fields and embedded objects included.
func TestTreeEntriesMatchMarshal(t *testing.T) {
	sec := securityJSON(hub.FileSecurity{Level: "unsafe", Result: &scan.Result{Pickles: 1, Imports: []scan.Import{{Module: "<os>", Name: "system"}}}})
	tests := [][]wire.TreeEntry{
		nil,
		{},
		{{Type: "directory", OID: "0123", Path: "dir"}},
		{{Type: "file", OID: "ab", Size: 5, Path: "a <b> & \"c\"\\ é\u2028.txt", XetHash: "x1"},
			{Type: "file", OID: "cd", Size: 1 << 40, Path: "w.safetensors", LFS: &wire.LFSInfo{OID: "ff", Size: 1 << 40, PointerSize: 134},
				LastCommit: &wire.LastCommit{ID: "c0", Title: "fix <b> \t tab", Date: "2026-01-02T03:04:05.000Z"}, SecurityFileStatus: sec}},
	}
	for _, es := range tests {
		want, err := json.Marshal(es)
		if err != nil {
			t.Fatal(err)
		}
		if es == nil {
			want = []byte("[]") // the handlers always pass a slice
			es = []wire.TreeEntry{}
		}
		if got := appendTreeEntries(nil, es); string(got) != string(want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
}
