// Package depstest states the dependency rules of STYLE.md §3.2 as a test:
// which packages may import which. It is a statement of policy, in the
// spirit of go/build's deps_test.go.
package depstest

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/agorahub/agora"

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	touchSources(t)
	out, err := exec.CommandContext(t.Context(), "go", "list", "-json", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func short(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, mod), "/") }

func isInternal(p string) bool { return strings.HasPrefix(p, mod+"/") }

func isStd(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// allowed lists, for each package (prefix match on the short path), the
// internal packages it may import. "*" allows any.
var allowed = map[string][]string{
	"cmd/agora":                    {"*"},
	"internal/server":              {"internal/hub", "internal/auth", "internal/limits", "internal/route"},
	"internal/route":               {"internal/hub"},
	"internal/hubapi":              {"internal/server", "internal/route", "internal/hub", "internal/wire", "internal/gitobj", "internal/formats/card"},
	"internal/gitproto":            {"internal/server", "internal/route", "internal/hub", "internal/gitobj", "internal/gitobj/packfile"},
	"internal/web":                 {"internal/server", "internal/route", "internal/hub", "internal/wire", "internal/gitobj", "internal/formats/card", "internal/sso"},
	"internal/sso":                 {},
	"internal/wire":                {},
	"internal/client":              {"internal/wire"},
	"internal/hub":                 {"internal/meta", "internal/blob", "internal/gitobj", "internal/gitplan", "internal/gitobj/fsck", "internal/gitattr", "internal/auth", "internal/access", "internal/formats/", "internal/scan", "internal/modelsig", "internal/openness"},
	"internal/access":              {"internal/meta"},
	"internal/gitplan":             {"internal/gitobj"},
	"internal/search":              {"internal/meta"},
	"internal/auth":                {"internal/meta"},
	"internal/scan":                {"internal/formats/"},
	"internal/formats/":            {},
	"internal/gitobj":              {},
	"internal/gitobj/packfile":     {"internal/gitobj"},
	"internal/gitobj/fsck":         {"internal/gitobj"},
	"internal/gitattr":             {},
	"internal/meta/internal/":      {"internal/meta", "internal/gitobj"},
	"internal/meta/metatest":       {"internal/meta", "internal/gitobj"},
	"internal/meta/sqlitemeta":     {"internal/meta"},
	"internal/meta/pgmeta":         {"internal/meta"},
	"internal/meta":                {"internal/gitobj"},
	"internal/blob/blobtest":       {"internal/blob"},
	"internal/blob/fsblob":         {"internal/blob"},
	"internal/blob/s3blob":         {"internal/blob"},
	"internal/blob":                {},
	"internal/limits":              {"internal/meta"},
	"internal/testenv":             {},
	"internal/testenv/storetest":   {"internal/meta/sqlitemeta", "internal/blob/fsblob"},
	"internal/modelsig":            {},
	"internal/openness":            {},
	"internal/xet":                 {},
	"internal/mirror":              {"internal/hub", "internal/meta", "internal/blob", "internal/gitobj", "internal/gitobj/packfile"},
	"internal/bundle":              {"internal/hub", "internal/meta", "internal/blob", "internal/gitobj", "internal/gitobj/packfile"},
	"internal/xet/cas":             {"internal/xet", "internal/meta", "internal/blob"},
	"internal/xet/casapi":          {"internal/server", "internal/route", "internal/auth", "internal/xet", "internal/xet/cas"},
	"internal/depstest":            {},
	"e2e":                          {"*"},
	"bench":                        {"*"},
	"internal/formats/pickle":      {},
	"internal/formats/safetensors": {},
	"internal/formats/gguf":        {},
	"internal/formats/card":        {},
}

func rulesFor(p string) ([]string, bool) {
	// Longest matching prefix wins.
	best, found := "", false
	for k := range allowed {
		if (p == k || strings.HasPrefix(p, strings.TrimSuffix(k, "/")+"/") || strings.HasPrefix(p, k) && strings.HasSuffix(k, "/")) && len(k) > len(best) {
			best, found = k, true
		}
	}
	return allowed[best], found
}

func permits(rules []string, imp string) bool {
	for _, r := range rules {
		if r == "*" || imp == r || strings.HasSuffix(r, "/") && strings.HasPrefix(imp, r) || strings.HasPrefix(imp, r+"/internal/") {
			return true
		}
	}
	return false
}

func TestInternalImports(t *testing.T) {
	for _, p := range listPackages(t) {
		sp := short(p.ImportPath)
		rules, ok := rulesFor(sp)
		if !ok {
			t.Errorf("package %s has no dependency rule: add it to allowed", sp)
			continue
		}
		for _, imp := range p.Imports {
			if !isInternal(imp) {
				continue
			}
			si := short(imp)
			if si == sp || strings.HasPrefix(si, sp+"/internal/") {
				continue // a package's own internal helpers
			}
			if strings.HasSuffix(sp, "test") && strings.HasPrefix(sp, si+"/") {
				continue // a test-helper package of its parent (metatest, pickletest…)
			}
			if !permits(rules, si) {
				t.Errorf("%s imports %s, which STYLE.md §3.2 does not allow", sp, si)
			}
		}
	}
}

// heavy lists third-party modules and the one package each may appear in.
var heavy = map[string]string{
	"github.com/jackc/pgx":         "internal/meta/pgmeta",
	"modernc.org/sqlite":           "internal/meta/sqlitemeta",
	"github.com/aws/aws-sdk-go-v2": "internal/blob/s3blob",
	"github.com/aws/smithy-go":     "internal/blob/s3blob",
	"github.com/prometheus/":       "internal/server",
	"go.yaml.in/yaml":              "internal/formats/card",
	"github.com/yuin/goldmark":     "internal/web",
	"github.com/microcosm-cc/":     "internal/web",
	"github.com/go-git/":           "internal/gitproto",
	"lukechampine.com/blake3":      "internal/xet",
	"github.com/pierrec/lz4":       "internal/xet",
	"github.com/coreos/go-oidc":    "internal/sso",
	"golang.org/x/oauth2":          "internal/sso",
	"github.com/go-jose/":          "internal/sso",
}

func TestThirdPartyConfined(t *testing.T) {
	pure := []string{"internal/gitobj", "internal/gitobj/packfile", "internal/gitattr", "internal/wire", "internal/blob", "internal/meta", "internal/formats/safetensors", "internal/formats/gguf", "internal/formats/pickle", "internal/auth", "internal/hub", "internal/scan", "internal/search"}
	for _, p := range listPackages(t) {
		sp := short(p.ImportPath)
		for _, imp := range p.Imports {
			if isStd(imp) || isInternal(imp) {
				continue
			}
			for prefix, owner := range heavy {
				if strings.HasPrefix(imp, prefix) && sp != owner && !strings.HasPrefix(sp, owner+"/") {
					t.Errorf("%s imports %s: only %s may", sp, imp, owner)
				}
			}
			if slices.Contains(pure, sp) {
				t.Errorf("%s must import no third-party module, imports %s", sp, imp)
			}
		}
	}
}

func TestNoHTTPBelowHandlers(t *testing.T) {
	for _, p := range listPackages(t) {
		sp := short(p.ImportPath)
		below := strings.HasPrefix(sp, "internal/hub") && sp != "internal/hubapi" ||
			strings.HasPrefix(sp, "internal/meta") || strings.HasPrefix(sp, "internal/formats") ||
			sp == "internal/auth" || sp == "internal/access" || sp == "internal/search" || sp == "internal/scan" || sp == "internal/gitobj" ||
			sp == "internal/blob" || sp == "internal/blob/fsblob" || sp == "internal/xet" || sp == "internal/xet/cas"
		if !below {
			continue
		}
		if slices.Contains(p.Imports, "net/http") {
			t.Errorf("%s imports net/http: stores and the domain never know about HTTP", sp)
		}
	}
}

func TestNoTestingInProduction(t *testing.T) {
	for _, p := range listPackages(t) {
		sp := short(p.ImportPath)
		if strings.HasSuffix(sp, "test") || sp == "internal/testenv" || sp == "e2e" || strings.HasPrefix(sp, "bench") {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "testing" || strings.HasSuffix(imp, "/metatest") || strings.HasSuffix(imp, "/blobtest") || strings.HasSuffix(imp, "/testenv") {
				t.Errorf("%s (production code) imports %s", sp, imp)
			}
		}
	}
}

// touchSources reads every Go file of the module. go test caches results
// by the files a test opens; the imports come from `go list`, which it
// cannot see, so without this a cached pass would hide a new import.
func touchSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "../.." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			_, err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
