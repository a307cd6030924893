package hub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// User is an account record.
type User = meta.User

// Token is an access token record (never the secret).
type Token = meta.Token

// Token roles.
const (
	RoleRead        = meta.RoleRead
	RoleWrite       = meta.RoleWrite
	RoleFineGrained = meta.RoleFineGrained
)

// SignIn checks a user name and password (web sign-in).
func (s *Service) SignIn(ctx context.Context, name, password string) (*auth.Identity, error) {
	bad := errorf(ErrUnauthenticated, "Wrong user name or password")
	u, err := s.meta.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		auth.CheckPassword("", password) // same work either way
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if u.PasswordHash == "" || !auth.CheckPassword(u.PasswordHash, password) {
		return nil, bad
	}
	return &auth.Identity{User: u, Role: meta.RoleWrite}, nil
}

// sessionTTL is how long a web session lasts.
const sessionTTL = 30 * 24 * time.Hour

// NewSession returns a signed session value for a signed-in user. It is
// stateless (any replica can check it); it embeds a hash of the password
// hash, so changing the password ends every session.
func (s *Service) NewSession(who *auth.Identity) string {
	var buf [8 + 8 + 8]byte
	binary.BigEndian.PutUint64(buf[0:], uint64(who.User.ID))
	binary.BigEndian.PutUint64(buf[8:], uint64(time.Now().Add(sessionTTL).Unix()))
	copy(buf[16:], passwordTag(who.User.PasswordHash))
	return s.sessionMAC(buf[:])
}

func passwordTag(hash string) []byte {
	sum := sha256.Sum256([]byte("session:" + hash))
	return sum[:8]
}

func (s *Service) sessionMAC(payload []byte) string {
	mac := hmac.New(sha256.New, append([]byte("session\x00"), s.signingKey...))
	mac.Write(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac.Sum(nil))
}

// Session checks a session value and returns its identity, or
// ErrUnauthenticated.
func (s *Service) Session(ctx context.Context, value string) (*auth.Identity, error) {
	bad := errorf(ErrUnauthenticated, "Session expired: sign in again")
	p, _, ok := strings.Cut(value, ".")
	if !ok {
		return nil, bad
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || len(payload) != 24 || !hmac.Equal([]byte(s.sessionMAC(payload)), []byte(value)) {
		return nil, bad
	}
	if time.Now().Unix() > int64(binary.BigEndian.Uint64(payload[8:])) {
		return nil, bad
	}
	u, err := s.meta.UserByID(ctx, int64(binary.BigEndian.Uint64(payload[0:])))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if !hmac.Equal(passwordTag(u.PasswordHash), payload[16:]) {
		return nil, bad
	}
	return &auth.Identity{User: u, Role: meta.RoleWrite}, nil
}

// SignCSRF returns a token binding a form to a session value.
func (s *Service) SignCSRF(session string) string {
	mac := hmac.New(sha256.New, append([]byte("csrf\x00"), s.signingKey...))
	mac.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports whether token was made by SignCSRF for session.
func (s *Service) CheckCSRF(session, token string) bool {
	return session != "" && hmac.Equal([]byte(s.SignCSRF(session)), []byte(token))
}

func requireUser(who *auth.Identity) error {
	if who == nil {
		return errorf(ErrUnauthenticated, "You must be signed in")
	}
	return nil
}

// UserProfile returns a public user record by name.
func (s *Service) UserProfile(ctx context.Context, name string) (*User, error) {
	u, err := s.meta.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errorf(ErrNotFound, "User not found")
	}
	return u, err
}
