package gitattr

import "testing"

func TestAttributes(t *testing.T) {
	a := ParseAttributes(`# comment
*.bin filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
/top.dat filter=lfs -text
small.bin -filter
docs/*.md filter=lfs
`)
	cases := []struct {
		path string
		want bool
	}{
		{"model.bin", true},
		{"sub/dir/model.bin", true},
		{"small.bin", false},
		{"x/small.bin", false},
		{"a.tar.gz", true},
		{"a.tar", false},
		{"saved_model/variables/v.data", true},
		{"saved_model/x", true},
		{"other/saved_model/x", false},
		{"runs/events.out.tfevents.123", true},
		{"top.dat", true},
		{"sub/top.dat", false},
		{"docs/a.md", true},
		{"docs/deep/a.md", false},
		{"README.md", false},
	}
	for _, tc := range cases {
		if got := a.IsLFS(tc.path); got != tc.want {
			t.Errorf("IsLFS(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	var nilAttr *Attributes
	if nilAttr.IsLFS("x.bin") {
		t.Error("nil attributes matched")
	}
}

func TestIgnore(t *testing.T) {
	ig := ParseIgnore(`
# build output
*.pyc
/build/
logs/
!keep.pyc
data/**/tmp
`)
	cases := []struct {
		path string
		want bool
	}{
		{"a.pyc", true},
		{"x/y/a.pyc", true},
		{"keep.pyc", false},
		{"build/out.txt", true},
		{"src/build/out.txt", false},
		{"logs/a.txt", true},
		{"deep/logs/a.txt", true},
		{"logs", false},
		{"data/a/b/tmp", true},
		{"data/tmp", true},
		{"main.py", false},
	}
	for _, tc := range cases {
		if got := ig.Ignored(tc.path); got != tc.want {
			t.Errorf("Ignored(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}
