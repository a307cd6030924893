package e2e

import "testing"

// TestJSClientMirror runs the JS client against a mirror Agora whose
// upstream is another Agora: same commit ids, tree entries, ETags and
// bytes as against the upstream (issue 14).
func TestJSClientMirror(t *testing.T) {
	up := StartHub(t, HubOptions{})
	alice := up.Admin(t, "user", "add", "alice")
	mirror := StartHub(t, HubOptions{ServeArgs: []string{"--upstream", "up=" + up.URL, "--mirror-ttl", "0"}})
	RunNode(t, "js/mirror.test.mjs", "UPSTREAM_URL="+up.URL, "MIRROR_URL="+mirror.URL, "TOKEN_ALICE="+alice)
}
