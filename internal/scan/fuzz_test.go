package scan

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

// fuzzLimits keep each execution small; the invariants do not depend on
// them.
var fuzzLimits = Limits{
	Pickle:          pickle.Limits{MaxOps: 20_000, MaxStack: 2_000, MaxMemo: 2_000, MaxString: 1 << 16, MaxPickles: 64},
	MaxOps:          100_000,
	MaxMembers:      64,
	MaxDecompressed: 4 << 20,
	MaxBuffered:     1 << 20,
}

// checkScan verifies the invariants of every result: a valid status and
// level, a level that bounds every import and finding, unscanned never
// safe, weights-only only for clean PyTorch files, and a result that
// marshals.
func checkScan(t *testing.T, data []byte) Result {
	t.Helper()
	r := ScanFile(t.Context(), bytes.NewReader(data), int64(len(data)), "fuzz", fuzzLimits)
	switch r.Status {
	case StatusScanned, StatusUnscanned:
	default:
		t.Fatalf("status %q (err %s)", r.Status, r.Err)
	}
	if r.Safety < Innocuous || r.Safety > Dangerous {
		t.Fatalf("safety %d", r.Safety)
	}
	for _, im := range r.Imports {
		if im.Safety < Innocuous || im.Safety > r.Safety || im.Count < 1 {
			t.Fatalf("import %+v under file level %v", im, r.Safety)
		}
	}
	for _, f := range r.Findings {
		if f.Safety < Innocuous || f.Safety > r.Safety {
			t.Fatalf("finding %+v under file level %v", f, r.Safety)
		}
	}
	if r.Status == StatusUnscanned && (r.Safety < Suspicious || r.Safe()) {
		t.Fatalf("unscanned file at level %v", r.Safety)
	}
	if r.WeightsOnly && (r.Status != StatusScanned || r.Safety == Dangerous) {
		t.Fatalf("weights-only with status %s level %v", r.Status, r.Safety)
	}
	if hf := r.PickleImportScan(); hf != nil && hf.HighestSafetyLevel != r.Safety {
		t.Fatal("HF level differs")
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzScanFile(f *testing.F) {
	for _, tc := range append(hostileCorpus(), benignCorpus()...) {
		if len(tc.data) < 64<<10 {
			f.Add(tc.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkScan(t, data) })
}

func FuzzZip(f *testing.F) {
	f.Add(torchZip(torchStateDict(sd, ""), sd))
	f.Add(makeZip(testEntry{name: "a.pkl", data: osSystem, deflate: true}, testEntry{name: "A.PKL", data: benignPkl, badCRC: true, flags: 1}))
	f.Add(makeZip(testEntry{name: "x.npy", data: npy("|O", "(1,)", osSystem)}))
	f.Add(makeZip(testEntry{name: "inner.zip", data: makeZip(testEntry{name: "a", data: osSystem})}))
	f.Fuzz(func(t *testing.T, data []byte) {
		z, err := readZip(bytes.NewReader(data), int64(len(data)), fuzzLimits.MaxMembers)
		if err == nil && len(z.entries) > fuzzLimits.MaxMembers {
			t.Fatalf("%d entries", len(z.entries))
		}
		if z != nil {
			for _, e := range z.entries {
				if e.dataOff > int64(len(data)) {
					t.Fatalf("entry %+v past the end", e)
				}
			}
		}
		checkScan(t, data)
	})
}

func FuzzNPY(f *testing.F) {
	f.Add(npy("<f8", "(2,)", floats(4)))
	f.Add(npy("|O", "(1,)", objectArrayPickle(1, func(*pickletest.Builder) {})))
	f.Add(npy("[('a', '<f8'), ('b', '|O')]", "(1,)", osSystem))
	f.Fuzz(func(t *testing.T, data []byte) {
		npyHoldsObjects(string(data))
		checkScan(t, append([]byte("\x93NUMPY\x01\x00"), data...))
	})
}

func FuzzTar(f *testing.F) {
	f.Add(torchTar(false))
	f.Add(torchTar(true))
	f.Add(makeTar(map[string][]byte{"a.pkl": osSystem, "b": []byte("text")}))
	f.Fuzz(func(t *testing.T, data []byte) { checkScan(t, data) })
}

func FuzzTorchLegacy(f *testing.F) {
	f.Add(torchLegacy(torchStateDict(sd, ""), sd))
	f.Add(torchLegacy(osSystem, nil))
	f.Fuzz(func(t *testing.T, data []byte) { checkScan(t, append(bytes.Clone(torchMagic), data...)) })
}

func FuzzJoblibFile(f *testing.F) {
	f.Add(joblibDump(nil))
	f.Add(joblibDump(evilTail))
	f.Add(gz(joblibDump(nil)))
	f.Add(zl(joblibDump(evilTail)))
	f.Fuzz(func(t *testing.T, data []byte) { checkScan(t, data) })
}
