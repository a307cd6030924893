package search

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBuild reports what an index of -search.docs generated
// repositories costs: heap per document, time per document put, and the
// snapshot's size, write and load times.
//
//	go test ./internal/search -run '^$' -bench Build -benchtime 1x -search.docs 1000000
func BenchmarkBuild(b *testing.B) {
	docs := genDocs(*benchDocs)
	for range b.N {
		before := heapInUse()
		start := time.Now()
		x := newIndex()
		x.mu.Lock()
		x.bulk = true
		for i := range docs {
			x.put(&docs[i])
		}
		x.mu.Unlock()
		put := time.Since(start)
		start = time.Now()
		x.finish()
		orders := time.Since(start)
		heap := heapInUse() - before
		var buf bytes.Buffer
		start = time.Now()
		if _, err := writeSnapshot(&buf, x, "bench"); err != nil {
			b.Fatal(err)
		}
		write := time.Since(start)
		size := buf.Len()
		start = time.Now()
		y, err := readSnapshot(&buf, "bench", time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		read := time.Since(start)
		runtime.KeepAlive(y)
		n := float64(len(docs))
		b.ReportMetric(float64(heap)/n, "heap-B/doc")
		b.ReportMetric(float64(x.bytes())/n, "est-B/doc")
		b.ReportMetric(float64(put.Nanoseconds())/n, "put-ns/doc")
		b.ReportMetric(orders.Seconds(), "lists+orders-s")
		b.ReportMetric(float64(size)/n, "snap-B/doc")
		b.ReportMetric(write.Seconds(), "snap-write-s")
		b.ReportMetric(read.Seconds(), "snap-load-s")
		runtime.KeepAlive(x)
	}
}

// BenchmarkQuery answers bench/discovery's query mixes in-process and
// reports latency percentiles.
//
//	go test ./internal/search -run '^$' -bench Query -search.docs 1000000
func BenchmarkQuery(b *testing.B) {
	docs := genDocs(*benchDocs)
	x := newIndex()
	x.mu.Lock()
	for i := range docs {
		x.put(&docs[i])
	}
	x.mu.Unlock()
	x.refreshOrders()
	for _, mix := range []struct {
		name   string
		search bool
	}{{"search+filters", true}, {"filters", false}} {
		b.Run(mix.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				q := genQuery(rng, mix.search)
				start := time.Now()
				x.query(&q, q.Limit)
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			p := func(f float64) float64 { return float64(lat[min(len(lat)-1, int(float64(len(lat))*f))].Microseconds()) }
			b.ReportMetric(p(.5), "p50-µs")
			b.ReportMetric(p(.99), "p99-µs")
		})
	}
}
