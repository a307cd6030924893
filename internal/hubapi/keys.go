package hubapi

import (
	"net/http"
	"strconv"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// Model-signing public keys (Agora endpoints): key-based model.sig
// signatures verify against the keys users register here.

func keyJSON(k *hub.SigningKey) map[string]any {
	return map[string]any{"id": k.ID, "user": k.User, "name": k.Name, "hint": hub.KeyHint(k.PEM), "key": k.PEM, "createdAt": isoTime(k.CreatedAt)}
}

func (h *Handler) addKey(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	k, err := h.hub.RegisterSigningKey(r.Context(), server.Identity(r.Context()), body.Name, body.Key)
	if err != nil {
		return err
	}
	server.WriteJSON(w, r, http.StatusOK, keyJSON(k))
	return nil
}

func (h *Handler) userKeys(user string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		keys, err := h.hub.SigningKeysOf(r.Context(), user)
		if err != nil {
			return err
		}
		out := make([]map[string]any, 0, len(keys))
		for i := range keys {
			out = append(out, keyJSON(&keys[i]))
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) deleteKey(seg string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := strconv.ParseInt(seg, 10, 64)
		if err != nil {
			return &hub.Error{Kind: hub.ErrNotFound, Msg: "No such key"}
		}
		if err := h.hub.DeleteSigningKey(r.Context(), server.Identity(r.Context()), id); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{})
		return nil
	}
}
