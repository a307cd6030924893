package casapi_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/xettest"
)

// stored is what the CAS holds: what a refused request must not change.
type stored struct {
	xorbs, files int
	links        int // LFS links of the test repository
}

func (e *env) stored(repoID int64) stored {
	e.t.Helper()
	var s stored
	for _, err := range e.xorbs.List(e.t.Context()) {
		if err != nil {
			e.t.Fatal(err)
		}
		s.xorbs++
	}
	files, err := e.meta.XetFilesAfter(e.t.Context(), "", 10_000)
	if err != nil {
		e.t.Fatal(err)
	}
	s.files = len(files)
	links, err := e.meta.LFSLinks(e.t.Context(), repoID)
	if err != nil {
		e.t.Fatal(err)
	}
	s.links = len(links)
	return s
}

// xorbOf serializes raw chunks with scheme and returns the xorb and its
// hash.
func xorbOf(t *testing.T, scheme xet.Scheme, chunks ...[]byte) ([]byte, xet.Hash) {
	t.Helper()
	var b bytes.Buffer
	xw := xet.NewXorbWriter(&b, scheme)
	for _, c := range chunks {
		if err := xw.WriteChunk(c); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes(), xw.Index().Hash
}

func shardOf(t *testing.T, files []xet.ShardFile, xorbs []xet.ShardXorb) []byte {
	t.Helper()
	b, err := (&xet.Shard{Files: files, Xorbs: xorbs}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostile sends what a broken or malicious client could: every request
// is refused with a clear 4xx and nothing is stored.
func TestHostile(t *testing.T) {
	e := newEnv(t, options{})
	e.createRepo("m", false)
	e.createRepo("victim", true)
	repo, err := e.meta.RepoByName(t.Context(), meta.TypeModel, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's file, in a private repository.
	victimData := xettest.RandomData(100, 300_000)
	victim := xettest.NewClient(xet.SchemeLZ4).Upload(t, victimData)
	e.sendXet("alice/victim", "v.bin", victim)
	var victimXorb xet.Hash
	for h := range victim.Xorbs {
		victimXorb = h
	}

	w := e.casToken("alice/m", "write", e.alice)
	r := e.casToken("alice/m", "read", e.alice)
	cas := w.CasURL
	good := xettest.NewClient(xet.SchemeLZ4).Upload(t, xettest.RandomData(101, 200_000))
	var goodXorb xet.Hash
	var goodBody []byte
	for h, b := range good.Xorbs {
		goodXorb, goodBody = h, b
	}
	otherXorb, otherHash := xorbOf(t, xet.SchemeNone, []byte("another xorb"))

	// A bomb: chunks of zeros compress 256-fold; more of them than a
	// xorb may hold.
	zeros := make([]byte, xet.MaxChunkSize)
	var bomb []byte
	one, _ := xorbOf(t, xet.SchemeLZ4, zeros)
	for range xet.MaxXorbChunks + 1 {
		bomb = append(bomb, one...)
	}
	// A chunk whose LZ4 frame decodes to more than its header declares.
	lying := bytes.Clone(one)
	lying[5], lying[6], lying[7] = 0x00, 0x10, 0x00 // 4096 declared, 131072 inside
	var lyingHash xet.Hash
	{
		var b bytes.Buffer
		xw := xet.NewXorbWriter(&b, xet.SchemeNone)
		xw.WriteChunk(zeros[:4096])
		lyingHash = xw.Index().Hash
	}
	oversizedHeader := bytes.Clone(one)
	oversizedHeader[5], oversizedHeader[6], oversizedHeader[7] = 0x01, 0x00, 0x04 // 256 KiB + 1

	// Shards: each wrong in one way.
	file := good.File
	withTerms := func(f xet.ShardFile, mod func(*xet.ShardFile)) []xet.ShardFile {
		c := f
		c.Terms = append([]xet.Term(nil), f.Terms...)
		c.Verification = append([]xet.Hash(nil), f.Verification...)
		mod(&c)
		return []xet.ShardFile{c}
	}
	missingXorb := withTerms(file, func(f *xet.ShardFile) { f.Terms[0].Xorb = otherHash })
	wrongVerification := withTerms(file, func(f *xet.ShardFile) { f.Verification[0][0] ^= 1 })
	wrongFileHash := withTerms(file, func(f *xet.ShardFile) { f.Hash[0] ^= 1 })
	beyondChunks := withTerms(file, func(f *xet.ShardFile) { f.Terms[0].ChunkEnd += 5 })
	wrongSize := withTerms(file, func(f *xet.ShardFile) { f.Terms[0].RawSize++ })
	noVerification := withTerms(file, func(f *xet.ShardFile) { f.Verification = nil })
	// Claiming the victim's SHA-256 for our own content: the hub would
	// then serve our bytes for the victim's pointer.
	victimSum := sha256.Sum256(victimData)
	claimsVictim := withTerms(file, func(f *xet.ShardFile) { f.SHA256 = &victimSum })
	// Naming the victim's xorb without knowing its chunks: the
	// verification hash is a guess.
	foreign := []xet.ShardFile{{Hash: victim.File.Hash, Terms: victim.File.Terms, Verification: make([]xet.Hash, len(victim.File.Terms))}}
	// The CAS section lies about the victim's chunks (dedup answers are
	// built from it).
	fakeCAS := []xet.ShardXorb{{Hash: victimXorb, RawSize: 10, Chunks: []xet.ShardChunk{{Hash: xet.ChunkHash([]byte("x")), RawSize: 10}}}}
	garbageShard := append(shardOf(t, nil, nil)[:20], bytes.Repeat([]byte{0xff}, 100)...)
	// A footer announced and cut short.
	badFooter := shardOf(t, []xet.ShardFile{file}, good.CAS)
	binary.LittleEndian.PutUint64(badFooter[40:], 200)
	badFooter = append(badFooter, make([]byte, 100)...)

	expired := strings.Replace(w.AccessToken, "xet1.", "xet1.", 1)
	{
		// An expired token: re-sign is impossible, so take one whose
		// payload was edited (its signature no longer matches) and, in
		// the cas package tests, a genuinely expired one.
		i := strings.Index(expired, ".")
		expired = expired[:i+1] + "eyJyIjoxLCJlIjoxfQ" + expired[strings.LastIndex(expired, "."):]
	}

	type req struct {
		name, method, path, token string
		body                      []byte
		hdr                       []string
		status                    int
	}
	xorbPath := "/v1/xorbs/default/"
	tests := []req{
		{"xorb without token", "POST", xorbPath + goodXorb.String(), "", goodBody, nil, 401},
		{"xorb with a hub token", "POST", xorbPath + goodXorb.String(), e.alice, goodBody, nil, 401},
		{"xorb with an altered token", "POST", xorbPath + goodXorb.String(), expired, goodBody, nil, 401},
		{"xorb with a read token", "POST", xorbPath + goodXorb.String(), r.AccessToken, goodBody, nil, 403},
		{"xorb under another hash", "POST", xorbPath + otherHash.String(), w.AccessToken, goodBody, nil, 400},
		{"xorb with a malformed hash", "POST", xorbPath + "xyz", w.AccessToken, goodBody, nil, 400},
		{"truncated xorb", "POST", xorbPath + goodXorb.String(), w.AccessToken, goodBody[:len(goodBody)-100], nil, 400},
		{"truncated header", "POST", xorbPath + goodXorb.String(), w.AccessToken, goodBody[:5], nil, 400},
		{"empty xorb", "POST", xorbPath + goodXorb.String(), w.AccessToken, []byte{}, nil, 400},
		{"garbage xorb", "POST", xorbPath + goodXorb.String(), w.AccessToken, bytes.Repeat([]byte("garbage!"), 100), nil, 400},
		{"xorb with trailing junk", "POST", xorbPath + goodXorb.String(), w.AccessToken, append(bytes.Clone(goodBody), 1, 2, 3), nil, 400},
		{"xorb declared too large", "POST", xorbPath + goodXorb.String(), w.AccessToken, nil, []string{"Content-Length", fmt.Sprint(100 << 20)}, 413},
		{"decompression bomb: too many chunks", "POST", xorbPath + goodXorb.String(), w.AccessToken, bomb, nil, 413},
		{"chunk decoding to more than declared", "POST", xorbPath + lyingHash.String(), w.AccessToken, lying, nil, 400},
		{"chunk declaring more than 128 KiB", "POST", xorbPath + goodXorb.String(), w.AccessToken, oversizedHeader, nil, 400},
		{"shard without token", "POST", "/v1/shards", "", shardOf(t, []xet.ShardFile{file}, good.CAS), nil, 401},
		{"shard with a read token", "POST", "/v1/shards", r.AccessToken, shardOf(t, []xet.ShardFile{file}, good.CAS), nil, 403},
		{"shard naming a missing xorb", "POST", "/v1/shards", w.AccessToken, shardOf(t, missingXorb, nil), nil, 400},
		{"v2 shard naming a missing xorb", "POST", "/v2/shards", w.AccessToken, shardOf(t, missingXorb, nil), nil, 400},
		{"shard naming a foreign xorb without its chunks", "POST", "/v1/shards", w.AccessToken, shardOf(t, foreign, nil), nil, 400},
		{"shard with a wrong verification hash", "POST", "/v1/shards", w.AccessToken, shardOf(t, wrongVerification, nil), nil, 400},
		{"shard with a wrong file hash", "POST", "/v1/shards", w.AccessToken, shardOf(t, wrongFileHash, nil), nil, 400},
		{"shard with a term past its xorb", "POST", "/v1/shards", w.AccessToken, shardOf(t, beyondChunks, nil), nil, 400},
		{"shard with a wrong term size", "POST", "/v1/shards", w.AccessToken, shardOf(t, wrongSize, nil), nil, 400},
		{"shard without verification hashes", "POST", "/v1/shards", w.AccessToken, shardOf(t, noVerification, nil), nil, 400},
		{"shard claiming another file's SHA-256", "POST", "/v1/shards", w.AccessToken, shardOf(t, claimsVictim, nil), nil, 400},
		{"v2 shard claiming another file's SHA-256", "POST", "/v2/shards", w.AccessToken, shardOf(t, claimsVictim, nil), nil, 400},
		{"shard with a lying CAS section", "POST", "/v1/shards", w.AccessToken, shardOf(t, nil, fakeCAS), nil, 400},
		{"garbage shard", "POST", "/v1/shards", w.AccessToken, garbageShard, nil, 400},
		{"shard with half a footer", "POST", "/v1/shards", w.AccessToken, badFooter, nil, 400},
		{"shard too large", "POST", "/v1/shards", w.AccessToken, nil, []string{"Content-Length", fmt.Sprint(200 << 20)}, 413},
		{"reconstruction without token", "GET", "/v1/reconstructions/" + victim.File.Hash.String(), "", nil, nil, 401},
		{"reconstruction of another repository's file", "GET", "/v1/reconstructions/" + victim.File.Hash.String(), r.AccessToken, nil, nil, 404},
		{"v2 reconstruction of another repository's file", "GET", "/v2/reconstructions/" + victim.File.Hash.String(), w.AccessToken, nil, nil, 404},
		{"reconstruction of a malformed hash", "GET", "/v1/reconstructions/zz", r.AccessToken, nil, nil, 400},
		{"dedup without token", "GET", "/v1/chunks/default/" + goodXorb.String(), "", nil, nil, 401},
		{"dedup of a malformed hash", "GET", "/v1/chunks/default/nothex", r.AccessToken, nil, nil, 400},
		{"data URL without signature", "GET", "/v1/xorb-data/" + victimXorb.String(), "", nil, []string{"Range", "bytes=0-10"}, 403},
		{"data URL with a forged signature", "GET", "/v1/xorb-data/" + victimXorb.String() + "?r=0-100&x=9999999999&s=AAAA", "", nil, []string{"Range", "bytes=0-10"}, 403},
	}
	// The good xorb is stored: shards fail for what they claim, not for
	// a missing xorb.
	e.ok(e.do("POST", cas+xorbPath+goodXorb.String(), w.AccessToken, goodBody))
	before := e.stored(repo.ID)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != nil {
				body = tc.body
			}
			req, err := http.NewRequest(tc.method, cas+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			_ = req
			var res resp
			if len(tc.hdr) == 2 && tc.hdr[0] == "Content-Length" {
				// A declared length and no body: the server must refuse
				// it from the header, before reading anything.
				res = e.rawHeaders(tc.method, cas+tc.path, tc.token, tc.hdr[1])
			} else {
				res = e.do(tc.method, cas+tc.path, tc.token, body, tc.hdr...)
			}
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if res.status >= 400 && res.status != http.StatusRequestEntityTooLarge && !bytes.Contains(res.body, []byte(`"error"`)) {
				t.Errorf("no error message: %s", res.body)
			}
			if after := e.stored(repo.ID); after != before {
				t.Fatalf("stored %+v, was %+v", after, before)
			}
		})
	}
	// The victim's file still reads as itself, and the test repository
	// does not link it.
	vt := e.casToken("alice/victim", "read", e.alice)
	got, res := e.download(vt.CasURL, vt.AccessToken, victim.File.Hash.String(), 2, "")
	if res.status != 200 || !bytes.Equal(got, victimData) {
		t.Fatalf("victim's file: %d, %d bytes", res.status, len(got))
	}
	// And the legitimate upload still works after all that.
	e.ok(e.do("POST", cas+"/v1/shards", w.AccessToken, good.Shard(t)))
	_ = otherXorb
}

// rawHeaders sends a request's headers with a Content-Length and no body,
// and reads the status line of the answer.
func (e *env) rawHeaders(method, rawURL, token, length string) resp {
	e.t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %s\r\n\r\n", method, u.RequestURI(), u.Host, token, length)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return resp{res.StatusCode, res.Header, b}
}
