package hubapi

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request) error {
	id := server.Identity(r.Context())
	if id == nil {
		return &hub.Error{Kind: hub.ErrUnauthenticated, Msg: "Invalid user token. You must be logged in (send Authorization: Bearer <token>)"}
	}
	u := id.User
	ans := wire.WhoAmI{
		ID: "user-" + strconv.FormatInt(u.ID, 10), Type: "user", Name: u.Name, Fullname: u.FullName, AvatarURL: h.avatarURL(r, u.Name),
		Orgs: []any{}, IsAdmin: u.IsAdmin,
		Auth: wire.WhoAmIAuth{Type: "access_token"},
	}
	orgs, err := h.hub.UserOrgs(r.Context(), u.ID)
	if err != nil {
		return err
	}
	for i := range orgs {
		ans.Orgs = append(ans.Orgs, h.orgItem(r, &orgs[i]))
	}
	if ans.Fullname == "" {
		ans.Fullname = u.Name
	}
	if u.Email != "" {
		ans.Email = &u.Email
		ans.EmailVerified = true
	}
	if t := id.Token; t != nil {
		at := &wire.WhoAmIAccessToken{DisplayName: t.Name, Role: t.Role, CreatedAt: isoTime(t.CreatedAt)}
		if !t.ExpiresAt.IsZero() {
			e := isoTime(t.ExpiresAt)
			at.ExpiresAt, ans.Auth.ExpiresAt = &e, &e
		}
		if sc := t.Scopes; sc != nil {
			fg := &wire.FineGrained{CanReadGatedRepos: sc.CanReadGatedRepos, Global: sc.Global, Scoped: []wire.FineGrainedScope{}}
			if fg.Global == nil {
				fg.Global = []string{}
			}
			for _, s := range sc.Scoped {
				fg.Scoped = append(fg.Scoped, wire.FineGrainedScope{
					Entity:      wire.FineGrainedEntity{ID: accountID(s.ID), Type: s.Type, Name: h.hub.TokenEntityName(r.Context(), s)},
					Permissions: s.Permissions})
			}
			at.FineGrained = fg
		}
		ans.Auth.AccessToken = at
	}
	server.WriteJSON(w, r, http.StatusOK, ans)
	return nil
}

// repoRow is a repository as listings and info write it; the other
// fields of model_info and of expanded listings are added to its map form
// (repoJSON). Listings without them encode it directly, which costs a
// fraction of encoding a map per row.
type repoRow struct {
	InternalID       string   `json:"_id"`
	ID               string   `json:"id"`
	Author           string   `json:"author"`
	Private          bool     `json:"private"`
	Gated            any      `json:"gated"` // false, "auto" or "manual"
	Disabled         bool     `json:"disabled"`
	Downloads        int64    `json:"downloads"`
	DownloadsAllTime int64    `json:"downloadsAllTime"`
	TrendingScore    int64    `json:"trendingScore"`
	Likes            int64    `json:"likes"`
	LastModified     string   `json:"lastModified"`
	CreatedAt        string   `json:"createdAt"`
	Tags             []string `json:"tags"`
	ModelID          string   `json:"modelId,omitempty"`
	PipelineTag      string   `json:"pipeline_tag,omitempty"`
	LibraryName      string   `json:"library_name,omitempty"`
	Sha              string   `json:"sha,omitempty"`
}

func listRow(l *hub.Listing) repoRow {
	rp := &l.Repo
	row := repoRow{InternalID: rp.PublicID, ID: rp.FullName(), Author: rp.Namespace, Private: rp.Private, Gated: false,
		Downloads: rp.Downloads, DownloadsAllTime: rp.DownloadsAllTime, TrendingScore: rp.Trending / 1000, Likes: rp.Likes,
		LastModified: isoTime(rp.UpdatedAt), CreatedAt: isoTime(rp.CreatedAt), Tags: []string{}}
	if rp.Gated != "" {
		row.Gated = rp.Gated
	}
	if rp.Type == hub.TypeModel {
		row.ModelID = row.ID
	}
	if md := l.Meta; md != nil {
		if md.Tags != nil {
			row.Tags = md.Tags
		}
		if rp.Type == hub.TypeModel {
			row.PipelineTag, row.LibraryName = md.PipelineTag, md.LibraryName
		}
		row.Sha = md.Sha.String()
	}
	return row
}

// repoJSON is a repository's row as a map, for responses that add fields.
func repoJSON(l *hub.Listing) map[string]any {
	row := listRow(l)
	v := reflect.ValueOf(row)
	t := v.Type()
	m := make(map[string]any, t.NumField()+8)
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		if opts == "omitempty" && f.IsZero() {
			continue
		}
		m[name] = f.Interface()
	}
	return m
}

