package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// repoCard is a repository in a list.
type repoCard struct {
	Repo        *hub.Repo
	PipelineTag string
	Params      int64
}

func cardsOf(rows []hub.Listing) []repoCard {
	out := make([]repoCard, 0, len(rows))
	for i := range rows {
		c := repoCard{Repo: &rows[i].Repo}
		if m := rows[i].Meta; m != nil {
			c.PipelineTag, c.Params = m.PipelineTag, m.NumParameters
		}
		out = append(out, c)
	}
	return out
}

// homePage is the body of the home template.
type homePage struct {
	TrendingModels, RecentModels     []repoCard
	TrendingDatasets, RecentDatasets []repoCard
}

const homeListSize = 8

func (h *Handler) home(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx, who := r.Context(), server.Identity(r.Context())
	var body homePage
	for _, l := range []struct {
		typ, sort string
		dst       *[]repoCard
	}{
		{hub.TypeModel, hub.SortTrending, &body.TrendingModels},
		{hub.TypeModel, hub.SortLastModified, &body.RecentModels},
		{hub.TypeDataset, hub.SortTrending, &body.TrendingDatasets},
		{hub.TypeDataset, hub.SortLastModified, &body.RecentDatasets},
	} {
		rows, _, err := h.hub.ListRepos(ctx, who, hub.ListQuery{Type: l.typ, Sort: l.sort, Desc: true, Limit: homeListSize})
		if err != nil {
			return err
		}
		*l.dst = cardsOf(rows)
	}
	return h.render(w, r, v, http.StatusOK, "home", &page{Title: "Home", Body: body})
}

// Listing sorts, as the Hub names them in its URLs.
var listSorts = map[string]string{
	"trending": hub.SortTrending, "downloads": hub.SortDownloads, "likes": hub.SortLikes,
	"updated": hub.SortLastModified, "created": hub.SortCreatedAt,
}

// sortOptions are the sorts offered, in order.
var sortOptions = []struct{ Key, Label string }{
	{"trending", "Trending"}, {"downloads", "Most downloads"}, {"likes", "Most likes"},
	{"updated", "Recently updated"}, {"created", "Recently created"},
}

// tasks are the pipeline tags offered in the task filter (any other
// value typed in a URL works too).
var tasks = []string{
	"text-generation", "text-classification", "token-classification", "question-answering",
	"summarization", "translation", "fill-mask", "feature-extraction", "sentence-similarity",
	"text-to-image", "image-to-text", "image-classification", "object-detection",
	"image-segmentation", "image-text-to-text", "automatic-speech-recognition",
	"text-to-speech", "audio-classification", "zero-shot-classification", "text-ranking",
	"reinforcement-learning", "tabular-classification", "time-series-forecasting",
}

// listPageSize is the number of repositories per listing page.
const listPageSize = 30

// maxListPage bounds ?p=: pages are found by walking from the first, so
// deep pages cost more (narrow the search instead).
const maxListPage = 99

// filters are a listing's parameters, as they appear in its URL.
type filters struct {
	Type      string
	Search    string
	Author    string
	Task      string // pipeline_tag
	Library   string
	License   string
	Language  string
	BaseModel string // base_model
	Other     string // comma-separated tags
	Sort      string
	Page      int
}

func parseFilters(typ string, q url.Values) filters {
	f := filters{Type: typ, Search: strings.TrimSpace(q.Get("search")), Author: strings.TrimSpace(q.Get("author")),
		Task: strings.TrimSpace(q.Get("pipeline_tag")), Library: strings.TrimSpace(q.Get("library")),
		License: strings.TrimSpace(q.Get("license")), Language: strings.TrimSpace(q.Get("language")),
		BaseModel: strings.TrimSpace(q.Get("base_model")), Other: strings.TrimSpace(q.Get("other")),
		Sort: q.Get("sort")}
	if _, ok := listSorts[f.Sort]; !ok {
		f.Sort = "trending"
	}
	if p, err := strconv.Atoi(q.Get("p")); err == nil && p > 0 {
		f.Page = min(p, maxListPage)
	}
	return f
}

