package hubapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/formats/card"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

func (h *Handler) preupload(q *req, rev string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body wire.PreuploadRequest
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		files := make([]hub.PreuploadFile, 0, len(body.Files))
		for _, f := range body.Files {
			if f.Size < 0 {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid negative size for " + f.Path}
			}
			sample, err := base64.StdEncoding.DecodeString(f.Sample)
			if err != nil {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid base64 sample for " + f.Path}
			}
			files = append(files, hub.PreuploadFile{Path: f.Path, Sample: sample, Size: f.Size})
		}
		res, head, err := h.hub.Preupload(r.Context(), server.Identity(r.Context()), q.ref, rev, files, body.GitAttributes, body.GitIgnore)
		if err != nil {
			return err
		}
		out := wire.PreuploadResponse{Files: make([]wire.PreuploadFile, 0, len(res)), CommitOID: head.String()}
		for _, f := range res {
			pf := wire.PreuploadFile{Path: f.Path, UploadMode: "regular", ShouldIgnore: f.ShouldIgnore}
			if f.LFS {
				pf.UploadMode = "lfs"
			}
			if f.OID != "" {
				oid := f.OID
				pf.OID = &oid
			}
			out.Files = append(out.Files, pf)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// parseCommit reads the NDJSON commit body line by line: one header line
// and any number of operations. Lines are bounded (a base64 regular file of
// the largest allowed size plus slack) so no line can exhaust memory.
//
// With stage set, each regular file is handed to it as soon as its line is
// decoded and the operation it returns is kept instead, so that the
// commit's files are never all in memory at once.
func parseCommit(body io.Reader, maxLine int, stage func(path string, content []byte) (hub.CommitOp, error)) (*hub.CommitRequest, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	req := &hub.CommitRequest{}
	seenHeader := false
	bad := func(format string, args ...any) error {
		return &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf(format, args...)}
	}
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br, maxLine)
		if errors.Is(err, errLineTooLong) {
			return nil, &hub.Error{Kind: hub.ErrTooLarge, Msg: fmt.Sprintf("Commit line %d is too long: files over the regular-file limit must be uploaded with LFS", lineNo)}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			var l wire.CommitLine
			if jerr := json.Unmarshal(trimmed, &l); jerr != nil {
				return nil, bad("Commit line %d is not valid JSON: %v", lineNo, jerr)
			}
			switch l.Key {
			case "header":
				if seenHeader {
					return nil, bad("Commit line %d: a second header", lineNo)
				}
				var hd wire.CommitHeader
				if jerr := json.Unmarshal(l.Value, &hd); jerr != nil {
					return nil, bad("Commit line %d: invalid header: %v", lineNo, jerr)
				}
				seenHeader = true
				req.Summary, req.Description, req.ParentCommit = hd.Summary, hd.Description, hd.ParentCommit
			case "file", "lfsFile", "deletedFile", "deletedFolder":
				var f wire.CommitFile
				if jerr := json.Unmarshal(l.Value, &f); jerr != nil {
					return nil, bad("Commit line %d: invalid %s: %v", lineNo, l.Key, jerr)
				}
				op, oerr := commitOp(l.Key, &f)
				if oerr != nil {
					return nil, bad("Commit line %d: %v", lineNo, oerr)
				}
				if op.Kind == hub.OpFile && stage != nil {
					if op, oerr = stage(op.Path, op.Content); oerr != nil {
						return nil, oerr
					}
				}
				req.Ops = append(req.Ops, op)
			default:
				return nil, bad("Commit line %d: unknown key %q", lineNo, l.Key)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if !seenHeader {
		return nil, bad("The commit has no header line")
	}
	return req, nil
}

func commitOp(key string, f *wire.CommitFile) (hub.CommitOp, error) {
	switch key {
	case "file":
		var content []byte
		switch f.Encoding {
		case "", "base64":
			c, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				return hub.CommitOp{}, fmt.Errorf("invalid base64 content for %s", f.Path)
			}
			content = c
		case "utf-8", "utf8":
			content = []byte(f.Content)
		default:
			return hub.CommitOp{}, fmt.Errorf("unknown encoding %q for %s", f.Encoding, f.Path)
		}
		return hub.CommitOp{Kind: hub.OpFile, Path: f.Path, Content: content}, nil
	case "lfsFile":
		if f.Algo != "" && f.Algo != "sha256" {
			return hub.CommitOp{}, fmt.Errorf("unsupported LFS hash %q for %s (sha256 only)", f.Algo, f.Path)
		}
		size := int64(-1)
		if f.Size != nil {
			if *f.Size < 0 {
				return hub.CommitOp{}, fmt.Errorf("negative size for %s", f.Path)
			}
			size = *f.Size
		}
		return hub.CommitOp{Kind: hub.OpLFSFile, Path: f.Path, OID: f.OID, Size: size}, nil
	case "deletedFile":
		return hub.CommitOp{Kind: hub.OpDeleteFile, Path: f.Path}, nil
	default:
		return hub.CommitOp{Kind: hub.OpDeleteFolder, Path: f.Path}, nil
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads up to '\n' without ever holding more than max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

func (h *Handler) commit(q *req, rev string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cfg := h.hub.Config()
		maxLine := int(cfg.MaxRegularFile/3*4) + 64<<10
		body := http.MaxBytesReader(w, r.Body, cfg.MaxCommitBytes/3*4+64<<20)
		who := server.Identity(r.Context())
		st, err := h.hub.NewStager(r.Context(), who, q.ref)
		if err != nil {
			return err
		}
		req, err := parseCommit(body, maxLine, func(path string, content []byte) (hub.CommitOp, error) {
			return st.Stage(r.Context(), path, content)
		})
		if err != nil {
			return err
		}
		req.Revision = rev
		req.CreatePR = boolParam(r.URL.Query(), "create_pr")
		res, err := h.hub.Commit(r.Context(), server.Identity(r.Context()), q.ref, *req)
		if err != nil {
			return err
		}
		ref := hub.RepoRef{Type: res.Repo.Type, Namespace: res.Repo.Namespace, Name: res.Repo.Name}
		out := wire.CommitResponse{Success: true, CommitOID: res.Commit.String(),
			CommitURL: h.repoURL(r, ref) + "/commit/" + res.Commit.String()}
		if res.PRNumber > 0 {
			out.PullRequestURL = h.repoURL(r, ref) + "/discussions/" + strconv.Itoa(res.PRNumber)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// validateYAML answers the README check of the Python client, which
// calls it two ways. HfApi (upload_folder, create_commit) posts JSON
// {"content", "repoType"}, reads the JSON reply whatever the status to
// warn about "warnings", and on a 400 raises "Invalid metadata in
// README.md." with each of "errors" as a "- message" line.
// RepoCard.validate posts the same fields as a form with Accept:
// text/plain and raises the text of a 400 as it is, so that form answers
// in "- Error: ..." lines. The checks are [card.Validate]'s, the ones a
// commit of README.md must also pass.
func (h *Handler) validateYAML(w http.ResponseWriter, r *http.Request) error {
	content, repoType, err := readValidateYAML(w, r)
	if err != nil {
		return err
	}
	errs, warns := card.Validate(card.Parse([]byte(content)), repoType)
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusBadRequest
	}
	if prefersText(r.Header.Get("Accept")) {
		var b strings.Builder
		for _, e := range errs {
			fmt.Fprintf(&b, "- Error: %s\n", e)
		}
		for _, m := range warns {
			fmt.Fprintf(&b, "- Warning: %s\n", m)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.WriteString(w, b.String())
		}
		return nil
	}
	server.WriteJSON(w, r, status, map[string]any{"errors": yamlMessages(errs), "warnings": yamlMessages(warns)})
	return nil
}

// yamlMessages wraps messages as the objects the client reads "message"
// from; never nil, so that JSON shows empty lists rather than null.
func yamlMessages(msgs []string) []map[string]string {
	out := make([]map[string]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, map[string]string{"message": m})
	}
	return out
}

// readValidateYAML reads the fields of a validate-yaml request from a
// form (RepoCard.validate) or a JSON body (HfApi).
func readValidateYAML(w http.ResponseWriter, r *http.Request) (content, repoType string, err error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		if ct == "multipart/form-data" {
			err = r.ParseMultipartForm(maxJSONBody)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return "", "", err
			}
			return "", "", &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid form body: " + err.Error()}
		}
		return r.PostFormValue("content"), r.PostFormValue("repoType"), nil
	}
	var body struct {
		Content  string `json:"content"`
		RepoType string `json:"repoType"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return "", "", err
	}
	return body.Content, body.RepoType, nil
}

// prefersText reports whether an Accept header asks for text/plain before
// JSON (RepoCard.validate sends exactly "text/plain").
func prefersText(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/plain":
			return true
		case "application/json", "application/*":
			return false
		}
	}
	return false
}
