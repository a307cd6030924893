package hub

import (
	"errors"
	"testing"

	"github.com/agorahub/agora/internal/meta"
	"github.com/google/go-cmp/cmp"
)

func TestCheckCardMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		repoType string
		readme   string
		wantMsg  string // "" means accepted
	}{
		{name: "valid model card", repoType: meta.TypeModel, readme: "---\nlicense: mit\nbase_model: a/b\n---\n# M\n"},
		{name: "no metadata is only a warning", repoType: meta.TypeModel, readme: "# M\n"},
		{name: "empty README", repoType: meta.TypeDataset, readme: ""},
		{
			name:     "bad base model and tags",
			repoType: meta.TypeModel,
			readme:   "---\nbase_model: /tmp/ckpt\ntags: [a, 1]\n---\n",
			wantMsg: "Invalid metadata in README.md.\n" +
				`- "tags[1]" must be a string` + "\n" +
				`- "base_model" with value "/tmp/ckpt" is not valid. Use a model id from https://hf.co/models.`,
		},
		{
			name:     "dataset rules apply to datasets",
			repoType: meta.TypeDataset,
			readme:   "---\nsize_categories: other\nconfigs:\n- data_files: a.csv\n---\n",
			wantMsg:  "Invalid metadata in README.md.\n" + `- "configs[0].config_name" is required`,
		},
		// Unparseable front matter is kept and shown as cardError.
		{name: "YAML syntax is kept", repoType: meta.TypeModel, readme: "---\nlicense: [mit\n---\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkCardMetadata(tc.repoType, []byte(tc.readme))
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want an ErrInvalid", err)
			}
			he, ok := AsError(err)
			if !ok {
				t.Fatalf("got %T, want *Error", err)
			}
			if diff := cmp.Diff(tc.wantMsg, he.Msg); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommittedReadme(t *testing.T) {
	t.Parallel()
	file := func(path, content string) CommitOp {
		return CommitOp{Kind: OpFile, Path: path, Content: []byte(content)}
	}
	tests := []struct {
		name   string
		ops    []CommitOp
		want   string
		wantOK bool
	}{
		{name: "no README", ops: []CommitOp{file("a.txt", "x")}},
		{name: "README added", ops: []CommitOp{file("README.md", "card"), file("a.txt", "x")}, want: "card", wantOK: true},
		{name: "last write wins", ops: []CommitOp{file("README.md", "one"), file("README.md", "two")}, want: "two", wantOK: true},
		{name: "nested README is not the card", ops: []CommitOp{file("docs/README.md", "x")}},
		{name: "other spelling is not the card", ops: []CommitOp{file("readme.md", "x")}},
		{name: "deleted after writing", ops: []CommitOp{file("README.md", "x"), {Kind: OpDeleteFile, Path: "README.md"}}},
		{name: "written after deleting", ops: []CommitOp{{Kind: OpDeleteFile, Path: "README.md"}, file("README.md", "new")}, want: "new", wantOK: true},
		{name: "through LFS", ops: []CommitOp{{Kind: OpLFSFile, Path: "README.md", OID: "ab"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := committedReadme(tc.ops)
			if string(got) != tc.want || ok != tc.wantOK {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
