package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// Pickles written opcode by opcode (no Python needed): a benign
// OrderedDict and one that calls os.system through posix.system.
var (
	benignPickle  = []byte("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.")
	hostilePickle = []byte("\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
)

func writePickles(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string][]byte{"benign.pkl": benignPickle, "hostile.bin": hostilePickle} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestJSClientScanning(t *testing.T) {
	dir := writePickles(t)
	t.Run("flag", func(t *testing.T) {
		h := StartHub(t, HubOptions{})
		RunNode(t, "js/scan.test.mjs", append(h.Users(t), "FILES_DIR="+dir, "SCAN_POLICY=flag", "E2E_PREFIX=scanflag")...)
	})
	t.Run("block", func(t *testing.T) {
		h := StartHub(t, HubOptions{ServeArgs: []string{"--scan-policy", "block"}})
		RunNode(t, "js/scan.test.mjs", append(h.Users(t), "FILES_DIR="+dir, "SCAN_POLICY=block", "E2E_PREFIX=scanblock")...)
	})
}

// TestScanCLI runs `agora scan` the way a CI pipeline would.
func TestScanCLI(t *testing.T) {
	dir := writePickles(t)
	bin := agoraBinary(t)
	out, err := runCmd(bin, "scan", filepath.Join(dir, "benign.pkl"))
	if err != nil {
		t.Fatalf("benign file: %v\n%s", err, out)
	}
	out, err = runCmd(bin, "scan", dir)
	if err == nil {
		t.Fatalf("a dangerous file passed:\n%s", out)
	}
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, out)
	}
}
