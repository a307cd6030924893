package main

import (
	"io"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

func TestMirrorFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		err  string // substring; "" = valid
		// want: upstream name → token and policy
		want map[string][2]string
	}{
		{name: "none", want: map[string][2]string{}},
		{name: "one with token and policy",
			args: []string{"--upstream", "hf=https://huggingface.co", "--upstream-token", "hf=hf_abc", "--upstream-policy", "hf=allow:meta-llama/*,mistralai/*"},
			want: map[string][2]string{"hf": {"hf_abc", "allow:meta-llama/*,mistralai/*"}}},
		{name: "token from the environment",
			args: []string{"--upstream", "partner-hub=http://10.0.0.2:8080"},
			env:  map[string]string{"AGORA_UPSTREAM_TOKEN_PARTNER_HUB": "hf_env"},
			want: map[string][2]string{"partner-hub": {"hf_env", "all"}}},
		{name: "several in one variable",
			env:  map[string]string{"AGORA_UPSTREAM": "a=http://a b=http://b"},
			want: map[string][2]string{"a": {"", "all"}, "b": {"", "all"}}},
		{name: "token for an unknown upstream", args: []string{"--upstream-token", "hf=x"}, err: `no --upstream named "hf"`},
		{name: "bad policy", args: []string{"--upstream", "hf=https://x", "--upstream-policy", "hf=maybe:x"}, err: "use all"},
		{name: "twice", args: []string{"--upstream", "hf=https://x", "--upstream", "hf=https://y"}, err: "given twice"},
		{name: "bad key", args: []string{"--upstream-key", "abc"}, err: "64 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			f := newFlags("serve", io.Discard)
			mf := addMirrorFlags(f)
			if err := f.parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, _, _, err := mf.config()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][2]string{}
			for _, u := range cfg.Upstreams {
				got[u.Name] = [2]string{string(u.Token), u.Policy.String()}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("upstreams %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestParseRepoArg(t *testing.T) {
	for _, tc := range []struct {
		in, typ string
		ref     hub.RepoRef
		rev     string
		bad     bool
	}{
		{in: "alice/model", typ: "model", ref: hub.RepoRef{Type: "model", Namespace: "alice", Name: "model"}},
		{in: "datasets/alice/data@v1", typ: "model", ref: hub.RepoRef{Type: "dataset", Namespace: "alice", Name: "data"}, rev: "v1"},
		{in: "alice/data@refs/pr/1", typ: "dataset", ref: hub.RepoRef{Type: "dataset", Namespace: "alice", Name: "data"}, rev: "refs/pr/1"},
		{in: "gpt2", typ: "model", ref: hub.RepoRef{Type: "model", Name: "gpt2"}},
		{in: "a/b/c", typ: "model", bad: true},
		{in: "a/b", typ: "space", bad: true},
	} {
		ref, rev, err := parseRepoArg(tc.in, tc.typ)
		if (err != nil) != tc.bad || !tc.bad && (ref != tc.ref || rev != tc.rev) {
			t.Errorf("parseRepoArg(%q) = %+v %q %v", tc.in, ref, rev, err)
		}
	}
}
