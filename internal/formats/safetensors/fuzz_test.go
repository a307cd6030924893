package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

// writeSeed encodes a valid file for the seed corpus.
func writeSeed(f *testing.F, specs []TensorSpec, meta map[string]string) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, specs, meta); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzReadHeader(f *testing.F) {
	f.Add(writeSeed(f, nil, nil))
	f.Add(writeSeed(f, []TensorSpec{
		{Name: "model.embed_tokens.weight", Dtype: BF16, Shape: []int64{4, 2}},
		{Name: "scale", Dtype: F8E8M0, Shape: []int64{3}},
		{Name: "packed", Dtype: F4, Shape: []int64{2, 2}},
		{Name: "step", Dtype: I64, Shape: []int64{}},
		{Name: "empty", Dtype: F32, Shape: []int64{0, 9}},
	}, map[string]string{"format": "pt", "total_parameters": "3"}))
	f.Add(rawFile(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, 2))
	f.Add(rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, 0))
	f.Add(rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":[[[[[[[]]]]]]]}}`, 1))
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<63))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, MaxHeaderSize), '{'))

	f.Fuzz(func(t *testing.T, data []byte) {
		br := &boundedReaderAt{t: t, r: bytes.NewReader(data), size: int64(len(data))}
		var h *Header
		var err error
		n := allocated(func() { h, err = ReadHeader(br, br.size) })
		// The raw header buffer is at most the file; JSON decoding costs a
		// bounded multiple of it.
		if limit := 64*uint64(len(data)) + 1<<20; n > limit {
			t.Errorf("ReadHeader of %d bytes allocated %d bytes, limit %d", len(data), n, limit)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if got := h.DataStart + h.DataSize(); got != int64(len(data)) {
			t.Fatalf("DataStart %d + DataSize %d != file size %d", h.DataStart, h.DataSize(), len(data))
		}
		var off int64
		for _, tensor := range h.Tensors {
			if tensor.Begin != off || tensor.End < tensor.Begin {
				t.Fatalf("tensor %q at [%d, %d), want begin %d", tensor.Name, tensor.Begin, tensor.End, off)
			}
			off = tensor.End
		}

		// Round trip: re-encode with the package's writer and read back.
		specs := make([]TensorSpec, len(h.Tensors))
		for i, tensor := range h.Tensors {
			specs[i] = TensorSpec{Name: tensor.Name, Dtype: tensor.Dtype, Shape: tensor.Shape}
		}
		var buf bytes.Buffer
		if err := Write(&buf, specs, h.Metadata); err != nil {
			t.Fatalf("Write of a parsed header: %v", err)
		}
		h2, err := read(buf.Bytes())
		if err != nil {
			t.Fatalf("ReadHeader of re-encoded file: %v", err)
		}
		type summary struct {
			Dtype Dtype
			Shape []int64
			Size  int64
		}
		sum := func(h *Header) map[string]summary {
			m := make(map[string]summary)
			for _, t := range h.Tensors {
				m[t.Name] = summary{t.Dtype, t.Shape, t.End - t.Begin}
			}
			return m
		}
		if diff := cmp.Diff(sum(h), sum(h2), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed tensors (-orig +new):\n%s", diff)
		}
		if diff := cmp.Diff(h.Metadata, h2.Metadata); diff != "" {
			t.Fatalf("round trip changed metadata (-orig +new):\n%s", diff)
		}
		if a, b := h.Count(), h2.Count(); !cmp.Equal(a, b) {
			t.Fatalf("round trip changed Count: %v vs %v", a, b)
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":10,"total_parameters":"5"},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../../etc/passwd"}}`))
	f.Add([]byte(`{"weight_map":{"a":"x","a":"y"}}`))
	f.Add([]byte(`{"metadata":{"k":[[[[{}]]]]},"weight_map":{}}`))
	f.Add([]byte(`{"weight_map":{}}` + strings.Repeat(" ", 100)))

	f.Fuzz(func(t *testing.T, data []byte) {
		var ix *Index
		var err error
		n := allocated(func() { ix, err = ParseIndex(bytes.NewReader(data)) })
		if limit := 64*uint64(len(data)) + 1<<20; n > limit {
			t.Errorf("ParseIndex of %d bytes allocated %d bytes, limit %d", len(data), n, limit)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		shards := ix.Shards()
		if len(shards) > MaxShards || !slices.IsSorted(shards) {
			t.Fatalf("Shards = %d names, sorted %v", len(shards), slices.IsSorted(shards))
		}
		for _, s := range shards {
			if !ValidShardName(s) {
				t.Fatalf("accepted unsafe shard name %q", s)
			}
		}
		// Round trip through encoding/json.
		out, err := json.Marshal(struct {
			Metadata  map[string]json.RawMessage `json:"metadata,omitempty"`
			WeightMap map[string]string          `json:"weight_map"`
		}{ix.Metadata, ix.WeightMap})
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		ix2, err := ParseIndex(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("ParseIndex of re-encoded index %s: %v", out, err)
		}
		if !cmp.Equal(ix.WeightMap, ix2.WeightMap) || ix.TotalSize != ix2.TotalSize {
			t.Fatalf("round trip changed the index")
		}
	})
}