// addDerived adds cardData and the derived fields (config, safetensors,
// gguf…) kept in the metadata's Info object.
func addDerived(m map[string]any, md *hub.RepoMeta) {
	if md == nil {
		return
	}
	if md.CardData != nil {
		m["cardData"] = json.RawMessage(md.CardData)
	}
	if md.CardError != "" {
		m["cardError"] = md.CardError
	}
	if md.Info != nil {
		var extra map[string]json.RawMessage
		if json.Unmarshal(md.Info, &extra) == nil {
			for k, v := range extra {
				m[k] = v
			}
		}
	}
}

func (h *Handler) info(q *req, rev string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		who := server.Identity(r.Context())
		info, err := h.hub.Info(r.Context(), who, q.ref, rev)
		if err != nil {
			return err
		}
		qs := r.URL.Query()
		blobs := boolParam(qs, "blobs")
		l := hub.Listing{Repo: *info.Repo, Meta: info.Meta}
		// In the order a map would be filled: later pairs win.
		row := listRow(&l)
		p := rowPairs(make([]pair, 0, 40), &row)
		p = append(p, h.commitPairs(info, blobs)...)
		if q.ref.Type == hub.TypeModel {
			p = append(p, pair{"spaces", []byte("[]")})
			n, err := h.hub.ChildrenCount(r.Context(), who, info.Repo)
			if err != nil {
				return err
			}
			p = append(p, pair{"childrenModelCount", strconv.AppendInt(nil, n, 10)})
		}
		if contains(listParam(qs, "expand"), "xetEnabled") {
			// huggingface_hub 0.30–0.35 uploads through Xet only when true.
			p = append(p, pair{"xetEnabled", strconv.AppendBool(nil, h.xetOn())})
		}
		if boolParam(qs, "securityStatus") || contains(listParam(qs, "expand"), "securityRepoStatus") {
			sec, err := h.hub.RepoSecurityStatus(r.Context(), info)
			if err != nil {
				return err
			}
			issues := make([]map[string]string, 0, len(sec.FilesWithIssues))
			for _, f := range sec.FilesWithIssues {
				issues = append(issues, map[string]string{"path": f.Path, "level": f.Level})
			}
			p = append(p, pair{"securityRepoStatus", encoded(map[string]any{"scansDone": sec.ScansDone, "filesWithIssues": issues})})
		}
		if keep := expandOnly(qs); keep != nil {
			p = slices.DeleteFunc(p, func(x pair) bool { return !keep[x.k] })
		}
		w.Header().Set("X-Repo-Commit", info.Revision.Commit.String())
		writeObject(w, r, http.StatusOK, p)
		return nil
	}
}

// listCursor is the opaque "cursor" parameter of listing pages.
type listCursor struct {
	V int64  `json:"v"`
	I int64  `json:"i"`
	N string `json:"n"`
}

// sortNames maps the sort parameter's spellings to orders.
var sortNames = map[string]string{
	"lastModified": hub.SortLastModified, "last_modified": hub.SortLastModified,
	"createdAt": hub.SortCreatedAt, "created_at": hub.SortCreatedAt,
	"downloads": hub.SortDownloads, "likes": hub.SortLikes,
	"id": hub.SortID, "modelId": hub.SortID,
	"trendingScore": hub.SortTrending, "trending_score": hub.SortTrending, "trending": hub.SortTrending,
}

