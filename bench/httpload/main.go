// Command httpload is a small load generator for what wrk cannot do:
// HEAD requests (wrk waits for the body a HEAD answer announces). It
// keeps -c connections busy for -d with one request and prints
// "req/s p50-ms p99-ms", or fails on any answer but 200.
//
//	go run ./bench/httpload -X HEAD -c 16 -d 10s http://127.0.0.1:8080/a/b/resolve/main/config.json
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"sync"
	"time"
)

func main() {
	method := flag.String("X", "GET", "method")
	conns := flag.Int("c", 16, "connections")
	dur := flag.Duration("d", 10*time.Second, "duration")
	flag.Parse()
	url := flag.Arg(0)
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			var local []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(*method, url, nil)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s %s: %s", *method, url, resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed != nil {
		log.Fatal(failed)
	}
	slices.Sort(lat)
	p := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*f))].Microseconds()) / 1000
	}
	fmt.Printf("%.0f %.2f %.2f\n", float64(len(lat))/dur.Seconds(), p(.5), p(.99))
}
