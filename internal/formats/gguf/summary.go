package gguf

import (
	"math"
	"strconv"
)

// Summary is the Hub's `gguf` object of model info (`expand=["gguf"]`):
// huggingface.js model-data.ts has total, architecture, context_length and
// chat_template, and the Ollama integration also reads bos_token and
// eos_token. Absent fields are omitted; an empty string and a zero context
// length count as absent.
type Summary struct {
	Total         int64  `json:"total"`
	Architecture  string `json:"architecture,omitempty"`
	ContextLength uint64 `json:"context_length,omitempty"`
	ChatTemplate  string `json:"chat_template,omitempty"`
	BOSToken      string `json:"bos_token,omitempty"`
	EOSToken      string `json:"eos_token,omitempty"`
}

// Summary returns the Hub's `gguf` object for f.
func (f *File) Summary() Summary {
	s := Summary{
		Total:        f.TotalParameters(),
		Architecture: f.Architecture(),
		ChatTemplate: f.ChatTemplate(),
	}
	s.ContextLength, _ = f.ContextLength()
	s.BOSToken, _ = f.BOSToken()
	s.EOSToken, _ = f.EOSToken()
	return s
}

// lookupString returns the string value of key, or "" if it is absent or
// not a string.
func (f *File) lookupString(key string) string {
	v, _ := f.Lookup(key)
	s, _ := v.AsString()
	return s
}

// Architecture returns general.architecture (e.g. "llama"), or "".
func (f *File) Architecture() string { return f.lookupString(KeyArchitecture) }

// ContextLength returns {architecture}.context_length, an integer of any
// width; it reports false when there is no architecture or no such integer.
func (f *File) ContextLength() (uint64, bool) {
	arch := f.Architecture()
	if arch == "" {
		return 0, false
	}
	v, ok := f.Lookup(arch + ".context_length")
	if !ok {
		return 0, false
	}
	return v.AsUint()
}

// ChatTemplate returns tokenizer.chat_template, or "".
func (f *File) ChatTemplate() string { return f.lookupString(KeyChatTemplate) }

// BOSToken returns the text of the beginning-of-sequence token:
// tokenizer.ggml.tokens[tokenizer.ggml.bos_token_id]. It reports false if
// either key is missing, the id is not a non-negative integer, the tokens
// are not an array of strings, or the id is out of range.
func (f *File) BOSToken() (string, bool) { return f.token(KeyBOSTokenID) }

// EOSToken is like [File.BOSToken] for tokenizer.ggml.eos_token_id.
func (f *File) EOSToken() (string, bool) { return f.token(KeyEOSTokenID) }

func (f *File) token(idKey string) (string, bool) {
	v, ok := f.Lookup(idKey)
	if !ok {
		return "", false
	}
	id, ok := v.AsUint()
	if !ok {
		return "", false
	}
	tv, _ := f.Lookup(KeyTokens)
	tokens, ok := tv.Strings()
	if !ok || id >= uint64(len(tokens)) {
		return "", false
	}
	return tokens[id], true
}

// TotalParameters returns the sum of the tensors' element counts, which
// the Hub shows as gguf.total. For a file from [Read] it is below 8 × the
// file size, because the tensors lie inside the file without overlapping
// and no type stores more than 8 elements per byte; huggingface.js rejects
// files that break that bound, which Read already has. The sum saturates
// at MaxInt64 for hand-built Files.
func (f *File) TotalParameters() int64 {
	var total int64
	for _, t := range f.Tensors {
		n := t.NumElements()
		if n < 0 || total > math.MaxInt64-n {
			return math.MaxInt64
		}
		total += n
	}
	return total
}

// FileType returns general.file_type (the llama_ftype of most tensors).
func (f *File) FileType() (uint64, bool) {
	v, ok := f.Lookup(KeyFileType)
	if !ok {
		return 0, false
	}
	return v.AsUint()
}

// fileTypeNames maps general.file_type values to llama_ftype names, as
// huggingface.js GGMLFileQuantizationType does.
var fileTypeNames = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16", 5: "Q4_2",
	6: "Q4_3", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
	12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
	17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
	22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S",
	27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M",
	32: "BF16", 33: "Q4_0_4_4", 34: "Q4_0_4_8", 35: "Q4_0_8_8", 36: "TQ1_0",
	37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0", 41: "Q2_0",
	1000: "Q2_K_XL", 1001: "Q3_K_XL", 1002: "Q4_K_XL", 1003: "Q5_K_XL",
	1004: "Q6_K_XL", 1005: "Q8_K_XL",
}

// FileTypeName returns the name of a general.file_type value, such as
// "Q4_K_M", or "FileType(N)" for an unknown value.
func FileTypeName(ft uint64) string {
	if s, ok := fileTypeNames[ft]; ok {
		return s
	}
	return "FileType(" + strconv.FormatUint(ft, 10) + ")"
}
