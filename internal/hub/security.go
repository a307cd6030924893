package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/scan"
)

// ScannerVersion identifies the scanner's rules; `agora rescan` scans
// again every content whose result came from an older version.
const ScannerVersion = 1

// Scan policies.
const (
	// PolicyFlag shows results and lets downloads through, as the Hub.
	PolicyFlag = "flag"
	// PolicyBlock also rejects commits that add a dangerous file.
	PolicyBlock = "block"
)

// scanKey names a content for the scan results: LFS content by its
// SHA-256, git blobs by their id.
func scanKey(e *Entry) string {
	if e.LFS != nil {
		return "lfs:" + e.LFS.OID
	}
	return "git:" + e.OID.String()
}

// scanJobs lists the files added or changed between two trees of a
// repository, as scan jobs.
func (s *Service) scanJobs(ctx context.Context, objs *objects, oldTree, newTree gitobj.ID) ([]meta.ScanJob, error) {
	var changed []Entry
	err := objs.diffTrees(ctx, oldTree, newTree, "", func(p string, _, e *gitobj.TreeEntry) error {
		if e != nil {
			changed = append(changed, Entry{Type: "file", Path: p, Mode: e.Mode, OID: e.ID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.fillSizes(ctx, objs, changed); err != nil {
		return nil, err
	}
	jobs := make([]meta.ScanJob, 0, len(changed))
	seen := map[string]bool{}
	for i := range changed {
		k := scanKey(&changed[i])
		if !seen[k] {
			seen[k] = true
			jobs = append(jobs, meta.ScanJob{Key: k, RepoID: objs.repo, Path: changed[i].Path, Size: changed[i].Size})
		}
	}
	return jobs, nil
}

// openScanContent opens the content a job names.
// objs, if set, is read for git blobs (it may hold a commit's pending
// objects).
func (s *Service) openScanContent(ctx context.Context, objs *objects, j meta.ScanJob) (io.ReaderAt, int64, func(), error) {
	if oid, ok := strings.CutPrefix(j.Key, "lfs:"); ok {
		f, info, err := s.blobs.Open(ctx, oid)
		if err != nil {
			return nil, 0, nil, err
		}
		return f, info.Size, func() { f.Close() }, nil
	}
	id, err := gitobj.ParseID(strings.TrimPrefix(j.Key, "git:"))
	if err != nil {
		return nil, 0, nil, err
	}
	if objs == nil {
		objs = s.objectsOf(j.RepoID)
	}
	data, err := objs.blobData(ctx, id)
	if err != nil {
		return nil, 0, nil, err
	}
	return bytes.NewReader(data), int64(len(data)), func() {}, nil
}

// scanTimeout bounds one file's scan (the scanner reads only pickle parts;
// this guards against a stalled store).
const scanTimeout = 5 * time.Minute

// runScan scans one content and stores the result.
func (s *Service) runScan(ctx context.Context, objs *objects, j meta.ScanJob) (*meta.ScanRecord, scan.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	ra, size, done, err := s.openScanContent(ctx, objs, j)
	var res scan.Result
	if err != nil {
		if ctx.Err() != nil {
			return nil, res, err
		}
		// A content that cannot be read is an error result, not a retry
		// loop (a deleted repository, a missing object).
		res = scan.Result{Name: j.Path, Status: scan.StatusError, Safety: scan.Suspicious, Imports: []scan.Import{}, Findings: []scan.Finding{}, Err: err.Error()}
	} else {
		res = scan.ScanFile(ctx, ra, size, j.Path, scan.Limits{})
		done()
	}
	body, err := json.Marshal(res)
	if err != nil {
		return nil, res, err
	}
	rec := &meta.ScanRecord{Key: j.Key, RepoID: j.RepoID, Version: ScannerVersion, Level: res.SecurityLevel(), Result: body}
	if err := s.meta.PutScan(ctx, rec); err != nil {
		return nil, res, err
	}
	s.scanStatus.forget(rec.Key)
	return rec, res, nil
}

// wakeScanners nudges this process's scanners after an enqueue.
func (s *Service) wakeScanners() {
	select {
	case s.scanWake <- struct{}{}:
	default:
	}
}

// RunScanners scans queued contents with a bounded pool of workers until
// ctx ends. Every replica runs them; jobs are leased through the store so
// each content is scanned once.
func (s *Service) RunScanners(ctx context.Context, workers int) {
	if workers < 1 {
		workers = 1
	}
	jobs := make(chan meta.ScanJob)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if _, _, err := s.runScan(ctx, nil, j); err != nil {
					if ctx.Err() == nil {
						s.lg.Warn("scan failed", "key", j.Key, "err", err)
					}
					continue // the lease expires and the job comes back
				}
				if err := s.meta.FinishScan(context.WithoutCancel(ctx), j.Key); err != nil {
					s.lg.Warn("scan finish", "key", j.Key, "err", err)
				}
			}
		})
	}
	defer func() { close(jobs); wg.Wait() }()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		claimed, err := s.meta.ClaimScans(ctx, workers*2, scanTimeout+time.Minute)
		if err != nil && ctx.Err() == nil {
			s.lg.Warn("claim scans", "err", err)
		}
		for _, j := range claimed {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
		if len(claimed) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.scanWake:
		}
	}
}