func (h *Handler) listRepos(typ string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		qs := r.URL.Query()
		if qs.Get("inference_provider") != "" || qs.Get("inference") == "warm" {
			// No model here is served by an inference provider.
			server.WriteJSON(w, r, http.StatusOK, []any{})
			return nil
		}
		full := boolParam(qs, "full")
		q := hub.ListQuery{Type: typ, Author: qs.Get("author"), Search: strings.Join(listParam(qs, "search"), " "),
			Tags: listParam(qs, "filter"), PipelineTag: qs.Get("pipeline_tag")}
		if np := qs.Get("num_parameters"); np != "" {
			var err error
			if q.MinParams, q.MaxParams, err = hub.ParseParamRange(np); err != nil {
				return err
			}
		}
		if g := qs.Get("gated"); g != "" {
			v := boolParam(qs, "gated")
			q.Gated = &v
		}
		// Filters the Python client sends as their own parameters arrive
		// here as tags, like the Hub stores them.
		for _, key := range []string{"library", "language", "license"} {
			for _, v := range listParam(qs, key) {
				if key == "license" {
					v = "license:" + v
				}
				q.Tags = append(q.Tags, v)
			}
		}
		def, max := 1000, 1000
		if full {
			def, max = 100, 100
		}
		limit, err := intParam(qs, "limit", def, max)
		if err != nil {
			return err
		}
		if limit == 0 {
			limit = def
		}
		q.Limit = limit
		if s := qs.Get("sort"); s != "" {
			order, ok := sortNames[s]
			if !ok {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid sort " + s}
			}
			q.Sort, q.Desc = order, true
		}
		switch qs.Get("direction") {
		case "-1":
			q.Desc = true
		case "1":
			q.Desc = false
		}
		if c := qs.Get("cursor"); c != "" {
			raw, err := base64.RawURLEncoding.DecodeString(c)
			var lc listCursor
			if err != nil || json.Unmarshal(raw, &lc) != nil {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid cursor"}
			}
			q.After = &hub.Cursor{Value: lc.V, ID: lc.I, Name: lc.N}
		}
		who := server.Identity(r.Context())
		rows, more, err := h.hub.ListRepos(r.Context(), who, q)
		if err != nil {
			return err
		}
		expand := listParam(qs, "expand")
		withCard := full || boolParam(qs, "cardData") || contains(expand, "cardData")
		withConfig := full || boolParam(qs, "config") || contains(expand, "config") ||
			contains(expand, "safetensors") || contains(expand, "gguf") || contains(expand, "baseModels")
		withSiblings := full || contains(expand, "siblings")
		if more {
			c := hub.CursorOf(q.Sort, &rows[len(rows)-1])
			b, _ := json.Marshal(listCursor{V: c.Value, I: c.ID, N: c.Name})
			h.nextLink(w, r, "cursor", base64.RawURLEncoding.EncodeToString(b))
		}
		keep := expandOnly(qs)
		if !withCard && !withConfig && !withSiblings && keep == nil {
			out := make([]repoRow, len(rows))
			for i := range rows {
				out[i] = listRow(&rows[i])
			}
			server.WriteJSON(w, r, http.StatusOK, out)
			return nil
		}
		out := make([]map[string]any, 0, len(rows))
		for i := range rows {
			m := repoJSON(&rows[i])
			if withCard || withConfig {
				addDerived(m, rows[i].Meta)
				if !withCard {
					delete(m, "cardData")
				}
			}
			if withSiblings && rows[i].Meta != nil {
				sib, err := h.hub.Siblings(r.Context(), &rows[i].Repo, rows[i].Meta.Sha)
				if err == nil {
					list := make([]wire.Sibling, 0, len(sib))
					for _, e := range sib {
						list = append(list, wire.Sibling{RFilename: e.Path})
					}
					m["siblings"] = list
				}
			}
			if keep != nil {
				maps.DeleteFunc(m, func(k string, _ any) bool { return !keep[k] })
			}
			out = append(out, m)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// expandOnly returns the fields a response keeps when the request names
// some with expand: the Hub then answers those alone, with _id and id
// (huggingface_hub: "only the properties in the list will be
// returned"). Nil without expand.
func expandOnly(qs url.Values) map[string]bool {
	ex := listParam(qs, "expand")
	if len(ex) == 0 {
		return nil
	}
	keep := map[string]bool{"_id": true, "id": true}
	for _, k := range ex {
		keep[k] = true
	}
	return keep
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tagsByType answers get_model_tags and get_dataset_tags: each tag type
// with its tags, as {id, label, type}; the id is what a listing's filter
// takes.
func (h *Handler) tagsByType(repoType string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		out := map[string][]wire.TagInfo{}
		for typ, ids := range hub.TagsByType(repoType) {
			tags := make([]wire.TagInfo, 0, len(ids))
			for _, id := range ids {
				tags = append(tags, wire.TagInfo{ID: id, Label: tagLabel(typ, id), Type: typ})
			}
			out[typ] = tags
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// tagLabel is a tag's display name: tasks in words ("Text
// Classification"), other tags by their value.
func tagLabel(typ, id string) string {
	_, v, found := strings.Cut(id, ":")
	if !found {
		v = id
	}
	if typ != "pipeline_tag" && typ != "task_categories" && typ != "task_ids" && typ != "modality" {
		return v
	}
	words := strings.Split(v, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// safetensorsMetadata answers get_sharded_safetensors_metadata: the
// index's metadata (without its weight map, which the headers repeat)
// and each shard's header as the file holds it, keyed by the shard's
// name in the index.
func (h *Handler) safetensorsMetadata(q *req, segs []string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		path, ok := joinPath(segs)
		if !ok {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid path"}
		}
		ix, headers, err := h.hub.SafetensorsShards(r.Context(), server.Identity(r.Context()), q.ref, path)
		if err != nil {
			return err
		}
		out := struct {
			Index   map[string]any            `json:"index"`
			Headers map[string]map[string]any `json:"headers"`
		}{Index: map[string]any{"metadata": ix.Metadata}, Headers: map[string]map[string]any{}}
		if ix.Metadata == nil {
			out.Index["metadata"] = map[string]any{}
		}
		for shard, hd := range headers {
			m := make(map[string]any, len(hd.Tensors)+1)
			if hd.Metadata != nil {
				m["__metadata__"] = hd.Metadata
			}
			for _, t := range hd.Tensors {
				shape := t.Shape
				if shape == nil {
					shape = []int64{}
				}
				m[t.Name] = map[string]any{"dtype": t.Dtype, "shape": shape, "data_offsets": [2]int64{t.Begin, t.End}}
			}
			out.Headers[shard] = m
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}
