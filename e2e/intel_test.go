package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/agorahub/agora/internal/formats/gguf"
	"github.com/agorahub/agora/internal/formats/safetensors"
)

// writeModelFiles generates the weights the intelligence suite uploads:
// a sharded safetensors model with its index, a single-file safetensors
// adapter, a GGUF file, and a hostile safetensors header.
func writeModelFiles(t *testing.T, dir string) {
	t.Helper()
	write := func(name string, fn func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Shard 1: 64*32 F32 + 32 BF16; shard 2: 1000 F16 + 3*5*7 F32.
	write("model-00001-of-00002.safetensors", func(b *bytes.Buffer) error {
		return safetensors.Write(b, []safetensors.TensorSpec{
			{Name: "model.embed.weight", Dtype: safetensors.F32, Shape: []int64{64, 32}},
			{Name: "model.norm.weight", Dtype: safetensors.BF16, Shape: []int64{32}},
		}, map[string]string{"format": "pt"})
	})
	write("model-00002-of-00002.safetensors", func(b *bytes.Buffer) error {
		return safetensors.Write(b, []safetensors.TensorSpec{
			{Name: "lm_head.weight", Dtype: safetensors.F16, Shape: []int64{1000}},
			{Name: "model.layers.0.w", Dtype: safetensors.F32, Shape: []int64{3, 5, 7}},
		}, nil)
	})
	index := map[string]any{
		"metadata": map[string]any{"total_size": 64*32*4 + 32*2 + 1000*2 + 105*4},
		"weight_map": map[string]string{
			"model.embed.weight": "model-00001-of-00002.safetensors",
			"model.norm.weight":  "model-00001-of-00002.safetensors",
			"lm_head.weight":     "model-00002-of-00002.safetensors",
			"model.layers.0.w":   "model-00002-of-00002.safetensors",
		},
	}
	write("model.safetensors.index.json", func(b *bytes.Buffer) error { return json.NewEncoder(b).Encode(index) })
	write("adapter_model.safetensors", func(b *bytes.Buffer) error {
		return safetensors.Write(b, []safetensors.TensorSpec{
			{Name: "lora_A", Dtype: safetensors.F32, Shape: []int64{8, 32}},
			{Name: "lora_B", Dtype: safetensors.F32, Shape: []int64{32, 8}},
		}, nil)
	})
	write("model-q4.gguf", func(b *bytes.Buffer) error {
		tokens := []string{"<unk>", "<s>", "</s>", "hello", "world"}
		return gguf.Write(b, []gguf.KV{
			{Key: "general.architecture", Value: gguf.String("llama")},
			{Key: "general.name", Value: gguf.String("base-llm")},
			{Key: "llama.context_length", Value: gguf.Uint32(4096)},
			{Key: "tokenizer.ggml.tokens", Value: gguf.Array(tokens)},
			{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(1)},
			{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
			{Key: "tokenizer.chat_template", Value: gguf.String("{% for m in messages %}{{ m.content }}{% endfor %}")},
		}, []gguf.TensorInfo{
			{Name: "token_embd.weight", Shape: []uint64{64, 5}, Type: gguf.F32},
			{Name: "blk.0.attn_q.weight", Shape: []uint64{64, 64}, Type: gguf.F16},
		}, nil)
	})
	// A header that declares 2^60 bytes: reported as invalid, never read.
	write("broken.safetensors", func(b *bytes.Buffer) error {
		binary.Write(b, binary.LittleEndian, uint64(1)<<60)
		b.WriteString(`{"a":`)
		return nil
	})
}

func TestJSClientModelIntelligence(t *testing.T) {
	h := StartHub(t, HubOptions{})
	env := h.Users(t)
	dir := t.TempDir()
	writeModelFiles(t, dir)
	RunNode(t, "js/intel.test.mjs", append(env, "FILES_DIR="+dir, "E2E_PREFIX=intel")...)
	// reindex recomputes the same metadata from the stored objects while
	// the server runs.
	out := h.Admin(t, "reindex")
	if out != "reindex complete" {
		t.Fatalf("reindex: %q", out)
	}
}
