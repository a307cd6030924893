package scan

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkScanLargeZip scans a PyTorch-style zip whose tensor record is a
// sparse hole, so the file costs no disk: the scan must read the pickle,
// not the tensor bytes. The tensor size defaults to 64 MiB; set
// AGORA_BENCH_ZIP_SIZE (bytes, e.g. 2147483648) for the 2 GiB case. The
// bytes-read metric shows what was read per scan.
func BenchmarkScanLargeZip(b *testing.B) {
	n := int64(64 << 20)
	if v := os.Getenv("AGORA_BENCH_ZIP_SIZE"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 4 {
			b.Fatalf("AGORA_BENCH_ZIP_SIZE=%q: want a byte count", v)
		}
	}
	path := filepath.Join(b.TempDir(), "pytorch_model.bin")
	size := writeSparseTorchZip(b, path, n&^3)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(size)
	b.ResetTimer()
	var read int64
	for b.Loop() {
		r := ScanFile(b.Context(), f, size, "pytorch_model.bin", Limits{})
		if !r.Safe() || !r.WeightsOnly {
			b.Fatalf("result %+v", r)
		}
		read = r.BytesRead
	}
	b.ReportMetric(float64(read), "bytes-read/op")
}
