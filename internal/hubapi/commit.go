package hubapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

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
func parseCommit(body io.Reader, maxLine int) (*hub.CommitRequest, error) {
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
		req, err := parseCommit(body, maxLine)
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

// validateYAML answers the Python client's README check: 200 with no
// errors, or 400 with the YAML problem. The reply is JSON in both cases,
// since the client parses it before looking at the status.
func (h *Handler) validateYAML(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Content  string `json:"content"`
		RepoType string `json:"repoType"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	c := card.Parse([]byte(body.Content))
	if c.Err != nil {
		server.WriteJSON(w, r, http.StatusBadRequest, map[string]any{
			"errors": []map[string]string{{"message": c.Err.Error()}}, "warnings": []any{}})
		return nil
	}
	server.WriteJSON(w, r, http.StatusOK, map[string]any{"errors": []any{}, "warnings": []any{}})
	return nil
}
