package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// TensorSpec describes one tensor for [Write].
type TensorSpec struct {
	Name  string
	Dtype Dtype
	// Shape is the tensor's dimensions in C order; empty for a scalar.
	Shape []int64
	// Data is the tensor's bytes (little-endian, C order). Its length must
	// be the tensor's byte size. Nil means all zeros.
	Data []byte
}

// Write encodes a safetensors file holding tensors and metadata to w. A
// nil metadata map writes no "__metadata__" entry; a non-nil one, even
// empty, writes it.
//
// The layout follows the reference writer: tensors are stored in
// descending dtype order (U64 ... BOOL, the reference enum order), then by
// name; the header is padded with spaces to a multiple of 8 bytes.
// Write fails, before writing anything, on a duplicate or reserved name, an
// unknown dtype, a negative dimension, a size that is not a whole number of
// bytes, or Data of the wrong length.
func Write(w io.Writer, tensors []TensorSpec, metadata map[string]string) error {
	type entry struct {
		spec TensorSpec
		size int64
	}
	entries := make([]entry, 0, len(tensors))
	names := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if t.Name == "__metadata__" {
			return fmt.Errorf("safetensors write: tensor name %q is reserved", t.Name)
		}
		if names[t.Name] {
			return fmt.Errorf("safetensors write: duplicate tensor %q", t.Name)
		}
		names[t.Name] = true
		n, err := byteSize(t.Name, t.Dtype, t.Shape)
		if err != nil {
			return fmt.Errorf("safetensors write: %w", err)
		}
		if t.Data != nil && int64(len(t.Data)) != n {
			return fmt.Errorf("safetensors write: tensor %q: %d bytes of data, want %d", t.Name, len(t.Data), n)
		}
		entries = append(entries, entry{t, n})
	}
	rank := func(d Dtype) int { return slices.Index(dtypeOrder, d) }
	slices.SortStableFunc(entries, func(a, b entry) int {
		if ra, rb := rank(a.spec.Dtype), rank(b.spec.Dtype); ra != rb {
			return rb - ra
		}
		return strings.Compare(a.spec.Name, b.spec.Name)
	})

	// Build the header by hand: a Go map would lose the layout order,
	// which readers do not need but which keeps files deterministic.
	var hdr bytes.Buffer
	enc := json.NewEncoder(&hdr)
	enc.SetEscapeHTML(false)
	writeKey := func(k string) {
		enc.Encode(k) // cannot fail for a string
		hdr.Truncate(hdr.Len() - 1)
		hdr.WriteByte(':')
	}
	hdr.WriteByte('{')
	first := true
	comma := func() {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
	}
	if metadata != nil {
		comma()
		writeKey("__metadata__")
		hdr.WriteByte('{')
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeKey(k)
			enc.Encode(metadata[k])
			hdr.Truncate(hdr.Len() - 1)
		}
		hdr.WriteByte('}')
	}
	var off int64
	for _, e := range entries {
		comma()
		writeKey(e.spec.Name)
		fmt.Fprintf(&hdr, `{"dtype":%q,"shape":[`, e.spec.Dtype)
		for i, d := range e.spec.Shape {
			if i > 0 {
				hdr.WriteByte(',')
			}
			fmt.Fprint(&hdr, d)
		}
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, off+e.size)
		off += e.size
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}

	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(hdr.Len()))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, e := range entries {
		var err error
		if e.spec.Data != nil {
			_, err = w.Write(e.spec.Data)
		} else {
			_, err = io.CopyN(w, zeros{}, e.size)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
