package pickle_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/agorahub/agora/internal/formats/pickle"
	"github.com/agorahub/agora/internal/formats/pickle/pickletest"
)

// stateDict pickles n tensors the way torch.save does (protocol 2).
func stateDict(n int) []byte {
	b := pickletest.New().Proto(2).Global("collections", "OrderedDict").Put(0).Op(pickle.OpEmptyTuple, pickle.OpReduce).Put(1).Op(pickle.OpMark)
	memo := 3
	for i := range n {
		b.Unicode("layers." + strconv.Itoa(i) + ".weight").Put(memo)
		memo++
		if i == 0 {
			b.Global("torch._utils", "_rebuild_tensor_v2").Put(2)
		} else {
			b.Get(2)
		}
		b.Op(pickle.OpMark, pickle.OpMark).Unicode("storage").Global("torch", "FloatStorage").Unicode(strconv.Itoa(i)).Unicode("cpu").Int(4096).Op(pickle.OpTuple).Put(memo).Op(pickle.OpBinPersID)
		memo++
		b.Int(0).Int(64).Int(64).Op(pickle.OpTuple2).Int(64).Int(1).Op(pickle.OpTuple2, pickle.OpNewFalse).Get(0).Op(pickle.OpEmptyTuple, pickle.OpReduce, pickle.OpTuple, pickle.OpReduce).Put(memo)
		memo++
		if i%1000 == 999 {
			b.Op(pickle.OpSetItems, pickle.OpMark)
		}
	}
	return b.Op(pickle.OpSetItems, pickle.OpStop).Bytes()
}

func BenchmarkScanStateDict(b *testing.B) {
	p := stateDict(5000)
	b.SetBytes(int64(len(p)))
	var ops int64
	for b.Loop() {
		r := pickle.Scan(bytes.NewReader(p), pickle.Options{Size: int64(len(p))})
		if r.Err != nil {
			b.Fatal(r.Err)
		}
		ops = r.Ops
	}
	b.ReportMetric(float64(ops), "opcodes/op")
}
