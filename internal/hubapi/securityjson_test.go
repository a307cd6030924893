package hubapi

import (
	"encoding/json"
	"testing"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/scan"
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
