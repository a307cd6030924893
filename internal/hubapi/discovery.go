package hubapi

import (
	"net/http"

	"github.com/agorahub/agora/internal/server"
)

func (h *Handler) like(q *req, on bool) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.hub.SetLike(r.Context(), server.Identity(r.Context()), q.ref, on); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{})
		return nil
	}
}

// userLikes answers GET /api/users/{user}/likes with the Hub's shape:
// [{createdAt, repo: {name, type}}].
func (h *Handler) userLikes(user string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		likes, err := h.hub.LikedBy(r.Context(), server.Identity(r.Context()), user)
		if err != nil {
			return err
		}
		out := make([]map[string]any, 0, len(likes))
		for _, l := range likes {
			out = append(out, map[string]any{
				"createdAt": isoTime(l.CreatedAt),
				"repo":      map[string]any{"name": l.Repo.FullName(), "type": l.Repo.Type},
			})
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) likers(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		users, err := h.hub.Likers(r.Context(), server.Identity(r.Context()), q.ref)
		if err != nil {
			return err
		}
		out := make([]map[string]any, 0, len(users))
		for _, u := range users {
			full := u.FullName
			if full == "" {
				full = u.Name
			}
			out = append(out, map[string]any{"user": u.Name, "fullname": full, "type": "user", "avatarUrl": "", "isPro": false})
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// lineage answers the Agora model-tree endpoint GET
// /api/{type}s/{id}/lineage: parents with their relation and whether they
// exist here, and children grouped by relation with counts.
func (h *Handler) lineage(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		qs := r.URL.Query()
		per, err := intParam(qs, "limit", 20, 100)
		if err != nil {
			return err
		}
		_, l, err := h.hub.GetLineage(r.Context(), server.Identity(r.Context()), q.ref, per)
		if err != nil {
			return err
		}
		parents := make([]map[string]any, 0, len(l.Parents))
		for _, p := range l.Parents {
			e := map[string]any{"id": p.Name, "relation": p.Relation, "exists": p.Repo != nil}
			if p.Repo != nil {
				e["id"] = p.Repo.FullName()
			}
			parents = append(parents, e)
		}
		children := map[string]any{}
		for _, rel := range []string{"finetune", "adapter", "quantized", "merge"} {
			list := []map[string]any{}
			for _, c := range l.Children[rel] {
				list = append(list, map[string]any{"id": c.FullName(), "downloads": c.Downloads, "likes": c.Likes})
			}
			children[rel] = map[string]any{"count": l.Counts[rel], "models": list}
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{
			"parents": parents, "children": children, "childrenCount": l.ChildrenCount(),
		})
		return nil
	}
}
