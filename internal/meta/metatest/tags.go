package metatest

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/agorahub/agora/internal/meta"
)

// TagsBackfill checks migration 12, which keeps every repository's tags in
// its metadata row: a database migrated from before it lists the tags
// gathered from repo_tags, in order. open opens the store at the same
// database each time; rawDB reaches its tables, to take the schema back
// to version 11.
func TagsBackfill(t *testing.T, open func() meta.Store, rawDB func(meta.Store) *sql.DB) {
	ctx := t.Context()
	s := open()
	mkUser(t, s, "tagger")
	tagged := mkRepo(t, s, meta.TypeModel, "tagger", "tagged", false)
	bare := mkRepo(t, s, meta.TypeModel, "tagger", "bare", false)
	must(t, s.PutRepoMeta(ctx, tagged.ID, &meta.RepoMeta{Tags: []string{"z", "license:mit", "z", `quo"te`, "a"}}))
	must(t, s.PutRepoMeta(ctx, bare.ID, &meta.RepoMeta{}))
	want := []string{"z", "license:mit", `quo"te`, "a"}
	check := func(when string) {
		t.Helper()
		m, err := s.GetRepoMeta(ctx, tagged.ID)
		must(t, err)
		if !slices.Equal(m.Tags, want) {
			t.Fatalf("%s: tags %q, want %q", when, m.Tags, want)
		}
		ls, err := s.ReposByIDs(ctx, []int64{tagged.ID, bare.ID}, true, nil)
		must(t, err)
		for _, l := range ls {
			if w := map[int64][]string{tagged.ID: want}[l.Repo.ID]; l.Meta == nil || !slices.Equal(l.Meta.Tags, w) {
				t.Fatalf("%s: listing of %s: meta %+v, want tags %q", when, l.Repo.Name, l.Meta, w)
			}
		}
	}
	check("written")
	db := rawDB(s)
	// Back to the schema before migration 12: the store applies the
	// migrations after the newest it has, so the later ones are undone too.
	for _, stmt := range []string{`ALTER TABLE repo_meta DROP COLUMN tags`, `DROP INDEX repo_redirects_repo`, `DELETE FROM schema_migrations WHERE version >= 12`} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	must(t, s.Close())
	s = open()
	defer s.Close()
	check("migrated")
}
