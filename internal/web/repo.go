package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/formats/card"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// repoHeader is the top of every repository page.
type repoHeader struct {
	Repo     *hub.Repo
	Path     string // the repository's page path
	Tab      string // "card", "files", "commits" or "settings"
	Rev      string // revision of the files tab, escaped as one segment
	CanWrite bool
	// Mirror says where a mirrored repository comes from (nil: local).
	Mirror *hub.MirrorStatus
}

func (h *Handler) header(r *http.Request, repo *hub.Repo, tab, rev string) repoHeader {
	if rev == "" {
		rev = repo.DefaultBranch
	}
	// A page without the mirror line is better than no page.
	mirror, _ := h.hub.MirrorStatus(r.Context(), repo)
	return repoHeader{Repo: repo, Path: repoPath(repo), Tab: tab, Rev: url.PathEscape(rev),
		CanWrite: h.hub.Can(r.Context(), server.Identity(r.Context()), repo, hub.Manage), Mirror: mirror}
}

// repoPage is the body of the repo template.
type repoPage struct {
	H         repoHeader
	Card      template.HTML
	HasCard   bool
	CardError string
	Meta      []metaField
	Details   details
	Lineage   *lineageView
	Use       []command
	Files     int
	Commit    commitView
	// Gate is the access-request panel of a gated repository the viewer
	// may not download from; GateOpen says the viewer has access.
	Gate     *gateView
	GateOpen bool
	Requests bool // the viewer reviews the repository's access requests
}

// gateInput is a refused access request to show again on the page.
type gateInput struct {
	answers gateAnswers
	problem string
}

// metaField is one key of the card's front matter.
type metaField struct {
	Key    string
	Values []string // for a list of scalars
	Text   string   // for anything else
}

// details is the side panel.
type details struct {
	License     *tagLink
	Task        *tagLink
	Library     *tagLink
	Languages   []tagLink
	Datasets    []tagLink
	Downloads   int64
	Likes       int64
	Params      int64
	TensorTypes []tensorType
	GGUF        *ggufView
	Tags        []tagLink
}

// tagLink is a value shown with the address of a listing filtered by it.
type tagLink struct {
	Name string
	Link string
}

type tensorType struct {
	Dtype string
	Count int64
}

type ggufView struct {
	Architecture  string
	ContextLength int64
	Params        int64
}

// lineageView is the model tree panel: the base models the card names
// and the models on this hub that name this one, by relation.
type lineageView struct {
	Parents  []parentView
	Children []childGroup
}

type parentView struct {
	Name     string
	Relation string
	Path     string // page of the base model on this hub, "" if absent
}

type childGroup struct {
	Relation string
	Label    string
	Count    int64
	Repos    []hub.Repo
	More     bool   // not all are listed
	All      string // listing of every child of this relation
}

// command is a copyable "use this model" snippet.
type command struct {
	Label string
	Text  string
}

// commitView is a commit summary.
type commitView struct {
	ID     string
	Short  string
	Title  string
	Author string
	Date   time.Time
}

// relations orders the lineage groups.
var relations = []struct{ rel, label string }{
	{card.RelationFinetune, "Finetunes"}, {card.RelationAdapter, "Adapters"},
	{card.RelationQuantized, "Quantizations"}, {card.RelationMerge, "Merges"},
}

// childrenShown bounds the children listed per relation.
const childrenShown = 10

func (h *Handler) repoPage(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		return h.renderRepo(w, r, v, a, http.StatusOK, nil)
	}
}

// renderRepo renders the repository page; in is a refused access request
// to show in the gate panel.
func (h *Handler) renderRepo(w http.ResponseWriter, r *http.Request, v *visit, a *repoAddr, status int, in *gateInput) error {
	ctx, who := r.Context(), server.Identity(r.Context())
	info, err := h.hub.GetRepoHome(ctx, who, a.ref)
	if err != nil {
		return err
	}
	repo := info.Repo
	body := repoPage{H: h.header(r, repo, "card", ""), Files: info.Files}
	c := info.Commit
	body.Commit = commitView{ID: info.Revision.Commit.String(), Short: shortID(info.Revision.Commit),
		Title: c.Title(), Author: c.Author.Name, Date: c.Committer.When}

	var cardData map[string]any
	if m := info.Meta; m != nil {
		cardData = jsonObject(m.CardData)
		body.CardError = m.CardError
		body.Meta = frontMatter(cardData)
		body.Details = detailsOf(repo, m, cardData)
	} else {
		body.Details = details{Downloads: repo.Downloads, Likes: repo.Likes}
	}
	rev := url.PathEscape(repo.DefaultBranch)
	links := linkBase{Blob: v.prefix + body.H.Path + "/blob/" + rev, Resolve: v.prefix + body.H.Path + "/resolve/" + rev}
	var readme *hub.Entry
	for i := range info.Root {
		e := &info.Root[i]
		if e.Path != "README.md" || e.IsDir() {
			continue
		}
		readme = e
		key := e.OID.String() + "\x00" + links.Blob
		body.Card, err = h.cards.Render(key, func() ([]byte, error) { return h.readCard(r, repo, e) }, links)
		if err != nil {
			return err
		}
		body.HasCard = true
	}
	if repo.Gated != "" {
		if err := h.gatePanel(r, v, repo, readme, &body, in); err != nil {
			return err
		}
	}
	if repo.Type == hub.TypeModel {
		_, lin, err := h.hub.GetLineage(ctx, who, a.ref, childrenShown)
		if err != nil {
			return err
		}
		body.Lineage = lineageOf(lin, repo)
	}
	body.Use = useCommands(v.base, repo, info.Root)
	if body.Gate != nil {
		w.Header().Set("Cache-Control", "no-store")
	}
	return h.render(w, r, v, status, "repo", &page{Title: repo.FullName(), Body: body})
}

