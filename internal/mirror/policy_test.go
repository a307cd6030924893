package mirror_test

import (
	"testing"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/mirror"
)

func TestPolicy(t *testing.T) {
	model := func(id string) hub.RepoRef {
		ns, name := "", id
		for i := range id {
			if id[i] == '/' {
				ns, name = id[:i], id[i+1:]
			}
		}
		return hub.RepoRef{Type: hub.TypeModel, Namespace: ns, Name: name}
	}
	dataset := func(id string) hub.RepoRef { r := model(id); r.Type = hub.TypeDataset; return r }
	for _, tc := range []struct {
		policy string
		ref    hub.RepoRef
		want   bool
	}{
		{"all", model("a/b"), true},
		{"", dataset("a/b"), true},
		{"allow:meta-llama/*", model("meta-llama/Llama-3.1-8B"), true},
		{"allow:meta-llama/*", model("Meta-Llama/x"), true}, // ids compare case-insensitively
		{"allow:meta-llama/*", model("mistralai/x"), false},
		{"allow:meta-llama/*,mistralai/*", model("mistralai/x"), true},
		{"allow:*/bert-*", model("google/bert-base"), true},
		{"allow:*", model("gpt2"), true}, // canonical ids have no namespace
		{"allow:*", model("a/b"), false}, // '*' stays within a segment
		{"allow:datasets/*/*", dataset("a/b"), true},
		{"allow:datasets/*/*", model("a/b"), false},
		{"deny:secret/*", model("secret/x"), false},
		{"deny:secret/*", model("open/x"), true},
		{"deny:models/*/*", dataset("a/b"), true},
	} {
		p, err := mirror.ParsePolicy(tc.policy)
		if err != nil {
			t.Fatalf("ParsePolicy(%q): %v", tc.policy, err)
		}
		if got := p.Claims(tc.ref); got != tc.want {
			t.Errorf("%q claims %s %s = %v, want %v", tc.policy, tc.ref.Type, tc.ref.FullName(), got, tc.want)
		}
	}
	for _, bad := range []string{"allow:", "deny", "maybe:a/*", "allow:[", "allow:,"} {
		if _, err := mirror.ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"hf=https://huggingface.co", true},
		{"local=http://10.0.0.2:8080/prefix/", true},
		{"HF=https://x", false},
		{"hf", false},
		{"hf=ftp://x", false},
		{"hf=https://user:pw@x", false},
	} {
		if _, err := mirror.ParseUpstream(tc.in); (err == nil) != tc.ok {
			t.Errorf("ParseUpstream(%q): %v", tc.in, err)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		patterns []string
		path     string
		want     bool
	}{
		{nil, "anything", true},
		{[]string{"*.safetensors"}, "model-00001.safetensors", true},
		{[]string{"*.safetensors"}, "sub/model.safetensors", true}, // a pattern without '/' matches the file name
		{[]string{"sub/*.bin"}, "sub/a.bin", true},
		{[]string{"sub/*.bin"}, "sub/deep/a.bin", false},
		{[]string{"sub/**"}, "sub/deep/a.bin", true},
		{[]string{"*.gguf", "config.json"}, "config.json", true},
		{[]string{"*.gguf"}, "model.bin", false},
	} {
		if got := mirror.Matches(tc.patterns, tc.path); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.patterns, tc.path, got, tc.want)
		}
	}
}
