package gitobj

import "testing"

func TestSpecialNames(t *testing.T) {
	cases := []struct {
		name                   string
		git, modules, attrFile bool
	}{
		{name: ".git", git: true},
		{name: ".GIT", git: true},
		{name: "git~1", git: true},
		{name: "GiT~1", git: true},
		{name: ".git. .", git: true},
		{name: ".git::$INDEX_ALLOCATION", git: true},
		{name: ".git\\x", git: true},
		{name: ".g\u200cit", git: true},
		{name: "\ufeff.gi\u200dT\u206f", git: true},
		{name: ".git\xff", git: true}, // HFS+ escapes bad UTF-8: git refuses it to be safe
		{name: ".gitx"},
		{name: ".github"},
		{name: "git~2"},
		{name: "git"},
		{name: ".g\u00e9it"},
		{name: ".gitmodules", modules: true},
		{name: ".GitModules .", modules: true},
		{name: ".gitmodules:$DATA", modules: true},
		{name: "gitmod~1", modules: true},
		{name: "GITMOD~4", modules: true},
		{name: "gi7eba~1", modules: true},
		{name: "gi7eb~12", modules: true},
		{name: ".gitmodules\u200c", modules: true},
		{name: "gitmod~5"},
		{name: ".gitmodulesx"},
		{name: "gitmodules"},
		{name: ".gitattributes", attrFile: true},
		{name: "gitatt~1", attrFile: true},
		{name: "gi7d29~1", attrFile: true},
		{name: ".gitattributes\u200e", attrFile: true},
		{name: ".gitattribute"},
	}
	for _, c := range cases {
		if got := IsDotGit(c.name); got != c.git {
			t.Errorf("IsDotGit(%q) = %v", c.name, got)
		}
		if got := IsDotGitmodules(c.name); got != c.modules {
			t.Errorf("IsDotGitmodules(%q) = %v", c.name, got)
		}
		if got := IsDotGitattributes(c.name); got != c.attrFile {
			t.Errorf("IsDotGitattributes(%q) = %v", c.name, got)
		}
	}
}

func TestValidatePathSpecialNames(t *testing.T) {
	cases := []struct {
		path string
		ok   bool
	}{
		{"a/b.txt", true},
		{".gitmodules", true},
		{"sub/.gitattributes", true},
		{".github/x", true},
		{".git", false},
		{"a/.GIT/config", false},
		{"git~1/config", false},
		{".git. /hooks/x", false},
		{".git::$INDEX_ALLOCATION/x", false},
		{".g\u200cit/hooks/post-checkout", false},
		{".gitmodules/x", false},
		{"GITMOD~1/x", false},
		{".gitattributes /x", false},
		{"a/", false},
	}
	for _, c := range cases {
		err := ValidatePath(c.path)
		if (err == nil) != c.ok {
			t.Errorf("ValidatePath(%q) = %v, want ok=%v", c.path, err, c.ok)
		}
	}
}
