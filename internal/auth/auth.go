// Package auth turns credentials into identities: access tokens (shaped
// like the Hub's, "hf_" + 34 alphanumerics, because the JS client refuses
// any other) stored only as SHA-256 hashes, and password hashes for web
// sign-in (PBKDF2-SHA256 from the standard library).
package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// ErrInvalidCredentials: the token or password is unknown or wrong.
var ErrInvalidCredentials = errors.New("invalid credentials")

// Identity is an authenticated caller.
type Identity struct {
	User  *meta.User
	Token *meta.Token // nil when authenticated by a web session
	// Role is meta.RoleRead or meta.RoleWrite.
	Role string
}

// CanWrite reports whether the credential allows writes.
func (id *Identity) CanWrite() bool { return id != nil && id.Role == meta.RoleWrite }

// Secret is a token secret; it never appears in logs.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("hf_…redacted") }

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewTokenSecret returns a fresh random token secret.
func NewTokenSecret() Secret {
	var b [34]byte
	out := make([]byte, 0, 37)
	out = append(out, "hf_"...)
	rand.Read(b[:])
	for _, c := range b {
		// Bytes of 248 and above are redrawn: 248 = 4·62, so the modulo
		// below is unbiased.
		for c >= 248 {
			var one [1]byte
			rand.Read(one[:])
			c = one[0]
		}
		out = append(out, tokenAlphabet[int(c)%len(tokenAlphabet)])
	}
	return Secret(out)
}

// HashToken returns the stored form of a token secret.
func HashToken(s Secret) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// tokenStore is what Authenticate needs from the metadata store.
type tokenStore interface {
	TokenByHash(ctx context.Context, hash []byte) (*meta.Token, *meta.User, error)
}

// Authenticate resolves a token secret to an identity.
func Authenticate(ctx context.Context, st tokenStore, s Secret) (*Identity, error) {
	if !strings.HasPrefix(string(s), "hf_") || len(s) > 200 {
		return nil, ErrInvalidCredentials
	}
	tok, user, err := st.TokenByHash(ctx, HashToken(s))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if tok.Expired(time.Now()) || user.IsOrg() {
		return nil, ErrInvalidCredentials
	}
	return &Identity{User: user, Token: tok, Role: tok.Role}, nil
}

const pbkdf2Iter = 210_000

// HashPassword returns a self-describing PBKDF2-SHA256 hash of password.
func HashPassword(password string) (string, error) {
	var salt [16]byte
	rand.Read(salt[:])
	key, err := pbkdf2.Key(sha256.New, password, salt[:], pbkdf2Iter, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(pbkdf2Iter) + "$" + enc.EncodeToString(salt[:]) + "$" + enc.EncodeToString(key), nil
}

// CheckPassword reports whether password matches a hash made by
// [HashPassword].
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) != 32 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
