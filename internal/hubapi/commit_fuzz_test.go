package hubapi

import (
	"bytes"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

// FuzzParseCommit feeds the NDJSON commit reader arbitrary bodies: it
// must never panic, never hand back more than it was sent, and every
// operation it accepts must be one of the four kinds.
func FuzzParseCommit(f *testing.F) {
	f.Add([]byte(`{"key":"header","value":{"summary":"s","description":"d","parentCommit":"abcdef0"}}` + "\n" +
		`{"key":"file","value":{"path":"a.txt","content":"aGVsbG8=","encoding":"base64"}}` + "\n" +
		`{"key":"lfsFile","value":{"path":"w.bin","algo":"sha256","oid":"` + string(bytes.Repeat([]byte("a"), 64)) + `","size":3}}` + "\n" +
		`{"key":"deletedFile","value":{"path":"old.txt"}}` + "\n" +
		`{"key":"deletedFolder","value":{"path":"dir/"}}` + "\n"))
	f.Add([]byte(`{"key":"header","value":{}}` + "\n" + `{"key":"file","value":{"path":"x","content":"héllo","encoding":"utf-8"}}`))
	f.Add([]byte(`{"key":"header"`))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte(`{"key":"file","value":{"path":"a","content":"!!!"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var staged int
		req, err := parseCommit(bytes.NewReader(data), 1<<12, func(path string, content []byte) (hub.CommitOp, error) {
			staged += len(content)
			return hub.CommitOp{Kind: hub.OpFile, Path: path}, nil
		})
		if err != nil {
			return
		}
		if staged > len(data) {
			t.Fatalf("staged %d bytes from a %d-byte body", staged, len(data))
		}
		for _, op := range req.Ops {
			switch op.Kind {
			case hub.OpFile, hub.OpLFSFile, hub.OpDeleteFile, hub.OpDeleteFolder:
			default:
				t.Fatalf("operation of kind %d", op.Kind)
			}
			if op.Kind == hub.OpFile && op.Content != nil {
				t.Fatal("a regular file kept its content after staging")
			}
		}
	})
}
