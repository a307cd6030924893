// Command discovery benchmarks search and model info on a large hub
// (issue: model intelligence). It seeds a metadata store with N
// repositories carrying realistic metadata (a generator, not a fixture),
// starts `agora serve` on it and drives list_models (search + filters +
// sort) and model_info with 16 concurrent connections on loopback,
// printing latency percentiles against the goals (p99 < 50 ms for
// listings, < 5 ms for model_info) with the server's own view of each
// scenario (its CPU per request, its latency histogram, its garbage
// collections), how long the listing index took to be
// ready, and the server's RSS and Go heap (separately: SQLite's page
// cache is in the RSS, not in the heap) with the index's own share.
// With -restart it then stops the server (which saves the index's
// snapshot), starts it again and reports how long until a listing is
// answered from the index, and correctly (the same rows as before).
//
//	go run ./bench/discovery -repos 1000000 -duration 20s -restart
//	go run ./bench/discovery -repos 1000000 -db postgres://agora:agora@127.0.0.1:25432/agora -restart
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/pgmeta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
)

var (
	repos     = flag.Int("repos", 1_000_000, "repositories to seed")
	withObjs  = flag.Int("with-objects", 20_000, "how many of them get a real commit (model_info targets)")
	duration  = flag.Duration("duration", 20*time.Second, "load duration per scenario")
	conns     = flag.Int("c", 16, "concurrent connections")
	dataDir   = flag.String("data", "", "data directory (default: a temp dir; reused if it has a database)")
	agoraPath = flag.String("agora", "", "agora binary (default: go build)")
	only      = flag.String("only", "", "run only this scenario: search, filters or info")
	debugAddr = flag.String("debug-addr", "", "pass --debug-addr to the server, to profile it during the run")
	dbURL     = flag.String("db", "", "metadata store (default: SQLite in the data directory); a postgres:// URL is seeded when it holds no repositories")
	restart   = flag.Bool("restart", false, "after the scenarios, restart the server and measure how soon it answers listings from its index")
)

var (
	orgs      = []string{"meta-llama", "mistralai", "google", "microsoft", "qwen", "deepseek-ai", "allenai", "tiiuae", "bigscience", "stabilityai", "openai", "nvidia", "ibm", "apple", "facebook"}
	families  = []string{"llama", "mistral", "gemma", "phi", "qwen", "deepseek", "olmo", "falcon", "bloom", "stablelm", "gpt2", "bert", "t5", "whisper", "vit", "clip", "roberta", "mixtral", "starcoder", "codegen"}
	sizes     = []string{"125m", "350m", "1b", "1.5b", "3b", "7b", "8b", "13b", "34b", "70b"}
	suffixes  = []string{"", "-instruct", "-chat", "-base", "-it", "-gguf", "-awq", "-lora", "-finetuned", "-v2", "-dpo", "-sft"}
	tasks     = []string{"text-generation", "text-classification", "token-classification", "fill-mask", "image-classification", "automatic-speech-recognition", "translation", "summarization", "feature-extraction", "text-to-image"}
	libraries = []string{"transformers", "transformers", "transformers", "peft", "diffusers", "sentence-transformers", "timm", "gguf", "mlx"}
	licenses  = []string{"apache-2.0", "mit", "llama3", "cc-by-4.0", "other", "gemma", "openrail"}
	languages = []string{"en", "fr", "de", "es", "zh", "ja", "multilingual"}
	relations = []string{"finetune", "adapter", "quantized", "merge"}
)

func paramsOf(size string) int64 {
	mult := 1e9
	s := size
	if strings.HasSuffix(size, "m") {
		mult, s = 1e6, strings.TrimSuffix(size, "m")
	} else {
		s = strings.TrimSuffix(size, "b")
	}
	var f float64
	fmt.Sscanf(s, "%g", &f)
	return int64(f * mult)
}

