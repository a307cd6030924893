package mirror_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dropKeys removes keys that legitimately differ between two hubs (counts,
// local times, scan results) from decoded JSON, recursively.
func dropKeys(v any, keys ...string) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(x, k)
		}
		for k, e := range x {
			x[k] = dropKeys(e, keys...)
		}
	case []any:
		for i, e := range x {
			x[i] = dropKeys(e, keys...)
		}
	}
	return v
}

// TestIdentity reads every API the clients use through the mirror and
// directly from the upstream: same commit ids, tree entries, ETags,
// X-Linked-* headers and bytes.
func TestIdentity(t *testing.T) {
	f := newFixture(t)
	mh := startMirror(t, f.up.URL, mirrorOpts{})
	main := jsonOf(t, f.up.do("GET", "/api/models/alice/model/revision/main", "")).(map[string]any)["sha"].(string)
	for _, tc := range []struct {
		name, path string
		volatile   []string // keys that may differ
	}{
		{"info", "/api/models/alice/model/revision/main?blobs=true", []string{"createdAt", "lastModified", "downloads", "downloadsAllTime", "likes", "trendingScore", "securityRepoStatus", "usedStorage", "spaces"}},
		{"info by commit", "/api/models/alice/model/revision/" + main, []string{"createdAt", "lastModified", "downloads", "downloadsAllTime", "likes", "trendingScore", "securityRepoStatus", "usedStorage", "spaces"}},
		{"tree", "/api/models/alice/model/tree/main?recursive=true&expand=true", []string{"securityFileStatus"}},
		{"tree of a folder", "/api/models/alice/model/tree/main/sub?recursive=false", nil},
		{"tree of a tag", "/api/models/alice/model/tree/v1-annotated?recursive=true", nil},
		{"tree of a branch", "/api/models/alice/model/tree/dev", nil},
		{"refs", "/api/models/alice/model/refs?include_prs=1", nil},
		{"commits", "/api/models/alice/model/commits/main", nil},
		{"commits of dev", "/api/models/alice/model/commits/dev", nil},
		{"dataset tree", "/api/datasets/alice/data/tree/main?recursive=true", nil},
		{"missing revision", "/api/models/alice/model/tree/nope", nil},
		{"missing repository", "/api/models/alice/nothing", nil},
		{"private repository", "/api/models/alice/secret", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := f.up.do("GET", tc.path, "")
			got := mh.do("GET", tc.path, "")
			if got.status != want.status || got.h.Get("X-Error-Code") != want.h.Get("X-Error-Code") {
				t.Fatalf("status %d %q, upstream %d %q: %s", got.status, got.h.Get("X-Error-Code"), want.status, want.h.Get("X-Error-Code"), got.body)
			}
			if want.status != http.StatusOK {
				return
			}
			w, g := dropKeys(jsonOf(t, want), tc.volatile...), dropKeys(jsonOf(t, got), tc.volatile...)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("mirror differs from upstream (-upstream +mirror):\n%s", diff)
			}
		})
	}

	pathsInfo := func(a *agora) any {
		return jsonOf(t, doURL(t, "POST", a.URL+"/api/models/alice/model/paths-info/main", "",
			[]byte(`{"paths":["weights.bin","config.json","sub","missing"],"expand":true}`), "Content-Type", "application/json"))
	}
	if diff := cmp.Diff(dropKeys(pathsInfo(f.up.agoraPtr()), "securityFileStatus"), dropKeys(pathsInfo(mh.agora), "securityFileStatus")); diff != "" {
		t.Errorf("paths-info (-upstream +mirror):\n%s", diff)
	}

	// Downloads: the headers the clients key their caches on, and the
	// bytes, for regular and LFS files, whole and ranged, by branch, tag
	// and commit.
	headers := []string{"ETag", "X-Linked-Etag", "X-Linked-Size", "X-Repo-Commit", "Content-Length", "Content-Range", "Accept-Ranges", "Content-Type"}
	for _, tc := range []struct {
		method, path string
		hdr          []string
	}{
		{"HEAD", "/alice/model/resolve/main/weights.bin", nil},
		{"GET", "/alice/model/resolve/main/weights.bin", nil},
		{"GET", "/alice/model/resolve/main/big.bin", []string{"Range", "bytes=0-0"}},
		{"GET", "/alice/model/resolve/main/big.bin", []string{"Range", "bytes=2000000-2000099"}},
		{"GET", "/alice/model/resolve/main/big.bin", nil},
		{"GET", "/alice/model/resolve/v1/config.json", nil},
		{"GET", "/alice/model/resolve/" + main + "/README.md", nil},
		{"GET", "/alice/model/raw/main/weights.bin", nil},
		{"HEAD", "/alice/model/resolve/dev/dev.txt", nil},
		{"GET", "/alice/model/resolve/main/missing.txt", nil},
		{"GET", "/datasets/alice/data/resolve/main/data/train.csv", nil},
	} {
		t.Run(tc.method+" "+tc.path+" "+strings.Join(tc.hdr, ":"), func(t *testing.T) {
			want := f.up.do(tc.method, tc.path, "", tc.hdr...)
			got := mh.do(tc.method, tc.path, "", tc.hdr...)
			if got.status != want.status {
				t.Fatalf("status %d, upstream %d: %s", got.status, want.status, got.body)
			}
			for _, h := range headers {
				if got.h.Get(h) != want.h.Get(h) {
					t.Errorf("%s = %q, upstream %q", h, got.h.Get(h), want.h.Get(h))
				}
			}
			if !bytes.Equal(got.body, want.body) {
				t.Errorf("body differs (%d bytes, upstream %d)", len(got.body), len(want.body))
			}
			if h := got.h.Get("Location"); h != "" {
				t.Errorf("the mirror sends the client elsewhere: %s", h)
			}
		})
	}
	// The whole file was filled once and is now served from the cache.
	before := f.up.contentGets.Load()
	got := mh.do("GET", "/alice/model/resolve/main/big.bin", "")
	if !bytes.Equal(got.body, f.big) || f.up.contentGets.Load() != before {
		t.Errorf("cached download: %d bytes, %d more upstream transfers", len(got.body), f.up.contentGets.Load()-before)
	}
	if n, _ := strconv.Atoi(got.h.Get("Content-Length")); n != len(f.big) {
		t.Errorf("Content-Length %d", n)
	}
}

func (a *agora) agoraPtr() *agora { return a }

// TestWebMarksMirrors: the repository page names the upstream and the
// last sync; a local repository's does not.
func TestWebMarksMirrors(t *testing.T) {
	f := newFixture(t)
	mh := startMirror(t, f.up.URL, mirrorOpts{})
	if r := mh.do("GET", "/api/models/alice/model", ""); r.status != 200 {
		t.Fatalf("info: %d", r.status)
	}
	page := mh.do("GET", "/alice/model", "")
	if page.status != 200 || !bytes.Contains(page.body, []byte(`Mirror of upstream <b>up</b> · last synced <time`)) {
		t.Errorf("mirror page (%d) lacks the mirror line", page.status)
	}
	if up := f.up.do("GET", "/alice/model", ""); bytes.Contains(up.body, []byte("Mirror of")) {
		t.Error("a local repository's page says it is a mirror")
	}
}
