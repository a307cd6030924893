package hubapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

const lfsMediaType = "application/vnd.git-lfs+json"

// writeLFSError renders errors of the git-lfs endpoints: git-lfs shows
// "message"; the HF clients read the X-Error-* headers.
func writeLFSError(w http.ResponseWriter, r *http.Request, p server.Problem) {
	server.SetErrorHeaders(w, p)
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("LFS-Authenticate", `Basic realm="Agora"`)
	}
	if p.Status == 499 {
		return
	}
	msg := p.Message(r)
	b, _ := json.Marshal(map[string]string{"message": msg, "request_id": server.RequestID(r.Context())})
	w.Header().Set("Content-Type", lfsMediaType)
	w.WriteHeader(p.Status)
	w.Write(b)
}

// routeLFS matches /{repo}.git/info/lfs/… .
func (h *Handler) routeLFS(r *http.Request, q *req, s []string) *apiRoute {
	switch {
	case len(s) == 2 && s[0] == "objects" && s[1] == "batch" && r.Method == http.MethodPost:
		// The operation is in the body: visibility first, then the hub
		// decides on upload or download.
		return &apiRoute{name: "lfs-batch", fn: h.lfsBatch(q), render: writeLFSError, q: q, first: act(hub.ReadMeta)}
	case len(s) == 1 && s[0] == "verify" && r.Method == http.MethodPost:
		return &apiRoute{name: "lfs-verify", fn: h.lfsVerify(q), render: writeLFSError, q: q, first: act(hub.WriteContent)}
	case len(s) >= 1 && s[0] == "locks":
		return &apiRoute{name: "lfs-locks", fn: h.lfsLocks(), render: writeLFSError}
	}
	return nil
}

// lfsLocks answers the file-locking API: locking is not supported. A 501
// on locks/verify is what makes git-lfs turn lock verification off for
// the remote quietly; an answer with empty lists would make it print, on
// every push, that locking was detected, with the remote's URL and any
// token in it.
func (h *Handler) lfsLocks() server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return &hub.Error{Kind: hub.ErrUnsupported, Msg: "File locking is not supported by this hub"}
	}
}

func (h *Handler) lfsBatch(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body wire.LFSBatchRequest
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		switch body.HashAlgo {
		case "", "sha256", "sha_256":
		default:
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Unsupported hash algorithm " + body.HashAlgo}
		}
		objs := make([]hub.LFSObject, 0, len(body.Objects))
		for _, o := range body.Objects {
			objs = append(objs, hub.LFSObject{OID: o.OID, Size: o.Size})
		}
		who := server.Identity(r.Context())
		useXet := h.xetBatch(&body)
		transfers := body.Transfers
		if useXet {
			transfers = withoutMultipart(transfers)
		}
		acts, err := h.hub.LFSBatch(r.Context(), who, q.ref, body.Operation, objs, transfers)
		if err != nil {
			return err
		}
		if useXet {
			return h.writeXetBatch(w, r, q, &body, acts)
		}
		base := h.srv.BaseURL(r)
		verify := base + webPrefix(q.ref.Type) + "/" + q.ref.FullName() + ".git/info/lfs/verify"
		var verifyHeader map[string]string
		if a := r.Header.Get("Authorization"); a != "" {
			verifyHeader = map[string]string{"Authorization": a}
		}
		out := wire.LFSBatchResponse{Transfer: "basic", HashAlgo: "sha256", Objects: make([]wire.LFSBatchObject, 0, len(acts))}
		for _, a := range acts {
			o := wire.LFSBatchObject{OID: a.OID, Size: a.Size, Authenticated: true}
			switch {
			case a.Err != nil:
				o.Error = &wire.LFSError{Code: a.Err.Code, Message: a.Err.Message}
			case a.Download != "":
				o.Actions = map[string]*wire.LFSAction{"download": {Href: base + "/api/lfs/download/" + a.Download, ExpiresIn: int64(h.hub.Config().UploadURLTTL.Seconds())}}
			case a.Upload != nil && a.Upload.Chunk > 0:
				hd := map[string]string{"chunk_size": strconv.FormatInt(a.Upload.Chunk, 10)}
				for n := 1; n <= a.Upload.Parts; n++ {
					u := base + "/api/lfs/part/" + a.Upload.PartToken + "/" + strconv.Itoa(n)
					if len(a.Upload.PartURLs) >= n {
						u = a.Upload.PartURLs[n-1]
					}
					hd[fmt.Sprintf("%05d", n)] = u
				}
				o.Actions = map[string]*wire.LFSAction{
					"upload": {Href: base + "/api/lfs/complete/" + a.Upload.Token, Header: hd, ExpiresIn: a.Upload.ExpiresInSecs},
					"verify": {Href: verify, Header: verifyHeader},
				}
			case a.Upload != nil:
				o.Actions = map[string]*wire.LFSAction{
					"upload": {Href: base + "/api/lfs/upload/" + a.Upload.Token, ExpiresIn: a.Upload.ExpiresInSecs},
					"verify": {Href: verify, Header: verifyHeader},
				}
			}
			out.Objects = append(out.Objects, o)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", lfsMediaType)
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return nil
	}
}

