package sqlstore

import (
	"bytes"
	"strings"
	"testing"
)

func TestContent(t *testing.T) {
	hello := deflate([]byte("hello"))
	tests := []struct {
		name    string
		data    []byte
		z, size int
		want    string
		wantErr string
	}{
		{"stored whole", []byte("hello"), 0, 5, "hello", ""},
		{"deflated", hello, 1, 5, "hello", ""},
		{"empty", deflate(nil), 1, 0, "", ""},
		{"large", deflate(bytes.Repeat([]byte("ab"), 1<<16)), 1, 1 << 17, strings.Repeat("ab", 1<<16), ""},
		{"size larger than the content", hello, 1, 6, "", "inflate"},
		{"size smaller than the content", hello, 1, 4, "", "more than 4 bytes"},
		{"truncated stream", hello[:len(hello)-3], 1, 5, "", "inflate"},
		{"not zlib", []byte("hello"), 1, 5, "", "inflate"},
	}
	// Twice: the second round reuses pooled readers, which must not
	// carry anything over.
	for range 2 {
		for _, tc := range tests {
			got, err := content(tc.data, tc.z, tc.size)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case string(got) != tc.want:
				t.Errorf("%s: %d bytes, want %d", tc.name, len(got), len(tc.want))
			}
		}
	}
}
