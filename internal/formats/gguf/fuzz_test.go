package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// allocated returns the bytes f allocates. It is approximate (the whole
// process is measured), so callers compare it with generous bounds.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func FuzzRead(f *testing.F) {
	f.Add(encode(f, llamaKV(), llamaTensors(), nil))
	f.Add(encode(f, llamaKV()[:4], llamaTensors()[:2], &WriteOptions{ByteOrder: binary.BigEndian, Version: 2}))
	f.Add(encode(f, []KV{
		{"nested", ArrayOf(ArrayOf(Array([]uint8{1}), Array([]string{"x"})), Array([]float64{1}))},
		{"b", Array([]bool{true})}, {"i", Int16(-2)}, {"f", Float32(0.5)},
	}, []TensorInfo{{Name: "q", Type: IQ4_XS, Shape: []uint64{256}}}, nil))
	f.Add(newRaw(3, 2, 0).tensor("a", F32, 0, 16).tensor("b", F32, 32, 16).padData(128))
	f.Add(newRaw(3, 0, 1).kv("k", TypeArray).u32(uint32(TypeString)).u64(1 << 40).b)
	f.Add(newRaw(1, 0, 0).b)

	f.Fuzz(func(t *testing.T, data []byte) {
		var file *File
		var err error
		n := allocated(func() { file, err = readBytes(data) })
		if limit := 16*uint64(len(data)) + 1<<20; n > limit {
			t.Errorf("Read of %d bytes allocated %d bytes, limit %d", len(data), n, limit)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, ti := range file.Tensors {
			if end := file.DataOffset + int64(ti.Offset) + ti.Size(); ti.Size() > 0 && end > int64(len(data)) {
				t.Fatalf("tensor %q ends at %d, past the %d-byte file", ti.Name, end, len(data))
			}
		}
		if total := file.TotalParameters(); total < 0 || total > 8*int64(len(data)) {
			t.Fatalf("TotalParameters %d for a %d-byte file", total, len(data))
		}
		_ = file.Summary()

		// Round trip: re-encode, read back, re-encode again.
		opts := &WriteOptions{ByteOrder: file.ByteOrder, Version: file.Version}
		var b1 bytes.Buffer
		if err := Write(&b1, file.KV, file.Tensors, opts); err != nil {
			t.Fatalf("Write of a parsed file: %v", err)
		}
		file2, err := readBytes(b1.Bytes())
		if err != nil {
			t.Fatalf("Read of re-encoded file: %v", err)
		}
		if diff := cmp.Diff(file.KV, file2.KV, cmp.Comparer(valuesEqual)); diff != "" {
			t.Fatalf("round trip changed KV (-orig +new):\n%s", diff)
		}
		type info struct {
			Name  string
			Shape []uint64
			Type  TensorType
		}
		infos := func(f *File) []info {
			var out []info
			for _, t := range f.Tensors {
				out = append(out, info{t.Name, t.Shape, t.Type})
			}
			return out
		}
		if diff := cmp.Diff(infos(file), infos(file2)); diff != "" {
			t.Fatalf("round trip changed tensors (-orig +new):\n%s", diff)
		}
		if file.Alignment != file2.Alignment || file.Summary() != file2.Summary() {
			t.Fatalf("round trip changed alignment or summary")
		}
		var b2 bytes.Buffer
		if err := Write(&b2, file2.KV, file2.Tensors, opts); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding is not stable across a round trip")
		}
	})
}