// seed fills st and returns the names of the repositories with a commit.
func seed(ctx context.Context, st meta.Store, n, objs int) ([]string, error) {
	var named []string
	rng := rand.New(rand.NewPCG(1, 2))
	users := 20_000
	start := time.Now()
	// One tiny commit reused by every repository that gets objects.
	blob := gitobj.Object{Kind: gitobj.KindBlob, Data: []byte("---\nlicense: mit\n---\n# model\n")}
	tree, _ := gitobj.EncodeTree([]gitobj.TreeEntry{{Mode: gitobj.ModeFile, Name: "README.md", ID: blob.ID()}})
	treeObj := gitobj.Object{Kind: gitobj.KindTree, Data: tree}
	sig := gitobj.Signature{Name: "system", Email: "system@agora.invalid", When: time.Unix(1_700_000_000, 0).UTC()}
	commit := gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: treeObj.ID(), Author: sig, Committer: sig, Message: "initial commit\n"}).Encode()}
	const batch = 2000
	for i := 0; i < n; i += batch {
		err := st.InTx(ctx, func(tx meta.Tx) error {
			for j := i; j < min(i+batch, n); j++ {
				fam := families[rng.IntN(len(families))]
				size := sizes[rng.IntN(len(sizes))]
				ns := fmt.Sprintf("user%d", rng.IntN(users))
				if rng.IntN(10) == 0 {
					ns = orgs[rng.IntN(len(orgs))]
				}
				name := fmt.Sprintf("%s-%s%s-%d", fam, size, suffixes[rng.IntN(len(suffixes))], j)
				created := time.Unix(1_600_000_000+int64(rng.IntN(200_000_000)), 0)
				r := &meta.Repo{PublicID: fmt.Sprintf("%024x", j), Type: meta.TypeModel, Namespace: ns, Name: name,
					Private: rng.IntN(20) == 0, CreatedAt: created, UpdatedAt: created.Add(time.Duration(rng.IntN(1e6)) * time.Second)}
				if err := tx.CreateRepo(ctx, r); err != nil {
					return err
				}
				task, lib, lic := tasks[rng.IntN(len(tasks))], libraries[rng.IntN(len(libraries))], licenses[rng.IntN(len(licenses))]
				tags := []string{lib, task, fam, "license:" + lic, languages[rng.IntN(len(languages))]}
				m := &meta.RepoMeta{PipelineTag: task, LibraryName: lib, NumParameters: paramsOf(size), Tags: tags,
					CardData: []byte(`{"license":"` + lic + `"}`), Sha: commit.ID()}
				if j > 100 && rng.IntN(3) == 0 {
					rel := relations[rng.IntN(len(relations))]
					b := fmt.Sprintf("%s/%s-%s-%d", orgs[rng.IntN(len(orgs))], fam, size, rng.IntN(j))
					m.Bases = []meta.Edge{{Base: b, Relation: rel}}
					m.Tags = append(m.Tags, "base_model:"+b, "base_model:"+rel+":"+b)
				}
				if err := tx.PutRepoMeta(ctx, r.ID, m); err != nil {
					return err
				}
				if j < objs {
					if !r.Private {
						named = append(named, r.FullName())
					}
					if err := tx.PutObjects(ctx, r.ID, []gitobj.Object{blob, treeObj, commit}); err != nil {
						return err
					}
					if err := tx.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, commit.ID()); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Downloads follow a heavy-tailed distribution.
		counts := map[int64]int64{}
		for j := i; j < min(i+batch, n); j++ {
			if rng.IntN(4) == 0 {
				counts[int64(j+1)] = int64(rng.ExpFloat64()*50) + 1
			}
		}
		if err := st.RecordDownloads(ctx, time.Now().Unix()/86400, counts); err != nil {
			return nil, err
		}
		if (i/batch)%50 == 0 {
			log.Printf("seeded %d/%d repositories (%s)", i+batch, n, time.Since(start).Round(time.Second))
		}
	}
	log.Printf("seeded %d repositories in %s", n, time.Since(start).Round(time.Second))
	return named, nil
}

type result struct {
	lat  []time.Duration
	errs int64
}

func load(url func(rng *rand.Rand) string, conns int, d time.Duration) result {
	var mu sync.Mutex
	var all []time.Duration
	var errs atomic.Int64
	deadline := time.Now().Add(d)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var local []time.Duration
			for time.Now().Before(deadline) {
				u := url(rng)
				t0 := time.Now()
				resp, err := client.Get(u)
				if err != nil {
					if errs.Add(1) <= 3 {
						log.Printf("%s: %v", u, err)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					if errs.Add(1) <= 3 {
						log.Printf("%s: HTTP %d %s", u, resp.StatusCode, resp.Header.Get("X-Error-Message"))
					}
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	return result{lat: all, errs: errs.Load()}
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func report(name string, r result, d time.Duration, goal time.Duration) {
	fmt.Printf("%-28s %7d req %7.0f req/s  p50 %6.2fms  p90 %6.2fms  p99 %6.2fms  errors %d  (goal p99 < %s: %v)\n",
		name, len(r.lat), float64(len(r.lat))/d.Seconds(), ms(pct(r.lat, .5)), ms(pct(r.lat, .9)), ms(pct(r.lat, .99)),
		r.errs, goal, pct(r.lat, .99) < goal)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func main() {
	flag.Parse()
	ctx := context.Background()
	dir := *dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "agora-discovery"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	namesPath := filepath.Join(dir, "model-info-targets.txt")
	dbPath := filepath.Join(dir, "agora.db")
	if _, err := os.Stat(namesPath); err != nil && *dbURL == "" && exists(dbPath) {
		// Seeded by an earlier version of this program: read the names.
		st, err := sqlitemeta.Open(ctx, dbPath)
		if err != nil {
			log.Fatal(err)
		}
		var names []string
		rows, err := st.DB().QueryContext(ctx, `SELECT r.namespace || '/' || r.name FROM repos r JOIN refs f ON f.repo_id = r.id WHERE r.private = 0`)
		if err != nil {
			log.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			names = append(names, s)
		}
		rows.Close()
		st.Close()
		if err := os.WriteFile(namesPath, []byte(strings.Join(names, "\n")), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := os.Stat(namesPath); err != nil {
		var st meta.Store
		var err error
		if *dbURL == "" {
			st, err = sqlitemeta.Open(ctx, dbPath)
		} else {
			st, err = pgmeta.Open(ctx, *dbURL, pgmeta.Options{})
		}
		if err != nil {
			log.Fatal(err)
		}
		names, err := seed(ctx, st, *repos, *withObjs)
		if err != nil {
			log.Fatal(err)
		}
		if sq, ok := st.(*sqlitemeta.Store); ok {
			sq.DB().ExecContext(ctx, "ANALYZE")
		}
		st.Close()
		if err := os.WriteFile(namesPath, []byte(strings.Join(names, "\n")), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *dbURL == "" {
		settle(ctx, dbPath)
	}
	b, err := os.ReadFile(namesPath)
	if err != nil {
		log.Fatal(err)
	}
	ids := strings.Split(string(b), "\n")
	bin := *agoraPath
	if bin == "" {
		bin = filepath.Join(dir, "agora-bin")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/agora").CombinedOutput(); err != nil {
			log.Fatalf("build: %v\n%s", err, out)
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	srv := startServer(bin, dir, addr)
	defer func() { srv.cmd.Process.Kill() }()
	log.Printf("listing index ready after %s (%s)", srv.waitReady(), srv.readyLine())
	searchURL := func(rng *rand.Rand) string {
		fam := families[rng.IntN(len(families))]
		q := []string{"search=" + fam + "-" + sizes[rng.IntN(len(sizes))], "sort=downloads", "limit=50"}
		switch rng.IntN(4) {
		case 0:
			q = append(q, "filter=license:"+licenses[rng.IntN(len(licenses))])
		case 1:
			q = append(q, "pipeline_tag="+tasks[rng.IntN(len(tasks))], "filter="+libraries[rng.IntN(len(libraries))])
		case 2:
			q = append(q, "num_parameters=min:1B,max:70B")
		}
		return base + "/api/models?" + strings.Join(q, "&")
	}
	filterURL := func(rng *rand.Rand) string {
		return base + "/api/models?filter=" + libraries[rng.IntN(len(libraries))] + "&filter=license:" + licenses[rng.IntN(len(licenses))] +
			"&pipeline_tag=" + tasks[rng.IntN(len(tasks))] + "&sort=downloads&limit=50"
	}
	sortedURL := func(rng *rand.Rand) string {
		sorts := []string{"downloads", "likes", "lastModified", "createdAt", "trending"}
		return base + "/api/models?sort=" + sorts[rng.IntN(len(sorts))] + "&limit=50"
	}
	infoURL := func(rng *rand.Rand) string { return base + "/api/models/" + ids[rng.IntN(len(ids))] }

	fmt.Printf("repositories: %d, connections: %d, %s per scenario\n", *repos, *conns, *duration)
	run := func(name, label string, url func(*rand.Rand) string, goal time.Duration) {
		if *only != "" && *only != name {
			return
		}
		load(url, *conns, 2*time.Second) // warm-up
		before := scrape(base)
		report(label, load(url, *conns, *duration), *duration, goal)
		scrape(base).reportSince(before, goal)
	}
	run("search", "list_models search+filters", searchURL, 50*time.Millisecond)
	run("filters", "list_models filters only", filterURL, 50*time.Millisecond)
	run("sorted", "list_models sorted only", sortedURL, 50*time.Millisecond)
	run("info", "model_info", infoURL, 5*time.Millisecond)
	srv.printMemory(base)
	if !*restart {
		return
	}
	// The same listings must come back after the restart.
	probes := []string{searchURL(rand.New(rand.NewPCG(5, 5))), filterURL(rand.New(rand.NewPCG(6, 6))), sortedURL(rand.New(rand.NewPCG(7, 7)))}
	before := make([]string, len(probes))
	for i, u := range probes {
		before[i] = get(u)
	}
	srv.cmd.Process.Signal(syscall.SIGTERM) // saves the index's snapshot
	srv.cmd.Wait()
	start := time.Now()
	srv = startServer(bin, dir, addr)
	ready := srv.waitReady()
	for i, u := range probes {
		if got := get(u); got != before[i] {
			log.Fatalf("after the restart %s answers differently:\n%.300s\nbefore:\n%.300s", u, got, before[i])
		}
	}
	fmt.Printf("restart: listing index ready after %s (%s), listings answered correctly after %s\n",
		ready.Round(time.Millisecond), srv.readyLine(), time.Since(start).Round(time.Millisecond))
	srv.printMemory(base)
}

// server is a running agora serve and its log.
type server struct {
	cmd     *exec.Cmd
	logPath string
	start   time.Time
}

func startServer(bin, dir, addr string) *server {
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		log.Fatal(err)
	}
	// No rate limits or connection caps: the load comes from one address.
	args := []string{"serve", "--data", dir, "--addr", addr, "--log-level", "info",
		"--rate-limit-anon", "off", "--rate-limit-user", "off", "--max-conns-per-ip", "0"}
	if *dbURL != "" {
		args = append(args, "--db", *dbURL)
	}
	if *debugAddr != "" {
		args = append(args, "--debug-addr", *debugAddr)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logFile
	bindToParent(cmd)
	s := &server{cmd: cmd, logPath: logPath, start: time.Now()}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	return s
}

// waitReady waits until the listing index is ready (listings use the
// store's queries until then) and returns the time since the start.
func (s *server) waitReady() time.Duration {
	for {
		if s.readyLine() != "" {
			return time.Since(s.start)
		}
		if time.Since(s.start) > 15*time.Minute {
			log.Fatal("listing index not ready after 15 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readyLine is the log line saying the index is ready, "" before.
func (s *server) readyLine() string {
	b, _ := os.ReadFile(s.logPath)
	for line := range strings.Lines(string(b)) {
		if strings.Contains(line, "search index ready") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// printMemory prints the server's resident memory (with its peak) and
// its Go heap, with the listing index's share.
func (s *server) printMemory(base string) {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	field := func(name string) string {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		return "?"
	}
	metrics := get(base + "/metrics")
	metric := func(name string) float64 {
		for line := range strings.Lines(metrics) {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				var f float64
				fmt.Sscanf(v, "%g", &f)
				return f
			}
		}
		return 0
	}
	// RssFile counts the database's pages once per SQLite connection
	// that maps them (each maps the file itself), so it overstates memory
	// use by up to the number of connections; RssAnon is the process's own.
	fmt.Printf("memory: RSS %s (peak %s; anonymous %s, file-backed %s), Go heap in use %.0f MB (allocated %.0f MB), listing index %.0f MB for %.0f repositories\n",
		field("VmRSS"), field("VmHWM"), field("RssAnon"), field("RssFile"), metric("go_memstats_heap_inuse_bytes")/1e6, metric("go_memstats_heap_alloc_bytes")/1e6,
		metric("agora_search_index_bytes")/1e6, metric("agora_search_index_repositories"))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func get(u string) string {
	resp, err := http.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// settle applies the schema's migrations to the SQLite database and empties
// its WAL before the server starts: a migration's rewrite left in the WAL
// is read through it, page by page, and would be measured (and the index's
// ready time would include the migration).
func settle(ctx context.Context, dbPath string) {
	st, err := sqlitemeta.Open(ctx, dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	var busy, frames, copied int
	if err := st.DB().QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied); err != nil {
		log.Fatal(err)
	}
}

// serverStats is what the server's /metrics says about the requests it
// answered and its own CPU: with the client on the same cores, the
// client's percentiles include time the server did not spend, and the
// two views together tell the server's tail from the machine's.
type serverStats struct {
	buckets map[float64]float64 // cumulative answers by upper bound (s), all routes
	cpu     float64             // process CPU seconds
	gcs     float64             // garbage collections
	pauses  float64             // their stop-the-world pauses (s)
}

func scrape(base string) serverStats {
	st := serverStats{buckets: map[float64]float64{}}
	for line := range strings.Lines(get(base + "/metrics")) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		var v float64
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		fmt.Sscanf(val, "%g", &v)
		switch {
		case strings.HasPrefix(name, "agora_http_request_duration_seconds_bucket{"):
			_, le, _ := strings.Cut(name, `le="`)
			le, _, _ = strings.Cut(le, `"`)
			var b float64
			if le == "+Inf" {
				b = 1e9
			} else {
				fmt.Sscanf(le, "%g", &b)
			}
			st.buckets[b] += v
		case name == "process_cpu_seconds_total":
			st.cpu = v
		case name == "go_gc_duration_seconds_count":
			st.gcs = v
		case name == "go_gc_duration_seconds_sum":
			st.pauses = v
		}
	}
	return st
}

// reportSince prints the server's side of the requests answered since
// before: its CPU per request, the histogram bucket its 99th percentile
// falls in, the share answered within goal, and its garbage collections.
func (st serverStats) reportSince(before serverStats, goal time.Duration) {
	bounds := slices.Sorted(maps.Keys(st.buckets))
	total := st.buckets[1e9] - before.buckets[1e9]
	if total <= 0 {
		return
	}
	p99, within := 0.0, 0.0
	for _, b := range bounds {
		n := st.buckets[b] - before.buckets[b]
		if p99 == 0 && n >= .99*total {
			p99 = b
		}
		if b <= goal.Seconds() {
			within = n / total
		}
	}
	fmt.Printf("  server side: %.0f µs CPU a request, p99 ≤ %g ms (histogram bucket), %.2f %% within %s; %d GCs, %.1f ms of pauses\n",
		(st.cpu-before.cpu)/total*1e6, p99*1000, within*100, goal, int(st.gcs-before.gcs), (st.pauses-before.pauses)*1000)
}