// checkScanPolicy scans the contents a commit adds (reusing results
// already known) and, under the block policy, rejects the commit when one
// of them is dangerous, naming the file and the import.
func (s *Service) checkScanPolicy(ctx context.Context, objs *objects, jobs []meta.ScanJob) error {
	if s.cfg.ScanPolicy != PolicyBlock || len(jobs) == 0 {
		return nil
	}
	keys := make([]string, len(jobs))
	for i, j := range jobs {
		keys[i] = j.Key
	}
	known, err := s.meta.GetScans(ctx, keys)
	if err != nil {
		return fmt.Errorf("scan policy: %w", err)
	}
	for _, j := range jobs {
		var res scan.Result
		if rec, ok := known[j.Key]; ok && rec.Version == ScannerVersion {
			if rec.Level != "unsafe" {
				continue
			}
			if err := json.Unmarshal(rec.Result, &res); err != nil {
				return fmt.Errorf("scan policy: %w", err)
			}
		} else {
			_, r, err := s.runScan(ctx, objs, j)
			if err != nil {
				return fmt.Errorf("scan policy: %w", err)
			}
			if r.SecurityLevel() != "unsafe" {
				continue
			}
			res = r
		}
		return errorf(ErrForbidden, "Commit rejected by the security policy: %s is dangerous (%s)", j.Path, dangerReason(&res))
	}
	return nil
}

// dangerReason names what made a result dangerous.
func dangerReason(r *scan.Result) string {
	for _, im := range r.Imports {
		if im.Safety == scan.Dangerous {
			return "imports " + im.Module + "." + im.Name
		}
	}
	for _, f := range r.Findings {
		if f.Safety == scan.Dangerous {
			return f.Issue + ": " + f.Detail
		}
	}
	return "dangerous content"
}

// FileSecurity is the scan status of one file.
type FileSecurity struct {
	Level  string // safe, suspicious, unsafe, unscanned, error, or queued when not scanned yet
	Result *scan.Result
}

// fileSecurity looks up the scan results of entries (files only).
func (s *Service) fileSecurity(ctx context.Context, ents []Entry) (map[string]FileSecurity, error) {
	var keys []string
	for i := range ents {
		if !ents[i].IsDir() {
			keys = append(keys, scanKey(&ents[i]))
		}
	}
	known, err := s.scanStatus.get(ctx, s.meta, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]FileSecurity{}
	for i := range ents {
		if e := &ents[i]; !e.IsDir() {
			out[e.Path] = known[scanKey(e)]
		}
	}
	return out, nil
}

// scanStatusTTL bounds how long a replica answers a content's scan status
// from memory: a result stored by another replica (a queued file scanned,
// a rescan) shows this much later at most; this replica's own results
// show at once. Decoding a result per listed file was a quarter of an
// expanded paths-info.
const scanStatusTTL = time.Second

// scanStatusCache keeps decoded scan statuses by content key for
// scanStatusTTL (Result is shared: read-only). Safe for concurrent use.
type scanStatusCache struct {
	mu sync.Mutex
	m  map[string]scanStatus
}

type scanStatus struct {
	fs FileSecurity
	at time.Time
}

