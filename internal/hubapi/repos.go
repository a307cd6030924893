package hubapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

// repoTypeOf maps the "type" field of management bodies.
func repoTypeOf(t string) (string, error) {
	switch t {
	case "", "model":
		return hub.TypeModel, nil
	case "dataset":
		return hub.TypeDataset, nil
	case "space", "kernel":
		return "", &hub.Error{Kind: hub.ErrUnsupported, Msg: "Spaces and kernels are not supported by this hub"}
	}
	return "", &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid repository type " + t}
}

// refFromBody resolves a {name, organization, type} body: name may also
// be "namespace/name"; without a namespace the caller's own is used.
func refFromBody(r *http.Request, name string, org *string, typ string) (hub.RepoRef, error) {
	t, err := repoTypeOf(typ)
	if err != nil {
		return hub.RepoRef{}, err
	}
	ns := ""
	if org != nil {
		ns = *org
	}
	if a, b, ok := strings.Cut(name, "/"); ok {
		ns, name = a, b
	}
	if org != nil && *org == "" && ns == "" {
		// An explicit empty organization names a canonical repository
		// without a namespace ("gpt2"), which only admins may create.
		return hub.RepoRef{Type: t, Namespace: "", Name: name}, nil
	}
	if ns == "" {
		id := server.Identity(r.Context())
		if id == nil {
			return hub.RepoRef{}, &hub.Error{Kind: hub.ErrUnauthenticated, Msg: "You must be authenticated"}
		}
		ns = id.User.Name
	}
	return hub.RepoRef{Type: t, Namespace: ns, Name: name}, nil
}

func (h *Handler) createRepo(w http.ResponseWriter, r *http.Request) error {
	var body wire.CreateRepoRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	ref, err := refFromBody(r, body.Name, body.Organization, body.Type)
	if err != nil {
		return err
	}
	opts := hub.CreateRepoOptions{}
	switch body.Visibility {
	case "private", "protected":
		opts.Private = true
	case "", "public":
		opts.Private = body.Private != nil && *body.Private
	default:
		return &hub.Error{Kind: hub.ErrInvalid, Msg: "visibility must be public or private"}
	}
	for _, f := range body.Files {
		var content []byte
		switch f.Encoding {
		case "base64":
			content, err = base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid base64 content for " + f.Path}
			}
		case "", "utf-8", "utf8":
			content = []byte(f.Content)
		default:
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Unknown encoding " + f.Encoding}
		}
		opts.Files = append(opts.Files, hub.InitialFile{Path: f.Path, Content: content})
	}
	rp, err := h.hub.CreateRepo(r.Context(), server.Identity(r.Context()), ref, opts)
	if errors.Is(err, hub.ErrConflict) {
		// create_repo(exist_ok=True) treats the 409 as success and reads
		// the repository's url from its body.
		p := server.Classify(err)
		server.SetErrorHeaders(w, p)
		server.WriteJSON(w, r, p.Status, map[string]any{"error": p.Msg, "url": h.repoURL(r, ref)})
		return nil
	}
	if err != nil {
		return err
	}
	server.WriteJSON(w, r, http.StatusOK, wire.CreateRepoResponse{URL: h.repoURL(r, ref), Name: rp.FullName(), ID: rp.PublicID})
	return nil
}

func (h *Handler) deleteRepo(w http.ResponseWriter, r *http.Request) error {
	var body wire.RepoNameRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	ref, err := refFromBody(r, body.Name, body.Organization, body.Type)
	if err != nil {
		return err
	}
	if err := h.hub.DeleteRepo(r.Context(), server.Identity(r.Context()), ref); err != nil {
		return err
	}
	server.WriteJSON(w, r, http.StatusOK, map[string]any{})
	return nil
}

func (h *Handler) moveRepo(w http.ResponseWriter, r *http.Request) error {
	var body wire.MoveRepoRequest
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	from, err := refFromBody(r, body.FromRepo, nil, body.Type)
	if err != nil {
		return err
	}
	to, err := refFromBody(r, body.ToRepo, nil, body.Type)
	if err != nil {
		return err
	}
	if err := h.hub.MoveRepo(r.Context(), server.Identity(r.Context()), from, to); err != nil {
		return err
	}
	server.WriteJSON(w, r, http.StatusOK, map[string]any{"url": h.repoURL(r, to)})
	return nil
}

func (h *Handler) settings(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body wire.SettingsRequest
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		set := hub.RepoSettings{Private: body.Private, AllowForcePush: body.AllowForcePush}
		switch body.Visibility {
		case "":
		case "private", "protected":
			t := true
			set.Private = &t
		case "public":
			f := false
			set.Private = &f
		default:
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "visibility must be public or private"}
		}
		if len(body.Gated) > 0 && string(body.Gated) != "null" {
			var g string
			var b bool
			switch {
			case json.Unmarshal(body.Gated, &b) == nil && !b:
				g = ""
			case json.Unmarshal(body.Gated, &g) == nil && (g == "auto" || g == "manual"):
			default:
				return &hub.Error{Kind: hub.ErrInvalid, Msg: `gated must be false, "auto" or "manual"`}
			}
			set.Gated = &g
		}
		rp, err := h.hub.UpdateSettings(r.Context(), server.Identity(r.Context()), q.ref, set)
		if err != nil {
			return err
		}
		var gated any = false
		if rp.Gated != "" {
			gated = rp.Gated
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"private": rp.Private, "gated": gated, "allowForcePush": rp.AllowForcePush})
		return nil
	}
}

func (h *Handler) branch(q *req, name string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		who := server.Identity(r.Context())
		if r.Method == http.MethodDelete {
			if err := h.hub.DeleteBranch(r.Context(), who, q.ref, name); err != nil {
				return err
			}
			server.WriteJSON(w, r, http.StatusOK, map[string]any{})
			return nil
		}
		var body struct {
			StartingPoint string `json:"startingPoint"`
			EmptyBranch   bool   `json:"emptyBranch"`
			Overwrite     bool   `json:"overwrite"`
		}
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		err := h.hub.CreateBranch(r.Context(), who, q.ref, name, hub.BranchOptions{StartingPoint: body.StartingPoint, Empty: body.EmptyBranch, Overwrite: body.Overwrite})
		if err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{})
		return nil
	}
}

func (h *Handler) tag(q *req, seg string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		who := server.Identity(r.Context())
		if r.Method == http.MethodDelete {
			if err := h.hub.DeleteTag(r.Context(), who, q.ref, seg); err != nil {
				return err
			}
			server.WriteJSON(w, r, http.StatusOK, map[string]any{})
			return nil
		}
		var body struct {
			Tag     string `json:"tag"`
			Message string `json:"message"`
		}
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		if err := h.hub.CreateTag(r.Context(), who, q.ref, seg, body.Tag, body.Message); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{})
		return nil
	}
}

func (h *Handler) authCheck(q *req, write bool) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		// The same decision downloads and commits get: a gated
		// repository's content answers 401/403 GatedRepo here too.
		a := hub.ReadContent
		if write {
			a = hub.WriteContent
		}
		if _, err := h.hub.Authorize(r.Context(), server.Identity(r.Context()), q.ref, a); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{})
		return nil
	}
}

func (h *Handler) superSquash(q *req, branch string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Message string `json:"message"`
		}
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		id, err := h.hub.SuperSquash(r.Context(), server.Identity(r.Context()), q.ref, branch, body.Message)
		if err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"commitId": id.String()})
		return nil
	}
}
