package metatest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/agorahub/agora/internal/meta"
)

// DataVersionConcurrent checks a store's data version (sqlitemeta's and
// pgmeta's DataVersion, read by version as of the call) while writer
// commits users without pause: a count read after a version was taken is
// kept as a cache would keep it, and whenever a later version is the same,
// the count read again must be too, unless a version taken after that
// read has moved (a commit in between). count reads the number of users.
func DataVersionConcurrent(t *testing.T, version func() uint64, writer meta.Store, count func() int, rounds int) {
	t.Helper()
	ctx := t.Context()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := writer.CreateUser(ctx, &meta.User{Name: fmt.Sprintf("n%d", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range rounds {
		v := version()
		n := count()
		if v2 := version(); v2 == v {
			if m := count(); m != n {
				if v3 := version(); v3 == v {
					t.Fatalf("version %d unchanged while the count went from %d to %d", v, n, m)
				}
			}
		}
	}
}
