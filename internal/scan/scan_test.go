package scan

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

func TestDetect(t *testing.T) {
	tar := makeTar(map[string][]byte{"a": []byte("x")})
	tests := []struct {
		data []byte
		want Kind
	}{
		{torchZip(torchStateDict(sd, ""), sd), KindZip},
		{makeZip(), KindZip},
		{npy("<f4", "(1,)", floats(1)), KindNumpy},
		{gz([]byte("x")), KindGzip},
		{zl([]byte("x")), KindZlib},
		{[]byte("BZh91AY&SY"), KindBzip2},
		{[]byte("\xfd7zXZ\x00\x00\x04"), KindXZ},
		{[]byte("\x5d\x00\x00\x80\x00"), KindLZMA},
		{[]byte("\x04\x22\x4d\x18\x64"), KindLZ4},
		{[]byte("\x28\xb5\x2f\xfd\x00"), KindZstd},
		{[]byte("7z\xbc\xaf\x27\x1c\x00\x04"), Kind7z},
		{[]byte("GGUF\x03\x00\x00\x00"), KindGGUF},
		{benignPkl, KindPickle},
		{osSystem, KindPickle},
		{[]byte("(dp0\nS'a'\np1\nI1\ns."), KindPickle},
		{tar, KindTar},
		{[]byte("hello world"), KindUnknown},
		{nil, KindUnknown},
	}
	for _, tc := range tests {
		got, err := Detect(bytes.NewReader(tc.data), int64(len(tc.data)))
		if err != nil || got != tc.want {
			t.Errorf("Detect(%.12q) = %s, %v; want %s", tc.data, got, err, tc.want)
		}
	}
	st := binary.LittleEndian.AppendUint64(nil, 2)
	st = append(st, "{}"...)
	if got, _ := Detect(bytes.NewReader(st), int64(len(st))); got != KindSafetensors || got.MayHoldPickle() {
		t.Errorf("safetensors: %s", got)
	}
}

