package web

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/formats/card"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// gateView is the access-request panel a gated repository shows to
// visitors without access: the card's extra_gated_* texts and form.
type gateView struct {
	Heading     string
	Prompt      template.HTML // extra_gated_prompt, Markdown rendered like the card
	Description string
	Button      string
	Fields      []gateFieldView
	Action      string // the form's address (ask-access)
	SignIn      string // the sign-in address, for signed-out visitors
	Status      string // the visitor's request: "", pending or rejected
	Error       string
	Manual      bool
}

// gateFieldView is one field of the request form.
type gateFieldView struct {
	Label     string
	Name      string // "field:" + label, so that no label can clash with csrf
	Type      string // text, checkbox, date_picker, country or select
	Options   []card.GateOption
	Countries []country
	Value     string
}

// country is an ISO 3166-1 alpha-2 code with its English name.
type country struct{ Code, Name string }

//go:embed countries.txt
var countriesText string

// countries are the choices of a "country" field.
var countries = func() []country {
	var out []country
	for _, line := range strings.Split(countriesText, "\n") {
		code, name, ok := strings.Cut(line, "\t")
		if ok && !strings.HasPrefix(line, "#") {
			out = append(out, country{code, name})
		}
	}
	return out
}()

func isCountry(code string) bool {
	return slices.ContainsFunc(countries, func(c country) bool { return c.Code == code })
}

// fieldPrefix names the form's gate fields.
const fieldPrefix = "field:"

// gateAnswers are a submission's values by label, to fill the form again
// after a refusal.
type gateAnswers map[string]string

// gateOf builds the panel of a gated repository for a visitor without
// access, from the README's front matter (readme may be nil).
func (h *Handler) gateOf(r *http.Request, v *visit, repo *hub.Repo, readme []byte, status string, answers gateAnswers, problem string) (*gateView, error) {
	kind := "model"
	if repo.Type == hub.TypeDataset {
		kind = "dataset"
	}
	g := &gateView{
		Heading: "You need to agree to share your contact information to access this " + kind,
		Button:  "Agree and access repository",
		Action:  repoPath(repo) + "/ask-access",
		Status:  status, Error: problem, Manual: repo.Gated == "manual",
	}
	if v.user == nil {
		g.SignIn = "/login?next=" + url.QueryEscape(repoPath(repo))
	}
	if readme == nil {
		return g, nil
	}
	cg, _ := card.Parse(readme).Gate()
	if cg.Heading != "" {
		g.Heading = cg.Heading
	}
	if cg.ButtonContent != "" {
		g.Button = cg.ButtonContent
	}
	g.Description = cg.Description
	if cg.Prompt != "" {
		p := []byte(cg.Prompt)
		key := "gate\x00" + repoPath(repo) + "\x00" + cg.Prompt
		links := linkBase{Blob: v.prefix + repoPath(repo) + "/blob/" + url.PathEscape(repo.DefaultBranch),
			Resolve: v.prefix + repoPath(repo) + "/resolve/" + url.PathEscape(repo.DefaultBranch)}
		html, err := h.cards.Render(key, func() ([]byte, error) { return p, nil }, links)
		if err != nil {
			return nil, err
		}
		g.Prompt = html
	}
	for _, f := range cg.Fields {
		fv := gateFieldView{Label: f.Label, Name: fieldPrefix + f.Label, Type: f.Type, Options: f.Options, Value: answers[f.Label]}
		switch f.Type {
		case "text", "checkbox", "date_picker", "select":
		case "country":
			fv.Countries = countries
		default:
			fv.Type = "text" // as the Hub shows unknown types
		}
		g.Fields = append(g.Fields, fv)
	}
	return g, nil
}

// readmeOf reads the README.md at the repository's default branch, or
// returns nil when there is none.
func (h *Handler) readmeOf(r *http.Request, repo *hub.Repo) ([]byte, error) {
	ref := hub.RepoRef{Type: repo.Type, Namespace: repo.Namespace, Name: repo.Name}
	_, _, ents, err := h.hub.PathsInfo(r.Context(), server.Identity(r.Context()), ref, "", []string{"README.md"}, false)
	if err != nil {
		return nil, err
	}
	for i := range ents {
		if ents[i].Path == "README.md" && !ents[i].IsDir() {
			return h.readReadme(r, repo, &ents[i])
		}
	}
	return nil, nil
}

