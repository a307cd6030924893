package safetensors

import (
	"math"
	"strings"
)

// Count is the Hub's `safetensors` object of model info
// (`expand=["safetensors"]`).
type Count struct {
	// Parameters maps a dtype name to the number of parameters of that dtype.
	Parameters map[string]int64 `json:"parameters"`
	// Total is the sum of Parameters, or the self-declared
	// "total_parameters" metadata when that is smaller (see [Header.Total]).
	Total   int64 `json:"total"`
	Sharded bool  `json:"sharded"`
}

// Parameters returns the number of parameters per dtype, counted as the Hub
// counts them (huggingface.js computeNumOfParamsByDtypeSingleFile) for a
// model whose config.json has no quantization_config:
//
//   - each tensor contributes the product of its shape to its dtype;
//   - 0-rank tensors (scalars) are skipped;
//   - F8_E8M0 tensors are skipped: that exponent-only type only ever holds
//     MX block scales, never weights;
//   - sub-byte dtypes (F4, F6_*) need no packing factor: their shape
//     already counts elements, not bytes.
//
// The Hub additionally reads quantization_config from config.json to skip
// bookkeeping tensors (scales, zero points, g_idx, bitsandbytes state) and
// to multiply packed integer containers (GPTQ/AWQ qweight ×32/bits, U8 ×2
// for 4-bit bitsandbytes/mxfp4 blocks, compressed-tensors pack-quantized
// ×container/num_bits). That needs config.json, which this package does
// not read, so for such models this count is of stored elements, not of
// logical parameters.
func (h *Header) Parameters() map[string]int64 {
	m := make(map[string]int64)
	for _, t := range h.Tensors {
		if len(t.Shape) == 0 || t.Dtype == F8E8M0 {
			continue
		}
		n, ok := numElements(t.Shape)
		if !ok {
			continue
		}
		m[string(t.Dtype)] = addSat(m[string(t.Dtype)], n)
	}
	return m
}

// Total returns the total parameter count the Hub shows: the sum of
// [Header.Parameters], unless __metadata__ declares "total_parameters", in
// which case that value wins but is capped at the computed sum (a file
// cannot claim more parameters than it stores). A declared value that is
// empty, not an integer or negative is ignored.
func (h *Header) Total() int64 {
	d, ok := parseDeclaredTotal(h.Metadata["total_parameters"])
	return total(h.Parameters(), d, ok)
}

// Count returns the Hub's `safetensors` object for a single-file model.
func (h *Header) Count() Count {
	p := h.Parameters()
	d, ok := parseDeclaredTotal(h.Metadata["total_parameters"])
	return Count{Parameters: p, Total: total(p, d, ok)}
}

// total sums params and applies a declared total, if ok, as a cap.
func total(params map[string]int64, declared int64, ok bool) int64 {
	var sum int64
	for _, n := range params {
		sum = addSat(sum, n)
	}
	if d := declared; ok && d < sum {
		return d
	}
	return sum
}

// parseDeclaredTotal mimics JavaScript parseInt on a "total_parameters"
// string: optional leading whitespace and sign, then leading digits; the
// rest is ignored. It reports false when there are no digits or the value
// is negative, the cases huggingface.js discards.
func parseDeclaredTotal(s string) (int64, bool) {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var v int64
	digits := 0
	for ; digits < len(s) && s[digits] >= '0' && s[digits] <= '9'; digits++ {
		if v > (math.MaxInt64-9)/10 {
			v = math.MaxInt64 // saturate; it is only ever compared as a cap
			continue
		}
		v = v*10 + int64(s[digits]-'0')
	}
	if digits == 0 || (neg && v != 0) {
		return 0, false
	}
	return v, true
}

// addSat adds two non-negative counts, saturating at MaxInt64 rather than
// wrapping (only reachable by summing many shards of absurd size).
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
