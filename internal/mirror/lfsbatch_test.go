package mirror_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// TestGitLFSFillsMirror: git-lfs asks the batch API for objects by id
// only; for a mirrored repository the objects not cached yet get download
// URLs that fill the cache from the upstream when used, so that `git
// clone` of a mirror gets its LFS files. A wrong size or an id the
// upstream does not serve fails at the URL and caches nothing; a
// repository the caller may not see gives no URL at all.
func TestGitLFSFillsMirror(t *testing.T) {
	f := newFixture(t)
	mh := startMirror(t, f.up.URL, mirrorOpts{})
	if r := mh.do("GET", "/api/models/alice/model", ""); r.status != http.StatusOK {
		t.Fatalf("model info: %d %s", r.status, r.body)
	}
	batch := func(repo, token, oid string, size int) (int, map[string]any) {
		t.Helper()
		body := fmt.Sprintf(`{"operation":"download","transfers":["basic"],"objects":[{"oid":%q,"size":%d}]}`, oid, size)
		r := doURL(t, "POST", mh.URL+"/"+repo+".git/info/lfs/objects/batch", token, []byte(body),
			"Content-Type", "application/vnd.git-lfs+json", "Accept", "application/vnd.git-lfs+json")
		if r.status != http.StatusOK {
			return r.status, nil
		}
		var ans struct{ Objects []map[string]any }
		if err := json.Unmarshal(r.body, &ans); err != nil || len(ans.Objects) != 1 {
			t.Fatalf("batch answer: %v %s", err, r.body)
		}
		return r.status, ans.Objects[0]
	}
	href := func(o map[string]any) string {
		t.Helper()
		a, _ := o["actions"].(map[string]any)
		d, _ := a["download"].(map[string]any)
		h, _ := d["href"].(string)
		if h == "" {
			t.Fatalf("no download href: %v", o)
		}
		return h
	}
	oid := oidOf(f.big)

	// A wrong size gets a URL, but the fill refuses the bytes: the client
	// never reads a whole body (doURL's status -1 is a broken one).
	_, o := batch("alice/model", "", oid, len(f.big)+1)
	if r := doURL(t, "GET", href(o), "", nil); r.status == http.StatusOK {
		t.Fatalf("a download claiming the wrong size succeeded: %d bytes", len(r.body))
	}
	// An id the upstream does not serve: the upstream's refusal (a 502,
	// as for any content the upstream names and cannot serve).
	_, o = batch("alice/model", "", oidOf([]byte("nowhere")), 7)
	if r := doURL(t, "GET", href(o), "", nil); r.status != http.StatusBadGateway {
		t.Fatalf("unknown object: %d %s", r.status, r.body)
	}
	// The real object, cold then cached.
	for _, round := range []string{"cold", "cached"} {
		_, o = batch("alice/model", "", oid, len(f.big))
		r := doURL(t, "GET", href(o), "", nil)
		if r.status != http.StatusOK || !bytes.Equal(r.body, f.big) {
			t.Fatalf("%s download: %d, %d bytes", round, r.status, len(r.body))
		}
	}
	// A private upstream repository stays private on the mirror.
	if st, _ := batch("alice/secret", "", oidOf(pattern(2000, 3)), 2000); st == http.StatusOK {
		t.Fatalf("anonymous batch on a private mirrored repository: %d", st)
	}
}