func (c *scanStatusCache) get(ctx context.Context, st meta.Store, keys []string) (map[string]FileSecurity, error) {
	now := time.Now()
	out := make(map[string]FileSecurity, len(keys))
	var miss []string
	c.mu.Lock()
	for _, k := range keys {
		if e, ok := c.m[k]; ok && now.Sub(e.at) < scanStatusTTL {
			out[k] = e.fs
		} else {
			miss = append(miss, k)
		}
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	recs, err := st.GetScans(ctx, miss)
	if err != nil {
		return nil, err
	}
	for _, k := range miss {
		fs := FileSecurity{Level: "queued"}
		if rec, ok := recs[k]; ok {
			var res scan.Result
			if err := json.Unmarshal(rec.Result, &res); err != nil {
				return nil, fmt.Errorf("scan result %s: %w", rec.Key, err)
			}
			fs = FileSecurity{Level: rec.Level, Result: &res}
		}
		out[k] = fs
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[string]scanStatus{}
	}
	for _, k := range miss {
		c.m[k] = scanStatus{fs: out[k], at: now}
	}
	c.mu.Unlock()
	return out, nil
}

// forget drops key after this replica stored a new result for it.
func (c *scanStatusCache) forget(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// FilesSecurity returns the scan status of entries of repository r.
func (s *Service) FilesSecurity(ctx context.Context, ents []Entry) (map[string]FileSecurity, error) {
	return s.fileSecurity(ctx, ents)
}

// RepoSecurity is the scan summary of a revision.
type RepoSecurity struct {
	ScansDone       bool
	FilesWithIssues []FileIssue
}

// FileIssue is a file whose scan is not plainly safe.
type FileIssue struct {
	Path  string
	Level string
}

// RepoSecurityStatus summarises the scans of every file at a revision.
func (s *Service) RepoSecurityStatus(ctx context.Context, info *RepoInfo) (*RepoSecurity, error) {
	sec, err := s.fileSecurity(ctx, info.Siblings)
	if err != nil {
		return nil, err
	}
	out := &RepoSecurity{ScansDone: true, FilesWithIssues: []FileIssue{}}
	for _, e := range info.Siblings {
		fs := sec[e.Path]
		if fs.Level == "queued" {
			out.ScansDone = false
		}
		if fs.Level != "safe" {
			out.FilesWithIssues = append(out.FilesWithIssues, FileIssue{Path: e.Path, Level: fs.Level})
		}
	}
	return out, nil
}

// Rescan queues every content scanned by an older scanner version (or
// never scanned) and returns how many were queued.
func (s *Service) Rescan(ctx context.Context, all bool) (int, error) {
	version := ScannerVersion
	if all {
		version = 1 << 30
	}
	n := 0
	after := ""
	for {
		jobs, err := s.meta.RescanJobs(ctx, version, after, 1000)
		if err != nil {
			return n, err
		}
		if len(jobs) == 0 {
			return n, nil
		}
		for i := range jobs {
			if jobs[i].Path == "" {
				jobs[i].Path = jobs[i].Key
			}
		}
		if err := s.meta.EnqueueScans(ctx, jobs); err != nil {
			return n, err
		}
		n += len(jobs)
		after = jobs[len(jobs)-1].Key
	}
}

// ScanNow scans the queued jobs in this process until the queue is empty
// (for tests and `agora rescan --wait`).
func (s *Service) ScanNow(ctx context.Context) error {
	for {
		jobs, err := s.meta.ClaimScans(ctx, 16, scanTimeout+time.Minute)
		if err != nil || len(jobs) == 0 {
			return err
		}
		for _, j := range jobs {
			if _, _, err := s.runScan(ctx, nil, j); err != nil {
				return err
			}
			if err := s.meta.FinishScan(ctx, j.Key); err != nil {
				return err
			}
		}
	}
}

// pendingScans keeps the jobs whose content has no current result, so
// that the same bytes are never scanned twice.
func (s *Service) pendingScans(ctx context.Context, jobs []meta.ScanJob) ([]meta.ScanJob, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	keys := make([]string, len(jobs))
	for i, j := range jobs {
		keys[i] = j.Key
	}
	known, err := s.meta.GetScans(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := jobs[:0:0]
	for _, j := range jobs {
		if rec, ok := known[j.Key]; !ok || rec.Version < ScannerVersion {
			out = append(out, j)
		}
	}
	return out, nil
}
