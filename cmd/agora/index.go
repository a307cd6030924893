package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/search"
)

// indexFlags configure the listing index (package search).
type indexFlags struct {
	snapshot *string
	every    *time.Duration
	data     *string
}

func addIndexFlags(f *flags, st *storeFlags) *indexFlags {
	return &indexFlags{
		snapshot: f.string("index-snapshot", "", "file the listing index is saved to and restarted from (default: DATA/search-index; off: none)"),
		every:    f.duration("index-snapshot-every", 10*time.Minute, "how often a changed listing index is saved"),
		data:     st.data,
	}
}

// path is the snapshot file, "" for none.
func (c *indexFlags) path() string {
	switch *c.snapshot {
	case "off":
		return ""
	case "":
		return filepath.Join(*c.data, "search-index")
	}
	return *c.snapshot
}

// openIndex builds the listing index of ms. A snapshot names the store it
// was saved for by an id kept in the store itself, so a snapshot is never
// loaded into another database.
func openIndex(ctx context.Context, lg *slog.Logger, ms meta.Store, c *indexFlags, opts search.Options) (*search.Index, error) {
	id, err := ms.Secret(ctx, "store-id", func() []byte {
		b := make([]byte, 16)
		rand.Read(b)
		return b
	})
	if err != nil {
		return nil, fmt.Errorf("listing index: %w", err)
	}
	opts.Snapshot, opts.SnapshotEvery, opts.StoreID = c.path(), *c.every, hex.EncodeToString(id)
	return search.New(lg, ms, opts), nil
}
