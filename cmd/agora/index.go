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
	"github.com/agorahub/agora/internal/server"
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

// indexMetrics exports the listing index's figures: its size, how far it
// is behind the change feed, how long it took to be ready, and its reads
// of the feed.
func indexMetrics(srv *server.Server) (search.Options, func(*search.Index)) {
	catchUps := srv.Histogram("agora_search_index_catchup_seconds", "Time to read and apply a batch of changes from the store's change feed into the listing index.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 10, 60})
	docs := srv.Counter("agora_search_index_changes_total", "Documents read from the change feed into the listing index.")
	opts := search.Options{OnCatchUp: func(n int, d time.Duration) {
		catchUps(d.Seconds())
		docs(float64(n))
	}}
	return opts, func(ix *search.Index) {
		srv.GaugeFunc("agora_search_index_repositories", "Repositories in the listing index.", func() float64 { return float64(ix.Stats().Docs) })
		srv.GaugeFunc("agora_search_index_bytes", "Memory held by the listing index, about.", func() float64 { return float64(ix.Stats().Bytes) })
		srv.GaugeFunc("agora_search_index_lag_seconds", "Time since the newest completed read of the change feed began: how far listings may lag behind writes (0 until ready).", func() float64 {
			if st := ix.Stats(); st.Ready {
				return st.Lag.Seconds()
			}
			return 0
		})
		srv.GaugeFunc("agora_search_index_ready_seconds", "Time the listing index took to be ready after start (0 until ready).", func() float64 { return ix.Stats().ReadyIn.Seconds() })
	}
}
