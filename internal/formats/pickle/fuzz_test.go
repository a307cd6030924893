package pickle_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

var fuzzLimits = pickle.Limits{MaxBytes: 1 << 20, MaxOps: 20_000, MaxStack: 2_000, MaxMemo: 2_000, MaxString: 1 << 16, MaxPickles: 64}

func seeds(f *testing.F) {
	for _, tc := range cpythonStreams {
		p, _ := hex.DecodeString(tc.hex)
		f.Add(p)
	}
	b := pickletest.New
	f.Add(pickletest.Reduce0("os", "system", "id"))
	f.Add(b().Proto(4).StackGlobal("os", "system").Op(pickle.OpMemoize).ShortUnicode("id").Op(pickle.OpTuple1, pickle.OpReduce, pickle.OpStop).Bytes())
	f.Add(b().Proto(4).Frame(8).ShortUnicode("abcdef").Op(pickle.OpStop).Bytes())
	f.Add(b().Proto(2).Raw([]byte{byte(pickle.OpExt1), 1}).Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpStop).Bytes())
	f.Add(b().Op(pickle.OpMark).String("id").Inst("os", "system").Op(pickle.OpStop).Bytes())
	f.Add(joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<f8", []int64{2}, make([]byte, 16)) }, nil))
	f.Add(joblibArrays(func(b *pickletest.Builder) {
		b.JoblibArray("|O", []int64{1}, pickletest.New().Proto(2).Op(pickle.OpNone, pickle.OpStop).Bytes())
	}, nil))
	f.Add([]byte{0x80, 0x02, 0x8a, 0x0a, 'l', 0xfc, 0x9c, 'F', 0xf9, ' ', 'j', 0xa8, 'P', 0x19, '.'})
}

// checkResult verifies the invariants every result keeps.
func checkResult(t *testing.T, data []byte, lim pickle.Limits, r *pickle.Result) {
	t.Helper()
	if r.Ops > lim.MaxOps {
		t.Fatalf("Ops %d > budget %d", r.Ops, lim.MaxOps)
	}
	if r.Bytes > lim.MaxBytes || r.Bytes+r.Skipped > int64(len(data)) {
		t.Fatalf("Bytes %d + Skipped %d, input %d, budget %d", r.Bytes, r.Skipped, len(data), lim.MaxBytes)
	}
	if r.End > int64(len(data)) || r.End < 0 {
		t.Fatalf("End %d outside the input (%d)", r.End, len(data))
	}
	if r.Complete() != (r.Err == nil) {
		t.Fatal("Complete disagrees with Err")
	}
	if !r.IsPickle() && (len(r.Imports) > 0 || len(r.Persistent) > 0) {
		t.Fatal("not a pickle, yet imports")
	}
	if len(r.Pickles) > lim.MaxPickles {
		t.Fatalf("%d pickles > %d", len(r.Pickles), lim.MaxPickles)
	}
	for _, im := range r.Imports {
		if im.Count < 1 || im.Offset < 0 || im.Offset >= int64(len(data)) {
			t.Fatalf("import %+v", im)
		}
		if !im.Dynamic && im.Ext == 0 && (im.RawModule == "" && im.Module != "") {
			t.Fatalf("import %+v", im)
		}
	}
	for _, a := range r.Actions {
		if a.Target.Import >= len(r.Imports) || a.Target.Class >= len(r.Imports) || a.Count < 1 {
			t.Fatalf("action %+v with %d imports", a, len(r.Imports))
		}
	}
	for _, p := range r.Persistent {
		if p.Storage >= len(r.Imports) {
			t.Fatalf("persistent %+v", p)
		}
	}
	for _, a := range r.Arrays {
		if a.Offset < 0 || a.Offset+a.Size > int64(len(data)) {
			t.Fatalf("array %+v outside the input", a)
		}
	}
	var le *pickle.LimitError
	if errors.As(r.Err, &le) && !errors.Is(r.Err, pickle.ErrIncomplete) {
		t.Fatal("LimitError does not match ErrIncomplete")
	}
}

func importNames(r *pickle.Result) []string {
	var out []string
	for _, im := range r.Imports {
		out = append(out, im.String())
	}
	return out
}

func FuzzScan(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []pickle.Options{
			{Limits: fuzzLimits},
			{Limits: fuzzLimits, Joblib: true, TorchLegacy: true},
		} {
			opts.Size = int64(len(data))
			r := pickle.Scan(bytes.NewReader(data), opts)
			checkResult(t, data, fuzzLimits, r)
			// The same stream through a reader that can neither seek nor
			// tell its size must yield the same imports when both finish.
			opts.Size = 0
			r2 := pickle.Scan(io.MultiReader(bytes.NewReader(data)), opts)
			checkResult(t, data, fuzzLimits, r2)
			if r.Err == nil && r2.Err == nil && !slices.Equal(importNames(r), importNames(r2)) {
				t.Fatalf("seekable %v, stream %v", importNames(r), importNames(r2))
			}
		}
	})
}

// FuzzJoblib starts from joblib streams, whose array payloads are skipped
// by lengths computed from the stream itself.
func FuzzJoblib(f *testing.F) {
	f.Add(joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<f8", []int64{2, 3}, make([]byte, 48)) }, nil))
	f.Add(joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<i4", []int64{5}, make([]byte, 20)) },
		func(b *pickletest.Builder) { b.ShortUnicode("x").Call("os", "system", "id") }))
	f.Add(joblibArrays(func(b *pickletest.Builder) { b.JoblibArray("<U3", []int64{1}, make([]byte, 12)) }, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := pickle.Options{Limits: fuzzLimits, Joblib: true, Size: int64(len(data))}
		r := pickle.Scan(bytes.NewReader(data), opts)
		checkResult(t, data, fuzzLimits, r)
	})
}