// askAccess records the visitor's request for a gated repository, with
// the form's answers. Browsers post the form with their session; the
// Hub's clients may post JSON or a form with a bearer token instead. Both
// get 303 to the repository page.
func (h *Handler) askAccess(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		ctx, who := r.Context(), server.Identity(r.Context())
		if who == nil {
			return &hub.Error{Kind: hub.ErrUnauthenticated, Msg: "You must be signed in to request access"}
		}
		repo, err := h.hub.GetRepo(ctx, who, a.ref)
		if err != nil {
			return err
		}
		if repo.Gated == "" {
			return &hub.Error{Kind: hub.ErrNotGated, Msg: repo.Type + " " + repo.FullName() + " is not gated"}
		}
		raw, err := submittedAnswers(r, who.Token != nil)
		if err != nil {
			return err
		}
		readme, err := h.readmeOf(r, repo)
		if err != nil {
			return err
		}
		var fields []card.GateField
		if readme != nil {
			g, _ := card.Parse(readme).Gate()
			fields = g.Fields
		}
		answers, problem := checkAnswers(fields, raw)
		if problem != "" {
			if who.Token != nil {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: problem}
			}
			return h.renderRepo(w, r, v, a, http.StatusBadRequest, &gateInput{answers: raw, problem: problem})
		}
		status, err := h.hub.RequestAccess(ctx, who, a.ref, answers)
		if err != nil {
			return err
		}
		h.lg.InfoContext(ctx, "access requested", "repo", repo.FullName(), "user", who.User.Name, "status", status)
		http.Redirect(w, r, v.prefix+repoPath(repo), http.StatusSeeOther)
		return nil
	}
}

// submittedAnswers reads the request's answers by label: the form's
// "field:LABEL" values (or plain labels), or a JSON object whose values
// are written as text.
func submittedAnswers(r *http.Request, token bool) (gateAnswers, error) {
	out := gateAnswers{}
	if token {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/json" {
			var m map[string]any
			dec := json.NewDecoder(r.Body)
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
				return nil, &hub.Error{Kind: hub.ErrInvalid, Msg: "The body is not a JSON object"}
			}
			for k, val := range m {
				switch x := val.(type) {
				case string:
					out[k] = x
				case bool:
					out[k] = strconv.FormatBool(x)
				case json.Number:
					out[k] = x.String()
				case nil:
				default:
					return nil, &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf("Field %q: expected text", k)}
				}
			}
			return out, nil
		}
		if err := r.ParseForm(); err != nil {
			return nil, &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid form"}
		}
	}
	for k, vals := range r.PostForm {
		if k == "csrf" || len(vals) == 0 {
			continue
		}
		if label, ok := strings.CutPrefix(k, fieldPrefix); ok {
			out[label] = vals[0]
		} else if _, dup := out[k]; !dup {
			out[k] = vals[0]
		}
	}
	return out, nil
}

// checkAnswers keeps the answers to the card's fields and checks them:
// every field answered (a checkbox ticked: it is an agreement), a
// select's value among its options, a country an ISO code, a date a
// date. Without fields in the card there is nothing to answer.
func checkAnswers(fields []card.GateField, raw gateAnswers) (map[string]string, string) {
	out := map[string]string{}
	for _, f := range fields {
		val := strings.TrimSpace(raw[f.Label])
		if val == "" {
			if f.Type == "checkbox" {
				return nil, fmt.Sprintf("Tick %q to request access", f.Label)
			}
			return nil, fmt.Sprintf("Fill in %q to request access", f.Label)
		}
		switch f.Type {
		case "checkbox":
			switch strings.ToLower(val) {
			case "true", "on", "yes", "1":
				val = "true"
			default:
				return nil, fmt.Sprintf("Tick %q to request access", f.Label)
			}
		case "select":
			if !slices.ContainsFunc(f.Options, func(o card.GateOption) bool { return o.Value == val }) {
				return nil, fmt.Sprintf("Choose one of the options of %q", f.Label)
			}
		case "country":
			val = strings.ToUpper(val)
			if !isCountry(val) {
				return nil, fmt.Sprintf("%q: choose a country", f.Label)
			}
		case "date_picker":
			if _, err := time.Parse(time.DateOnly, val); err != nil {
				return nil, fmt.Sprintf("%q: enter a date (YYYY-MM-DD)", f.Label)
			}
		}
		out[f.Label] = val
	}
	return out, ""
}

// accessRequestsPage is the body of the access_requests template.
type accessRequestsPage struct {
	H        repoHeader
	Status   string
	Statuses []string
	Requests []accessRequestRow
	Next     string
	Grant    string // the grant form's user name
	Error    string
}

