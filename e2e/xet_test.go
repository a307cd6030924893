package e2e

import "testing"

// TestJSClientXet runs js/xet.test.mjs: uploads and downloads through Xet
// with the unmodified @huggingface/hub client (its default), on the
// embedded default and, when the test servers run, on PostgreSQL + S3
// with xorb ranges fetched from presigned S3 URLs.
func TestJSClientXet(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		h := StartHub(t, HubOptions{})
		RunNode(t, "js/xet.test.mjs", h.Users(t)...)
	})
	t.Run("postgres+s3", func(t *testing.T) {
		h := StartHub(t, HubOptions{StoreArgs: scaleOutStore(t)})
		RunNode(t, "js/xet.test.mjs", append(h.Users(t), "E2E_PREFIX=xets3")...)
	})
}