// gatePanel fills the gate of a gated repository: the request form for
// a visitor without access, a note for one with access, and the link to
// the requests for those who review them.
func (h *Handler) gatePanel(r *http.Request, v *visit, repo *hub.Repo, readme *hub.Entry, body *repoPage, in *gateInput) error {
	ctx, who := r.Context(), server.Identity(r.Context())
	body.Requests = h.hub.Can(ctx, who, repo, hub.ReadRequests)
	if h.hub.Can(ctx, who, repo, hub.ReadContent) {
		body.GateOpen = true
		return nil
	}
	status, err := h.hub.AccessStatus(ctx, who, repo)
	if err != nil {
		return err
	}
	var raw []byte
	if readme != nil {
		if raw, err = h.readReadme(r, repo, readme); err != nil {
			return err
		}
	}
	if in == nil {
		in = &gateInput{}
	}
	body.Gate, err = h.gateOf(r, v, repo, raw, status, in.answers, in.problem)
	return err
}

// readCard returns the Markdown body of a README (front matter removed),
// reading at most a little more than is rendered.
func (h *Handler) readCard(r *http.Request, repo *hub.Repo, e *hub.Entry) ([]byte, error) {
	data, err := h.readReadme(r, repo, e)
	if err != nil {
		return nil, err
	}
	return []byte(card.Parse(data).Body), nil
}

// readReadme reads a README, at most a little more than a card renders.
func (h *Handler) readReadme(r *http.Request, repo *hub.Repo, e *hub.Entry) ([]byte, error) {
	if e.LFS == nil {
		return h.hub.ReadBlob(r.Context(), repo, e)
	}
	c, err := h.hub.OpenContent(r.Context(), repo, e, false, 0)
	if err != nil {
		return nil, err
	}
	if c.File == nil {
		return nil, fmt.Errorf("README.md of %s: no content", repo.FullName())
	}
	defer c.File.Close()
	b, err := io.ReadAll(io.LimitReader(c.File, card.MaxFrontMatterSize+maxCardBody+1))
	if err != nil {
		return nil, fmt.Errorf("read README.md of %s: %w", repo.FullName(), err)
	}
	return b, nil
}

// frontMatter lists the card's metadata for the panel, keys sorted.
func frontMatter(data map[string]any) []metaField {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > maxMetaKeys {
		keys = keys[:maxMetaKeys]
	}
	out := make([]metaField, 0, len(keys))
	for _, k := range keys {
		f := metaField{Key: k}
		if vals, ok := scalarList(data[k]); ok {
			f.Values = vals
		} else {
			f.Text = scalarText(data[k])
		}
		out = append(out, f)
	}
	return out
}

// Bounds of the metadata panel: the keys shown, and the text of one value.
const (
	maxMetaKeys = 200
	maxMetaText = 600
)

func scalarText(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case nil:
		s = "null"
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	if len(s) > maxMetaText {
		s = strings.ToValidUTF8(s[:maxMetaText], "") + "…"
	}
	return s
}

// scalarList returns a list of scalars as strings.
func scalarList(v any) ([]string, bool) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 || len(l) > 100 {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		switch x.(type) {
		case map[string]any, []any:
			return nil, false
		}
		out = append(out, scalarText(x))
	}
	return out, true
}

func strOrFirst(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			return s
		}
	}
	return ""
}