type accessRequestRow struct {
	User     string
	FullName string
	Email    string
	At       time.Time
	Reviewed time.Time
	Reason   string
	Fields   []fieldAnswer
}

type fieldAnswer struct{ Label, Value string }

// accessRequestsShown is the page size of the requests list.
const accessRequestsShown = 100

var accessStatuses = []string{hub.AccessPending, hub.AccessAccepted, hub.AccessRejected}

func (h *Handler) accessRequests(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		return h.renderRequests(w, r, v, a, http.StatusOK, "", "")
	}
}

func (h *Handler) renderRequests(w http.ResponseWriter, r *http.Request, v *visit, a *repoAddr, status int, grant, problem string) error {
	ctx, who := r.Context(), server.Identity(r.Context())
	repo, err := h.hub.Authorize(ctx, who, a.ref, hub.ReadRequests)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	st := q.Get("status")
	if st == "" {
		st = hub.AccessPending
	}
	if !slices.Contains(accessStatuses, st) {
		return &hub.Error{Kind: hub.ErrInvalid, Msg: "Unknown status " + st}
	}
	body := accessRequestsPage{H: h.header(r, repo, "settings", ""), Status: st, Statuses: accessStatuses, Grant: grant, Error: problem}
	if repo.Gated != "" {
		var after hub.AccessCursor
		if s := q.Get("after"); s != "" {
			ns, id, _ := strings.Cut(s, "-")
			n, err1 := strconv.ParseInt(ns, 10, 64)
			uid, err2 := strconv.ParseInt(id, 10, 64)
			if err1 != nil || err2 != nil {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid page position"}
			}
			after = hub.AccessCursor{CreatedAt: time.Unix(0, n), UserID: uid}
		}
		list, err := h.hub.ListAccessRequests(ctx, who, a.ref, st, after, accessRequestsShown+1)
		if err != nil {
			return err
		}
		if len(list) > accessRequestsShown {
			list = list[:accessRequestsShown]
			last := list[len(list)-1]
			body.Next = fmt.Sprintf("%s/settings/access-requests?status=%s&after=%d-%d", repoPath(repo), st, last.CreatedAt.UnixNano(), last.User.ID)
		}
		for _, req := range list {
			row := accessRequestRow{User: req.User.Name, FullName: req.User.FullName, Email: req.User.Email,
				At: req.CreatedAt, Reviewed: req.ReviewedAt, Reason: req.Reason}
			labels := make([]string, 0, len(req.Fields))
			for k := range req.Fields {
				labels = append(labels, k)
			}
			slices.Sort(labels)
			for _, k := range labels {
				row.Fields = append(row.Fields, fieldAnswer{k, req.Fields[k]})
			}
			body.Requests = append(body.Requests, row)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, status, "access_requests", &page{Title: "Access requests · " + repo.FullName(), Body: body})
}

// handleAccessRequest accepts, rejects or resets a request, or grants
// access to a user by name.
func (h *Handler) handleAccessRequest(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		ctx, who := r.Context(), server.Identity(r.Context())
		user := strings.TrimSpace(r.PostFormValue("user"))
		back := r.PostFormValue("status")
		if !slices.Contains(accessStatuses, back) {
			back = hub.AccessPending
		}
		var err error
		switch act := r.PostFormValue("action"); act {
		case hub.AccessAccepted, hub.AccessRejected, hub.AccessPending:
			err = h.hub.HandleAccessRequest(ctx, who, a.ref, user, "", act, strings.TrimSpace(r.PostFormValue("reason")))
		case "grant":
			err = h.hub.GrantAccess(ctx, who, a.ref, user)
		default:
			err = &hub.Error{Kind: hub.ErrInvalid, Msg: "Unknown action"}
		}
		if err != nil {
			p := server.Classify(err)
			if !p.Internal && p.Status != http.StatusForbidden && !errors.Is(err, hub.ErrRepoNotFound) {
				grant := ""
				if r.PostFormValue("action") == "grant" {
					grant = user
				}
				r.URL.RawQuery = "status=" + back
				return h.renderRequests(w, r, v, a, p.Status, grant, p.Msg)
			}
			return err
		}
		repo, err := h.hub.GetRepo(ctx, who, a.ref)
		if err != nil {
			return err
		}
		http.Redirect(w, r, v.prefix+repoPath(repo)+"/settings/access-requests?status="+back, http.StatusSeeOther)
		return nil
	}
}
