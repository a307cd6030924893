package cas

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// TokenPrefix starts every CAS token, so that the hub's authentication
// can tell one from a hub token (see casapi.Authenticator).
const TokenPrefix = "xet1."

// Token is what a CAS token grants.
type Token struct {
	RepoID int64 `json:"r"`
	UserID int64 `json:"u,omitempty"` // 0: anonymous read
	Write  bool  `json:"w,omitempty"`
	// Expires is a Unix time in seconds.
	Expires int64 `json:"e"`
}

// Domain separation: tokens and data URLs are signed with one key.
const (
	signToken = "xet-token\x00"
	signData  = "xet-data\x00"
)

func (s *Service) mac(domain string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(domain))
	m.Write(payload)
	return m.Sum(nil)
}

// IssueToken returns a token granting read (or, with write, read and
// write) access to repository repoID for the configured TTL, and its
// expiry. The caller has made the authorisation decision.
func (s *Service) IssueToken(repoID, userID int64, write bool) (string, time.Time) {
	exp := time.Now().Add(s.cfg.TokenTTL).Truncate(time.Second)
	payload, _ := json.Marshal(Token{RepoID: repoID, UserID: userID, Write: write, Expires: exp.Unix()})
	enc := base64.RawURLEncoding
	return TokenPrefix + enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(signToken, payload)), exp
}

// ParseToken checks a token (the value after "Bearer ") and returns what
// it grants. Missing, malformed, forged and expired tokens are
// ErrUnauthorized: clients do not retry those, they ask the hub again.
func (s *Service) ParseToken(tok string) (*Token, error) {
	bad := errorf(ErrUnauthorized, "Missing, invalid or expired CAS token: ask the hub for a new one")
	rest, ok := strings.CutPrefix(tok, TokenPrefix)
	if !ok || len(tok) > 1024 {
		return nil, bad
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, bad
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	got, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, s.mac(signToken, payload)) {
		return nil, bad
	}
	var t Token
	if err := json.Unmarshal(payload, &t); err != nil || t.RepoID <= 0 || time.Now().Unix() >= t.Expires {
		return nil, bad
	}
	return &t, nil
}

// dataSig signs a data URL: xorb, serialized bytes [from, to), expiry.
func (s *Service) dataSig(xorb string, from, to, exp int64) string {
	payload := xorb + "|" + strconv.FormatInt(from, 10) + "|" + strconv.FormatInt(to, 10) + "|" + strconv.FormatInt(exp, 10)
	return base64.RawURLEncoding.EncodeToString(s.mac(signData, []byte(payload)))
}

// checkDataSig reports whether sig signs the data URL and it has not
// expired.
func (s *Service) checkDataSig(xorb string, from, to, exp int64, sig string) bool {
	if time.Now().Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(s.dataSig(xorb, from, to, exp)))
}
