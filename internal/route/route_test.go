package route

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/hub"
)

func TestParse(t *testing.T) {
	model := func(ns, name string) hub.RepoRef { return hub.RepoRef{Type: hub.TypeModel, Namespace: ns, Name: name} }
	dataset := func(ns, name string) hub.RepoRef {
		return hub.RepoRef{Type: hub.TypeDataset, Namespace: ns, Name: name}
	}
	tests := []struct {
		method, path string
		owner        Owner
		repo         *Repo // nil: no repository
	}{
		{"GET", "/healthz", Server, nil},
		{"POST", "/healthz", Web, nil},
		{"POST", "/cas/v1/xorbs/default/abc", CAS, nil},
		{"GET", "/cas", CAS, nil},
		{"POST", "/v1/telemetry", CAS, nil},
		{"GET", "/v1/telemetry", Web, &Repo{Ref: model("v1", "telemetry"), N: 2}},

		// The API: the id is read once, a canonical id alone or before a
		// keyword, and never swallows a keyword.
		{"GET", "/api/models", HubAPI, nil},
		{"GET", "/api/whoami-v2", HubAPI, nil},
		{"GET", "/api/models/alice/m", HubAPI, &Repo{Ref: model("alice", "m"), Index: 2, N: 2}},
		{"GET", "/api/datasets/alice/d/tree/main/a%2Fb", HubAPI, &Repo{Ref: dataset("alice", "d"), Index: 2, N: 2, Rest: []string{"tree", "main", "a%2Fb"}}},
		{"GET", "/api/models/gpt2", HubAPI, &Repo{Ref: model("", "gpt2"), Index: 2, N: 1}},
		{"GET", "/api/models/gpt2/refs", HubAPI, &Repo{Ref: model("", "gpt2"), Index: 2, N: 1, Rest: []string{"refs"}}},
		{"POST", "/api/models/a%20b/c", HubAPI, &Repo{Ref: model("a b", "c"), Index: 2, N: 2}},
		{"GET", "/api/spaces/alice/s", HubAPI, nil},

		// Git: with or without .git, canonical ids, the datasets and
		// models prefixes; methods decide.
		{"GET", "/alice/m.git/info/refs", GitProto, &Repo{Ref: model("alice", "m"), Git: true, Index: 0, N: 2, Rest: []string{"info", "refs"}}},
		{"GET", "/alice/m/info/refs", GitProto, &Repo{Ref: model("alice", "m"), Index: 0, N: 2, Rest: []string{"info", "refs"}}},
		{"POST", "/datasets/alice/d.git/git-upload-pack", GitProto, &Repo{Ref: dataset("alice", "d"), Git: true, Index: 1, N: 2, Rest: []string{"git-upload-pack"}}},
		{"POST", "/gpt2/git-upload-pack", GitProto, &Repo{Ref: model("", "gpt2"), Index: 0, N: 1, Rest: []string{"git-upload-pack"}}},
		{"POST", "/models/alice/m/git-receive-pack", GitProto, &Repo{Ref: model("alice", "m"), Index: 1, N: 2, Rest: []string{"git-receive-pack"}}},
		{"GET", "/alice/m/git-upload-pack", Web, &Repo{Ref: model("alice", "m"), Index: 0, N: 2, Rest: []string{"git-upload-pack"}}},

		// LFS and downloads.
		{"POST", "/alice/m.git/info/lfs/objects/batch", HubAPI, &Repo{Ref: model("alice", "m"), Git: true, N: 2, Rest: []string{"info", "lfs", "objects", "batch"}}},
		{"GET", "/alice/m/info/lfs/locks", HubAPI, &Repo{Ref: model("alice", "m"), N: 2, Rest: []string{"info", "lfs", "locks"}}},
		{"HEAD", "/alice/m/resolve/main/config.json", HubAPI, &Repo{Ref: model("alice", "m"), N: 2, Rest: []string{"resolve", "main", "config.json"}}},
		{"GET", "/gpt2/raw/main/x", HubAPI, &Repo{Ref: model("", "gpt2"), N: 1, Rest: []string{"raw", "main", "x"}}},
		{"GET", "/datasets/alice/d/resolve/refs%2Fpr%2F1/x", HubAPI, &Repo{Ref: dataset("alice", "d"), Index: 1, N: 2, Rest: []string{"resolve", "refs%2Fpr%2F1", "x"}}},
		// Downloads do not go through .git, nor take a POST.
		{"GET", "/alice/m.git/resolve/main/x", Web, nil},
		{"POST", "/alice/m/resolve/main/x", Web, &Repo{Ref: model("alice", "m"), N: 2, Rest: []string{"resolve", "main", "x"}}},

		// Attachments and paper pages outside /api answer 501 from the
		// API; a GET of /uploads is a page like any unknown path.
		{"POST", "/uploads", HubAPI, nil},
		{"GET", "/papers/2401.00001.md", HubAPI, nil},
		{"GET", "/uploads", Web, nil},
		{"GET", "/.well-known/openid-configuration", HubAPI, nil},

		// Pages: two valid names, never a canonical id or a reserved
		// namespace.
		{"GET", "/", Web, nil},
		{"GET", "/alice", Web, nil},
		{"GET", "/alice/m", Web, &Repo{Ref: model("alice", "m"), N: 2}},
		{"GET", "/alice/m/tree/main/dir", Web, &Repo{Ref: model("alice", "m"), N: 2, Rest: []string{"tree", "main", "dir"}}},
		{"POST", "/datasets/alice/d/settings", Web, &Repo{Ref: dataset("alice", "d"), Index: 1, N: 2, Rest: []string{"settings"}}},
		{"GET", "/organizations/new", Web, nil},
		{"GET", "/settings/tokens", Web, nil},
		{"GET", "/static/app.css", Web, nil},
		{"GET", "/spaces/alice/s/resolve/main/x", Web, nil},
	}
	for _, tc := range tests {
		a := Parse(tc.method, tc.path)
		if a.Owner != tc.owner {
			t.Errorf("%s %s: owner %q (row %q), want %q", tc.method, tc.path, a.Owner, a.Row, tc.owner)
			continue
		}
		if diff := cmp.Diff(tc.repo, a.Repo, cmp.Comparer(func(a, b []string) bool { return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b)) })); diff != "" {
			t.Errorf("%s %s: repository (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
}

// TestTableEndsWithCatchAll: every request has an owner, so that the
// server never needs a second opinion.
func TestTableEndsWithCatchAll(t *testing.T) {
	rows := Table()
	last := rows[len(rows)-1]
	if len(last.Methods) != 0 {
		t.Fatalf("the last row takes only %v", last.Methods)
	}
	for _, p := range [][]string{nil, {"x"}, {"a", "b", "c", "d"}} {
		if _, ok := last.match(p); !ok {
			t.Errorf("the last row refuses %q", p)
		}
	}
}