// tags turns the filters into the tags the hub matches, spelled as the
// Hub stores them: "transformers", "license:mit", "en", "base_model:x/y".
func (f filters) tags() []string {
	var tags []string
	if f.Library != "" {
		tags = append(tags, f.Library)
	}
	if f.License != "" {
		tags = append(tags, "license:"+f.License)
	}
	if f.Language != "" {
		tags = append(tags, f.Language)
	}
	if f.BaseModel != "" {
		tags = append(tags, "base_model:"+f.BaseModel)
	}
	for t := range strings.SplitSeq(f.Other, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

func (f filters) query() hub.ListQuery {
	return hub.ListQuery{Type: f.Type, Search: f.Search, Author: f.Author, PipelineTag: f.Task, Tags: f.tags(),
		Sort: listSorts[f.Sort], Desc: true}
}

func (f filters) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("search", f.Search)
	set("author", f.Author)
	set("pipeline_tag", f.Task)
	set("library", f.Library)
	set("license", f.License)
	set("language", f.Language)
	set("base_model", f.BaseModel)
	set("other", f.Other)
	if f.Sort != "trending" {
		q.Set("sort", f.Sort)
	}
	if f.Page > 0 {
		q.Set("p", strconv.Itoa(f.Page))
	}
	return q
}

// With returns the listing's path with parameters changed (key, value,
// key, value…; an empty value removes the parameter). Changing a filter
// goes back to the first page.
func (f filters) With(kv ...string) string {
	q := f.values()
	q.Del("p")
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if q.Get("sort") == "trending" {
		q.Del("sort")
	}
	p := "/models"
	if f.Type == hub.TypeDataset {
		p = "/datasets"
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// Active lists the filters set, each with the address that removes it.
func (f filters) Active() []struct{ Label, Remove string } {
	var out []struct{ Label, Remove string }
	add := func(label, key, v string) {
		if v != "" {
			out = append(out, struct{ Label, Remove string }{label + ": " + v, f.With(key, "")})
		}
	}
	add("Search", "search", f.Search)
	add("Author", "author", f.Author)
	add("Task", "pipeline_tag", f.Task)
	add("Library", "library", f.Library)
	add("License", "license", f.License)
	add("Language", "language", f.Language)
	add("Base model", "base_model", f.BaseModel)
	add("Tags", "other", f.Other)
	return out
}

// listPage is the body of the list template.
type listPage struct {
	F     filters
	Repos []repoCard
	Total int64
	Page  int
	Prev  string // address of the previous page, "" on the first
	Next  string // address of the next page, "" on the last
	Sorts []struct{ Key, Label string }
	Tasks []string
	// CustomTask: the task filter is not one of Tasks.
	CustomTask bool
	Datasets   bool
}

func (h *Handler) list(typ string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		ctx, who := r.Context(), server.Identity(r.Context())
		f := parseFilters(typ, r.URL.Query())
		q := f.query()
		// Pages are numbered like the Hub's (?p=0 is the first); the hub
		// pages by cursor, so page p is the tail of the first p+1 pages.
		q.Limit = (f.Page + 1) * listPageSize
		rows, more, err := h.hub.ListRepos(ctx, who, q)
		if err != nil {
			return err
		}
		total, err := h.hub.CountRepos(ctx, who, q)
		if err != nil {
			return err
		}
		start := min(f.Page*listPageSize, len(rows))
		body := listPage{F: f, Repos: cardsOf(rows[start:]), Total: total, Page: f.Page, Sorts: sortOptions,
			Tasks: tasks, CustomTask: f.Task != "" && !slices.Contains(tasks, f.Task), Datasets: typ == hub.TypeDataset}
		if f.Page > 0 {
			body.Prev = f.With("p", pageParam(f.Page-1))
		}
		if more && f.Page < maxListPage {
			body.Next = f.With("p", strconv.Itoa(f.Page+1))
		}
		title, nav := "Models", "models"
		if typ == hub.TypeDataset {
			title, nav = "Datasets", "datasets"
		}
		return h.render(w, r, v, http.StatusOK, "list", &page{Title: title, Nav: nav, Query: f.Search, Body: body})
	}
}

// pageParam is the p parameter of page n ("" for the first).
func pageParam(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// jsonObject decodes a JSON object of derived metadata, nil if absent or
// malformed.
func jsonObject(b []byte) map[string]any {
	if len(b) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}