func TestPickleImportScanJSON(t *testing.T) {
	r := scanBytes(t, "pytorch_model.bin", torchZip(torchStateDict(sd, ""), sd), Limits{})
	got, err := json.Marshal(r.PickleImportScan())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"highestSafetyLevel":"innocuous","imports":[` +
		`{"module":"collections","name":"OrderedDict","safety":"innocuous"},` +
		`{"module":"torch","name":"FloatStorage","safety":"innocuous"},` +
		`{"module":"torch._utils","name":"_rebuild_tensor_v2","safety":"innocuous"}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	r = scanBytes(t, "x", osSystem, Limits{})
	got, _ = json.Marshal(r.PickleImportScan())
	if want := `{"highestSafetyLevel":"dangerous","imports":[{"module":"os","name":"system","safety":"dangerous"}]}`; string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The whole result marshals too, and round-trips its levels.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back.Safety != Dangerous || back.Imports[0].Safety != Dangerous {
		t.Errorf("round trip: %v %+v", err, back)
	}
	if r := scanBytes(t, "x", []byte("plain text"), Limits{}); r.PickleImportScan() != nil {
		t.Errorf("text file has a pickle scan")
	}
}

func TestSecurityLevel(t *testing.T) {
	tests := []struct {
		r    Result
		want string
	}{
		{Result{Status: StatusScanned, Safety: Innocuous}, "safe"},
		{Result{Status: StatusScanned, Safety: Suspicious}, "suspicious"},
		{Result{Status: StatusScanned, Safety: Dangerous}, "unsafe"},
		{Result{Status: StatusUnscanned, Safety: Suspicious}, "unscanned"},
		{Result{Status: StatusUnscanned, Safety: Dangerous}, "unsafe"},
		{Result{Status: StatusError}, "error"},
	}
	for _, tc := range tests {
		if got := tc.r.SecurityLevel(); got != tc.want {
			t.Errorf("%s/%v: %s, want %s", tc.r.Status, tc.r.Safety, got, tc.want)
		}
	}
}

func makeTar(files map[string][]byte, order ...string) []byte {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	if len(order) == 0 {
		for n := range files {
			order = append(order, n)
		}
		slices.Sort(order)
	}
	for _, n := range order {
		w.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		w.Write(files[n])
	}
	w.Close()
	return b.Bytes()
}

// torchTar writes a PyTorch 0.1 checkpoint. With evil, the storages record
// holds a second storage whose pickle calls os.system: only a reader that
// skips the first storage's raw bytes the way torch.load does reaches it.
func torchTar(evil bool) []byte {
	b := pickletest.New
	n := int64(1)
	if evil {
		n = 2
	}
	storages := b().Proto(2).Int(n).Stop().Bytes()
	storages = append(storages, b().Proto(2).Unicode("0").Unicode("cpu").Global("torch", "FloatStorage").Op(pickle.OpTuple3, pickle.OpStop).Bytes()...)
	storages = binary.LittleEndian.AppendUint64(storages, 4)
	storages = append(storages, floats(4)...)
	if evil {
		storages = append(storages, b().Proto(2).Unicode("1").Unicode("cpu").Call("os", "system", "id").Op(pickle.OpTuple3, pickle.OpStop).Bytes()...)
		storages = binary.LittleEndian.AppendUint64(storages, 0)
	}
	tensors := b().Proto(2).Int(1).Stop().Bytes()
	tensors = append(tensors, b().Proto(2).Unicode("t0").Unicode("0").Global("torch", "FloatTensor").Op(pickle.OpTuple3, pickle.OpStop).Bytes()...)
	tensors = binary.LittleEndian.AppendUint32(tensors, 1)
	tensors = append(tensors, 0, 0, 0, 0)
	tensors = binary.LittleEndian.AppendUint64(tensors, 4)
	tensors = binary.LittleEndian.AppendUint64(tensors, 1)
	tensors = binary.LittleEndian.AppendUint64(tensors, 0)
	obj := b().Proto(2).Global("collections", "OrderedDict").Op(pickle.OpEmptyTuple, pickle.OpReduce).
		Unicode("w").Unicode("0").Op(pickle.OpBinPersID, pickle.OpSetItem, pickle.OpStop).Bytes()
	sysInfo := b().Proto(2).Op(pickle.OpEmptyDict).Unicode("protocol_version").Int(1001).Op(pickle.OpSetItem, pickle.OpStop).Bytes()
	return makeTar(map[string][]byte{"sys_info": sysInfo, "pickle": obj, "storages": storages, "tensors": tensors},
		"sys_info", "pickle", "storages", "tensors")
}

func TestTar(t *testing.T) {
	r := scanBytes(t, "old.pt", torchTar(false), Limits{})
	if r.Kind != KindTorchTar || !r.Safe() {
		t.Errorf("legacy tar: kind %s status %s safety %v findings %+v imports %+v", r.Kind, r.Status, r.Safety, r.Findings, r.Imports)
	}
	r = scanBytes(t, "old.pt", torchTar(true), Limits{})
	if r.Safety != Dangerous {
		t.Errorf("hidden record: %s %v %+v", r.Status, r.Safety, r.Findings)
	}
	evil := makeTar(map[string][]byte{"README": []byte("hi"), "model/evil.pkl": osSystem})
	for name, data := range map[string][]byte{"tar": evil, "tar.gz": gz(evil)} {
		r := scanBytes(t, name, data, Limits{})
		if r.Safety != Dangerous || r.Status != StatusScanned {
			t.Errorf("%s: %s %v %+v", name, r.Status, r.Safety, r.Findings)
		}
	}
}

type errReaderAt struct{}

func (errReaderAt) ReadAt(p []byte, off int64) (int, error) { return 0, errors.New("disk on fire") }

func TestErrors(t *testing.T) {
	r := ScanFile(t.Context(), errReaderAt{}, 100, "x", Limits{})
	if r.Status != StatusError || r.Err == "" || r.Safe() {
		t.Errorf("read error: %+v", r)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	data := torchZip(torchStateDict(sd, ""), sd)
	r = ScanFile(ctx, bytes.NewReader(data), int64(len(data)), "x", Limits{})
	if r.Status != StatusError || r.Safe() {
		t.Errorf("cancelled: %+v", r)
	}
}

// writeSparseTorchZip writes a PyTorch-style zip to path whose single
// tensor record is a hole of n bytes.
func writeSparseTorchZip(t testing.TB, path string, n int64) int64 {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tensors := []tensor{{name: "embed.weight", key: "0", numel: int(n / 4)}}
	z := &zipWriter{w: f}
	z.add(testEntry{name: "archive/data.pkl", data: torchStateDict(tensors, "")})
	z.add(testEntry{name: "archive/byteorder", data: []byte("little")})
	z.add(testEntry{name: "archive/data/0", sparse: n})
	z.add(testEntry{name: "archive/version", data: []byte("3\n")})
	z.add(testEntry{name: "archive/.data/serialization_id", data: []byte("0123456789")})
	z.close()
	return z.off
}

func TestReadsOnlyPickles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.pt")
	size := writeSparseTorchZip(t, path, 256<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := ScanFile(t.Context(), f, size, "model.pt", Limits{})
	if !r.Safe() || !r.WeightsOnly || r.Kind != KindTorchZip {
		t.Fatalf("result %+v", r)
	}
	if r.BytesRead > 256<<10 {
		t.Errorf("read %d bytes of a %d-byte file: tensor data was read", r.BytesRead, size)
	}
}

func TestWeightsOnly(t *testing.T) {
	b := pickletest.New
	p4 := b().Proto(4).StackGlobal("collections", "OrderedDict").Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpStop).Bytes()
	withNumpy := b().Proto(2).Global("numpy.core.multiarray", "scalar").Op(pickle.OpStop).Bytes()
	otherPid := b().Proto(2).Unicode("module").Op(pickle.OpTuple1, pickle.OpBinPersID, pickle.OpStop).Bytes()
	appendDict := b().Proto(2).Op(pickle.OpEmptyDict).Int(1).Op(pickle.OpAppend, pickle.OpStop).Bytes()
	buildEncode := b().Proto(2).Global("_codecs", "encode").Unicode("x").Unicode("latin1").Op(pickle.OpTuple2, pickle.OpReduce, pickle.OpEmptyDict, pickle.OpBuild, pickle.OpStop).Bytes()
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"state dict", torchZip(torchStateDict(sd, ""), sd), true},
		{"protocol 4 (STACK_GLOBAL)", torchZip(p4, nil), false},
		{"numpy global", torchZip(withNumpy, nil), false},
		{"persistent id that is not a storage", torchZip(otherPid, nil), false},
		{"APPEND to a dict", torchZip(appendDict, nil), false},
		{"BUILD on bytes", torchZip(buildEncode, nil), false},
		{"TorchScript archive", torchZip(torchStateDict(sd, ""), sd, testEntry{name: "archive/constants.pkl", data: benignPkl}), false},
		{"raw pickle", torchStateDict(sd, ""), false},
		{"legacy", torchLegacy(torchStateDict(sd, ""), sd), true},
	}
	for _, tc := range tests {
		r := scanBytes(t, "m.pt", tc.data, Limits{})
		if r.WeightsOnly != tc.want {
			t.Errorf("%s: WeightsOnly = %v, want %v (kind %s, %s %v)", tc.name, r.WeightsOnly, tc.want, r.Kind, r.Status, r.Safety)
		}
	}
}

func TestStructuralChecks(t *testing.T) {
	// A safetensors header declaring far more bytes than the file has.
	bad := binary.LittleEndian.AppendUint64(nil, 1<<40)
	bad = append(bad, `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`...)
	r := ScanFile(t.Context(), bytes.NewReader(bad), int64(len(bad)), "x.safetensors", Limits{})
	if r.Safe() || len(r.Findings) == 0 || r.Findings[0].Issue != "malformed-safetensors" {
		t.Fatalf("hostile safetensors header: %+v", r)
	}
	// A truncated GGUF.
	trunc := append([]byte("GGUF\x03\x00\x00\x00"), binary.LittleEndian.AppendUint64(nil, 5)...)
	r = ScanFile(t.Context(), bytes.NewReader(trunc), int64(len(trunc)), "x.gguf", Limits{})
	if r.Safe() {
		t.Fatalf("truncated GGUF scanned as safe: %+v", r)
	}
}
