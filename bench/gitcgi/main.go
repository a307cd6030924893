// Command gitcgi serves the repositories under a directory with
// `git http-backend` through net/http/cgi: the baseline that
// bench/gitclone.sh compares agora's git smart HTTP with.
//
//	gitcgi -addr 127.0.0.1:9000 -root /path/to/bare/repos
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	root := flag.String("root", ".", "directory holding the bare repositories (GIT_PROJECT_ROOT)")
	flag.Parse()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		log.Fatalf("git --exec-path: %v", err)
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		log.Fatal(err)
	}
	h := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + abs, "GIT_HTTP_EXPORT_ALL=1"},
	}
	log.Fatal(http.ListenAndServe(*addr, h))
}
