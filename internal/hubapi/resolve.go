package hubapi

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// resolve serves GET/HEAD /{repo}/resolve/{rev}/{path} (file content,
// LFS content for LFS files) and /{repo}/raw/{rev}/{path} (the git blob as
// stored: the pointer text for LFS files), with the headers the clients
// read (PROTOCOL.md §2).
func (h *Handler) resolve(q *req, raw bool) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rev := joinRev(q.rest[1:2])
		path, ok := joinPath(q.rest[2:])
		if !ok || path == "" {
			return &hub.Error{Kind: hub.ErrEntryNotFound, Msg: "Entry not found"}
		}
		who := server.Identity(r.Context())
		repo, rv, e, err := h.hub.FileAt(r.Context(), who, q.ref, rev, path)
		if err != nil {
			return err
		}
		if !raw {
			h.hub.CountDownload(repo, e.Path, h.srv.ClientIP(r))
		}
		hd := w.Header()
		// Files are user content served from the hub's own origin: an
		// uploaded .html or .svg must never run script there (the web UI's
		// session lives on this origin).
		hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Repo-Commit", rv.Commit.String())
		hd.Set("Accept-Ranges", "bytes")
		if r.URL.Query().Get("noContentDisposition") == "" {
			_, name := splitName(e.Path)
			hd.Set("Content-Disposition", contentDisposition(name))
		}
		if rv.Ref == "" {
			// Addressed by commit id: the answer never changes.
			hd.Set("Cache-Control", "private, max-age=31536000, immutable")
		} else {
			hd.Set("Cache-Control", "private, no-cache")
		}
		hd.Set("Vary", "Authorization")

		if raw || e.LFS == nil {
			data, err := h.hub.ReadBlob(r.Context(), repo, e)
			if err != nil {
				return err
			}
			hd.Set("ETag", `"`+e.OID.String()+`"`)
			if raw && e.LFS != nil {
				hd.Set("Content-Type", "text/plain; charset=utf-8")
			} else {
				hd.Set("Content-Type", contentType(e.Path))
			}
			serveBytes(w, r, data)
			return nil
		}

		etag := `"` + e.LFS.OID + `"`
		hd.Set("ETag", etag)
		hd.Set("X-Linked-Etag", etag)
		hd.Set("X-Linked-Size", strconv.FormatInt(e.LFS.Size, 10))
		if done, err := h.xetResolve(w, r, q, rv.Commit.String(), e); err != nil || done {
			return err
		}
		c, err := h.hub.OpenContent(r.Context(), repo, e, !h.cfg.ProxyDownloads, h.cfg.RedirectTTL)
		if err != nil {
			return err
		}
		if c.RedirectURL != "" {
			hd.Set("Location", c.RedirectURL)
			w.WriteHeader(http.StatusFound)
			return nil
		}
		defer c.File.Close()
		hd.Set("Content-Type", "application/octet-stream")
		serveFile(w, r, c.File, e.LFS.Size)
		return nil
	}
}

func splitName(p string) (dir, base string) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return "", p
}

// serveBytes serves an in-memory blob with ranges and conditionals.
func serveBytes(w http.ResponseWriter, r *http.Request, data []byte) {
	if len(data) == 0 {
		serveEmpty(w, r)
		return
	}
	if !normalizeRange(w, r, int64(len(data))) {
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// serveFile serves an open LFS object. With an *os.File behind content,
// http.ServeContent sends it with sendfile: no copy through user space.
func serveFile(w http.ResponseWriter, r *http.Request, content io.ReadSeeker, size int64) {
	if size == 0 {
		serveEmpty(w, r)
		return
	}
	if rw, ok := content.(rangeWriter); ok && serveRangeWriter(w, r, rw, size) {
		return
	}
	if !normalizeRange(w, r, size) {
		return
	}
	http.ServeContent(w, r, "", time.Time{}, content)
}

// serveEmpty answers for a zero-length file. "bytes=0-0" cannot be
// satisfied, and a 416 makes the JS client throw; it parses
// "Content-Range: bytes */0" as size 0, so that is sent with a 200.
func serveEmpty(w http.ResponseWriter, r *http.Request) {
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == w.Header().Get("ETag") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Header.Get("Range") != "" {
		w.Header().Set("Content-Range", "bytes */0")
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
