package hub

import (
	"strings"

	"github.com/agorahub/agora/internal/meta"
)

// RepoRef names a repository as a request does.
type RepoRef struct {
	Type      string // meta.TypeModel or meta.TypeDataset
	Namespace string
	Name      string
}

// FullName returns "namespace/name", or the name alone for a canonical
// repository without a namespace ("gpt2").
func (r RepoRef) FullName() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// routeKeywords are the words that follow a repository id in the URLs of
// the API, downloads, LFS and git. A canonical id has one segment, so
// "/api/models/gpt2/refs" would also read as the repository "gpt2/refs":
// the routers take the keyword reading, and no repository may be named
// like a keyword.
var routeKeywords = map[string]bool{
	// /api/{type}/{id}/…
	"revision": true, "tree": true, "paths-info": true, "refs": true, "commits": true, "preupload": true,
	"commit": true, "branch": true, "tag": true, "settings": true, "auth-check": true, "super-squash": true,
	"like": true, "likers": true, "lineage": true, "xet-read-token": true, "xet-write-token": true,
	"discussions": true, "lfs-files": true, "user-access-request": true, "treesize": true, "scan": true,
	"compare": true, "resource-group": true, "jwt": true, "parquet": true, "croissant": true,
	"notebook": true, "sql-console": true, "safetensors-metadata": true, "leaderboard": true, "duplicate": true,
	// /{id}/… downloads, LFS and git
	"resolve": true, "raw": true, "blob": true, "info": true, "git-upload-pack": true, "git-receive-pack": true,
	"edit": true, "upload": true, "delete": true,
}

// IsRouteKeyword reports whether an escaped path segment is a route
// keyword (see routeKeywords).
func IsRouteKeyword(seg string) bool { return routeKeywords[seg] }

// reservedNamespaces collide with routes of the API, git and the web UI.
var reservedNamespaces = map[string]bool{
	"api": true, "datasets": true, "spaces": true, "models": true, "kernels": true, "buckets": true,
	"docs": true, "static": true, "assets": true, "login": true, "logout": true, "join": true, "new": true,
	"settings": true, "search": true, "organizations": true, "users": true, "healthz": true, "readyz": true,
	"metrics": true, "favicon.ico": true, "robots.txt": true, "collections": true, "papers": true,
	"blog": true, "pricing": true, "admin": true, "agora": true, "huggingface": true, "lfs": true,
	"info": true, "git": true, "tokens": true, "account": true, "notifications": true,
	"cas": true, // the Xet CAS (casapi) claims every path under /cas
}

// MaxNameLen is the longest repository name accepted, as on the Hub.
const MaxNameLen = 96

// ValidName checks one half of a repository id (a namespace or a name)
// with the Hub's rules (huggingface_hub validate_repo_id, kept ASCII): 1 to
// 96 characters among letters, digits, '-', '_' and '.', starting and
// ending with a letter, digit or '_', no "--" or "..", not ending in
// ".git".
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	word := func(c byte) bool { return c != '-' && c != '.' }
	if !word(s[0]) || !word(s[len(s)-1]) {
		return false
	}
	return !strings.Contains(s, "--") && !strings.Contains(s, "..") && !strings.HasSuffix(strings.ToLower(s), ".git")
}

// ValidNamespace is [ValidName] minus the reserved route names.
func ValidNamespace(s string) bool {
	return ValidName(s) && !reservedNamespaces[strings.ToLower(s)]
}

func checkRepoRef(r RepoRef) error {
	if r.Type != meta.TypeModel && r.Type != meta.TypeDataset {
		return errorf(ErrInvalid, "Repository type %q is not supported (model or dataset)", r.Type)
	}
	// An empty namespace is a canonical id ("gpt2"); only admins own it
	// (checkNamespaceWrite).
	if r.Namespace != "" && !ValidNamespace(r.Namespace) {
		return errorf(ErrInvalid, "Invalid namespace %q: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, no '--' or '..', at most 96 characters, not a reserved word", r.Namespace)
	}
	if !ValidName(r.Name) {
		return errorf(ErrInvalid, "Invalid repository name %q: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, no '--' or '..', at most 96 characters, not ending in .git", r.Name)
	}
	if routeKeywords[strings.ToLower(r.Name)] || r.Namespace == "" && reservedNamespaces[strings.ToLower(r.Name)] {
		return errorf(ErrInvalid, "Invalid repository name %q: it is a reserved word of the hub's URLs", r.Name)
	}
	return nil
}

// ValidRefName checks a branch or tag name with git's check-ref-format
// rules, and refuses names that would be ambiguous in our revisions.
func ValidRefName(name string) bool {
	if name == "" || len(name) > 255 || name == "HEAD" || name == "@" ||
		strings.HasPrefix(name, "refs/") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		strings.HasSuffix(name, ".") || strings.Contains(name, "..") || strings.Contains(name, "//") ||
		strings.Contains(name, "@{") || strings.HasPrefix(name, "-") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return false
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".lock") {
			return false
		}
	}
	// A full commit id as a branch name would shadow the commit.
	return !(len(name) == 40 && strings.Trim(strings.ToLower(name), "0123456789abcdef") == "")
}