func (h *Handler) lfsVerify(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body wire.LFSVerify
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		if err := h.hub.VerifyLFS(r.Context(), server.Identity(r.Context()), q.ref, body.OID, body.Size); err != nil {
			return err
		}
		w.Header().Set("Content-Type", lfsMediaType)
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"message": "ok"})
		return nil
	}
}

// routeLFSTransfer matches the signed transfer URLs /api/lfs/{kind}/{token}[/{n}].
func (h *Handler) routeLFSTransfer(r *http.Request, s []string) *apiRoute {
	if len(s) < 2 {
		return nil
	}
	token := s[1]
	switch {
	case s[0] == "upload" && len(s) == 2 && r.Method == http.MethodPut:
		return &apiRoute{name: "lfs-upload", render: writeLFSError, fn: func(w http.ResponseWriter, r *http.Request) error {
			if err := h.hub.UploadLFS(r.Context(), token, r.ContentLength, r.Body); err != nil {
				return err
			}
			w.WriteHeader(http.StatusOK)
			return nil
		}}
	case s[0] == "part" && len(s) == 3 && r.Method == http.MethodPut:
		n, err := strconv.Atoi(s[2])
		if err != nil {
			return nil
		}
		return &apiRoute{name: "lfs-part", render: writeLFSError, fn: func(w http.ResponseWriter, r *http.Request) error {
			etag, err := h.hub.UploadLFSPart(r.Context(), token, n, r.ContentLength, r.Body)
			if err != nil {
				return err
			}
			w.Header().Set("ETag", `"`+etag+`"`)
			w.WriteHeader(http.StatusOK)
			return nil
		}}
	case s[0] == "complete" && len(s) == 2 && r.Method == http.MethodPost:
		return &apiRoute{name: "lfs-complete", render: writeLFSError, fn: func(w http.ResponseWriter, r *http.Request) error {
			var body wire.LFSCompletion
			if err := decodeJSON(w, r, &body); err != nil {
				return err
			}
			parts := make([]hub.Part, 0, len(body.Parts))
			for _, p := range body.Parts {
				parts = append(parts, hub.Part{Number: p.PartNumber, ETag: p.ETag})
			}
			if err := h.hub.CompleteLFS(r.Context(), token, body.OID, parts); err != nil {
				return err
			}
			server.WriteJSON(w, r, http.StatusOK, map[string]any{"message": "ok"})
			return nil
		}}
	case s[0] == "download" && len(s) == 2 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return &apiRoute{name: "lfs-download", render: writeLFSError, fn: func(w http.ResponseWriter, r *http.Request) error {
			g, c, err := h.hub.OpenLFSDownload(r.Context(), token, !h.cfg.ProxyDownloads)
			if err != nil {
				return err
			}
			if c.RedirectURL != "" {
				http.Redirect(w, r, c.RedirectURL, http.StatusFound)
				return nil
			}
			defer c.File.Close()
			w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("ETag", `"`+g.OID+`"`)
			w.Header().Set("Content-Type", "application/octet-stream")
			serveFile(w, r, c.File, g.Size)
			return nil
		}}
	}
	return nil
}
