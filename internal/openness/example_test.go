package openness_test

import (
	"fmt"

	"github.com/agorahub/agora/internal/openness"
)

func ExampleClassify() {
	r := openness.Classify(openness.Input{
		Files: []string{"README.md", "config.json", "model.safetensors", "tokenizer.json"},
		Card:  map[string]any{"license": "llama3", "library_name": "transformers"},
	})
	fmt.Println(r.Class, r.Label, r.Tags)
	for _, c := range r.Components[:2] {
		fmt.Printf("%s: %s (%s, %s)\n", c.Name, c.Status, c.License, c.Evidence)
	}
	// Output:
	// 0 Not open (MOF Class III not met) [openness:none]
	// Model architecture: present (Apache-2.0, library: transformers (card: library_name))
	// Model parameters (Final): non-open-license (llama3, file: model.safetensors)
}
