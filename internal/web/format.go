package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
)

// startTime is the modification time of the embedded assets.
var startTime = time.Now()

// contentTag is a short content hash (asset versions, cache keys).
func contentTag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"size":      humanSize,
		"count":     humanCount,
		"params":    humanParams,
		"date":      dateHTML,
		"short":     shortID,
		"repoPath":  repoPath,
		"filePath":  escapePath,
		"seg":       url.PathEscape,
		"typeLabel": typeLabel,
		"add":       func(a, b int) int { return a + b },
		"base":      baseName,
		"dict":      dict,
		"query":     url.QueryEscape,
	}
}

// dict builds a map for passing several values to a sub-template.
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	return m
}

// humanSize formats a byte count as the Hub does (decimal units).
func humanSize(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " Bytes"
	case n < 1e6:
		return trimZero(float64(n)/1e3) + " kB"
	case n < 1e9:
		return trimZero(float64(n)/1e6) + " MB"
	case n < 1e12:
		return trimZero(float64(n)/1e9) + " GB"
	}
	return trimZero(float64(n)/1e12) + " TB"
}

func trimZero(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// humanCount formats a counter: 950, 1.2k, 3.4M.
func humanCount(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 1e6:
		return trimZero(float64(n)/1e3) + "k"
	case n < 1e9:
		return trimZero(float64(n)/1e6) + "M"
	}
	return trimZero(float64(n)/1e9) + "B"
}

// humanParams formats a parameter count: 8.03B, 124M, 7k.
func humanParams(n int64) string {
	f := float64(n)
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10)
	case n < 1e6:
		return trimZero(f/1e3) + "k"
	case n < 1e9:
		return trimZero(f/1e6) + "M"
	case n < 1e12:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", f/1e9), "0"), ".") + "B"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", f/1e12), "0"), ".") + "T"
}

// dateHTML renders a time as a <time> element: the date for people, the
// instant for machines.
func dateHTML(t time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `" title="` + u.Format("2006-01-02 15:04 MST") + `">` +
		u.Format("Jan 2, 2006") + `</time>`)
}

// shortID is the abbreviated commit id.
func shortID(id gitobj.ID) string {
	s := id.String()
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// repoPath is a repository's page path: /ns/name or /datasets/ns/name.
func repoPath(r *hub.Repo) string {
	return refPath(hub.RepoRef{Type: r.Type, Namespace: r.Namespace, Name: r.Name})
}

func refPath(ref hub.RepoRef) string {
	p := "/" + url.PathEscape(ref.Namespace) + "/" + url.PathEscape(ref.Name)
	if ref.Namespace == "" {
		p = "/" + url.PathEscape(ref.Name)
	}
	if ref.Type == hub.TypeDataset {
		return "/datasets" + p
	}
	return p
}

// escapePath escapes each segment of a file path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func typeLabel(typ string) string {
	if typ == hub.TypeDataset {
		return "Dataset"
	}
	return "Model"
}
