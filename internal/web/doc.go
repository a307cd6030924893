// Package web serves Agora's pages: the home page, model and dataset
// listings, repository pages with the rendered model card, the file
// browser, history, user and organisation pages, and the account pages
// (sign-in with a password or single sign-on, classic and fine-grained
// tokens, new repository and organisation, repository and organisation
// settings, members, gated access requests and their review, the audit
// log).
//
// Pages are server-rendered with html/template; templates and static files
// are embedded, so the binary needs no build step or asset directory. Every
// page is readable without JavaScript; static/app.js only adds copy
// buttons.
//
// Addresses follow the Hub's scheme (/{owner}/{name},
// /datasets/{owner}/{name}, /{id}/tree/{rev}/{path}…), routed by hand on
// the escaped path like the other handler packages (see server.Router).
// The package is mounted after hubapi and never claims the API, download,
// LFS or git paths: its router returns nil for them.
//
// Handlers parse, call the hub and render: permissions are the hub's
// business, so a private repository the viewer may not see is the hub's
// ErrRepoNotFound and renders as the same 404 page as a missing one.
//
// The model card is untrusted HTML: it is rendered by goldmark, cleaned by
// a bluemonday policy stricter than its UGC policy, and re-parsed with the
// HTML5 parser so that stray end tags cannot close the page's own elements
// (markdown.go). Pages also send a Content-Security-Policy that allows no
// inline script, as a second line of defence.
//
// Sessions are the hub's signed, stateless values in the agora_session
// cookie (HttpOnly, SameSite=Lax, Secure over https); every form carries a
// CSRF token bound to the session (or, for the sign-in form, to a random
// pre-session cookie), and a POST without a valid one is refused with 403.
// Forms never accept a bearer token instead of the session, so that a
// leaked token cannot revoke tokens or change settings through the pages;
// the one exception is the Hub's ask-access, which its clients post with
// a token.
//
// Single sign-on (sso.go) keeps the flow's state, nonce and PKCE verifier
// in a signed cookie scoped to /login/oidc between the redirect to the
// provider and its callback; the hub finds or creates the account.
package web