func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, i := range x {
			if s, ok := i.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func detailsOf(repo *hub.Repo, m *hub.RepoMeta, cardData map[string]any) details {
	f := filters{Type: repo.Type, Sort: "trending"}
	d := details{Downloads: repo.Downloads, Likes: repo.Likes, Params: m.NumParameters}
	if m.PipelineTag != "" {
		d.Task = &tagLink{m.PipelineTag, f.With("pipeline_tag", m.PipelineTag)}
	}
	if m.LibraryName != "" {
		d.Library = &tagLink{m.LibraryName, f.With("library", m.LibraryName)}
	}
	if l := strOrFirst(cardData["license"]); l != "" {
		d.License = &tagLink{l, f.With("license", l)}
		if n := strOrFirst(cardData["license_name"]); l == "other" && n != "" {
			d.License.Name = n
		}
	}
	for _, l := range strList(cardData["language"]) {
		d.Languages = append(d.Languages, tagLink{l, f.With("language", l)})
	}
	for _, ds := range strList(cardData["datasets"]) {
		if ns, name, ok := strings.Cut(ds, "/"); ok {
			d.Datasets = append(d.Datasets, tagLink{ds, refPath(hub.RepoRef{Type: hub.TypeDataset, Namespace: ns, Name: name})})
		} else {
			d.Datasets = append(d.Datasets, tagLink{ds, filters{Type: hub.TypeDataset, Sort: "trending", Search: ds}.With()})
		}
	}
	for _, t := range m.Tags {
		d.Tags = append(d.Tags, tagLink{t, f.With("other", t)})
	}
	info := jsonObject(m.Info)
	if st, ok := info["safetensors"].(map[string]any); ok {
		if p, ok := st["parameters"].(map[string]any); ok {
			for dt, n := range p {
				num, _ := n.(json.Number)
				if c, err := num.Int64(); err == nil {
					d.TensorTypes = append(d.TensorTypes, tensorType{Dtype: dt, Count: c})
				}
			}
			slices.SortFunc(d.TensorTypes, func(a, b tensorType) int {
				if a.Count != b.Count {
					if a.Count > b.Count {
						return -1
					}
					return 1
				}
				return strings.Compare(a.Dtype, b.Dtype)
			})
		}
	}
	if g, ok := info["gguf"].(map[string]any); ok {
		gv := &ggufView{}
		gv.Architecture, _ = g["architecture"].(string)
		if n, ok := g["context_length"].(json.Number); ok {
			gv.ContextLength, _ = n.Int64()
		}
		if n, ok := g["total"].(json.Number); ok {
			gv.Params, _ = n.Int64()
		}
		d.GGUF = gv
	}
	return d
}

func lineageOf(l *hub.Lineage, repo *hub.Repo) *lineageView {
	lv := &lineageView{}
	for _, p := range l.Parents {
		pv := parentView{Name: p.Name, Relation: p.Relation}
		if p.Repo != nil {
			pv.Name, pv.Path = p.Repo.FullName(), repoPath(p.Repo)
		}
		lv.Parents = append(lv.Parents, pv)
	}
	for _, rel := range relations {
		n := l.Counts[rel.rel]
		if n == 0 {
			continue
		}
		lv.Children = append(lv.Children, childGroup{Relation: rel.rel, Label: rel.label, Count: n,
			Repos: l.Children[rel.rel], More: n > int64(len(l.Children[rel.rel])),
			All: filters{Type: repo.Type, Sort: "trending", Other: "base_model:" + rel.rel + ":" + repo.FullName()}.With()})
	}
	if len(lv.Parents) == 0 && len(lv.Children) == 0 {
		return nil
	}
	return lv
}

// sampleFile picks, among the root folder's entries, the file the curl
// example downloads: the model's config or weights, a dataset's first
// data file, else the card.
func sampleFile(repo *hub.Repo, files []hub.Entry) string {
	has := func(p string) bool {
		for _, e := range files {
			if e.Path == p {
				return true
			}
		}
		return false
	}
	if repo.Type == hub.TypeModel && has("config.json") {
		return "config.json"
	}
	for _, e := range files {
		if e.IsDir() {
			continue
		}
		ext := path.Ext(e.Path)
		if repo.Type == hub.TypeModel && (ext == ".safetensors" || ext == ".gguf") {
			return e.Path
		}
		if repo.Type == hub.TypeDataset && e.Path != "README.md" && e.Path != ".gitattributes" {
			return e.Path
		}
	}
	if has("README.md") {
		return "README.md"
	}
	return ".gitattributes"
}

// useCommands are the exact commands that fetch the repository from this
// server.
func useCommands(base string, repo *hub.Repo, files []hub.Entry) []command {
	id := repo.FullName()
	ds := repo.Type == hub.TypeDataset
	cli := "HF_ENDPOINT=" + base + " huggingface-cli download " + id
	py := "from huggingface_hub import snapshot_download\n\nsnapshot_download(repo_id=\"" + id + "\", "
	if ds {
		cli += " --repo-type dataset"
		py += "repo_type=\"dataset\", "
	}
	py += "endpoint=\"" + base + "\")"
	web := base + refPath(hub.RepoRef{Type: repo.Type, Namespace: repo.Namespace, Name: repo.Name})
	curl := "curl -L -O " + web + "/resolve/" + url.PathEscape(repo.DefaultBranch) + "/" + escapePath(sampleFile(repo, files))
	if repo.Private {
		cli = "HF_TOKEN=hf_… " + cli
		curl = "curl -L -O -H \"Authorization: Bearer $HF_TOKEN\" " + strings.TrimPrefix(curl, "curl -L -O ")
	}
	return []command{
		{Label: "huggingface-cli", Text: cli},
		{Label: "Python", Text: py},
		{Label: "git", Text: "git clone " + web},
		{Label: "curl", Text: curl},
	}
}
