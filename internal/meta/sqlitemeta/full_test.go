package sqlitemeta

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// TestFullDatabaseIsErrNoSpace fills the database up to a page limit (what
// a full disk looks like to SQLite: SQLITE_FULL) and checks that writes,
// inside and outside transactions, fail with meta.ErrNoSpace.
func TestFullDatabaseIsErrNoSpace(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	r := &meta.Repo{PublicID: strings.Repeat("0", 24), Type: meta.TypeModel, Namespace: "n", Name: "full"}
	if err := s.CreateRepo(ctx, r); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := s.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// max_page_count is per connection: hold every connection of the
	// pool at once and cap each at the pages in use (but the one the
	// store keeps for its data version, which never writes).
	var conns []*sql.Conn
	st := s.DB().Stats()
	for range st.MaxOpenConnections - st.InUse {
		c, err := s.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	big := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte(strings.Repeat("x", 1<<20))}
	tests := []struct {
		name string
		fn   func() error
	}{
		{"PutObjects", func() error { return s.PutObjects(ctx, r.ID, []gitobj.Object{big}) }},
		{"InTx", func() error {
			return s.InTx(ctx, func(tx meta.Tx) error { return tx.PutObjects(ctx, r.ID, []gitobj.Object{big}) })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fn()
			if !errors.Is(err, meta.ErrNoSpace) {
				t.Fatalf("err = %v, want meta.ErrNoSpace", err)
			}
		})
	}
}
