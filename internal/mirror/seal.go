package mirror

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/agorahub/agora/internal/meta"
)

// Service tokens are stored sealed with AES-256-GCM, so that they appear
// in no dump, copy or log of the metadata store in clear. The key is the
// store's secret "mirror-token-key" unless the operator keeps one apart
// (serve --upstream-key, AGORA_UPSTREAM_KEY): with the key in the same
// database, sealing protects against a leaked table, not a leaked
// database.

const sealSecret = "mirror-token-key"

// TokenKey returns the key that seals service tokens: key if the operator
// gave one (32 bytes), else the store's shared secret.
func TokenKey(ctx context.Context, m meta.Secrets, key []byte) ([]byte, error) {
	if len(key) > 0 {
		if len(key) != 32 {
			return nil, errors.New("upstream token key: need 32 bytes")
		}
		return key, nil
	}
	k, err := m.Secret(ctx, sealSecret, func() []byte {
		b := make([]byte, 32)
		rand.Read(b)
		return b
	})
	if err != nil {
		return nil, fmt.Errorf("upstream token key: %w", err)
	}
	return k, nil
}

func seal(key []byte, plain string) ([]byte, error) {
	if plain == "" {
		return nil, nil
	}
	a, err := aesGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	return a.Seal(nonce, nonce, []byte(plain), []byte("agora upstream token")), nil
}

func unseal(key, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	a, err := aesGCM(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < a.NonceSize() {
		return "", errors.New("upstream token: sealed value too short")
	}
	plain, err := a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], []byte("agora upstream token"))
	if err != nil {
		return "", errors.New("upstream token: cannot unseal (was the key changed?)")
	}
	return string(plain), nil
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// SaveUpstreams stores the configured upstreams (serve does at every
// start), so that the admin commands and every replica use the same.
func SaveUpstreams(ctx context.Context, m meta.Store, key []byte, ups []Upstream) error {
	for _, u := range ups {
		tok, err := seal(key, string(u.Token))
		if err != nil {
			return err
		}
		if err := m.PutMirrorUpstream(ctx, &meta.MirrorUpstream{Name: u.Name, URL: u.URL, Policy: u.Policy.String(), Token: tok}); err != nil {
			return err
		}
	}
	return nil
}

// LoadUpstreams returns the stored upstreams with their tokens unsealed.
func LoadUpstreams(ctx context.Context, m meta.Store, key []byte) ([]Upstream, error) {
	stored, err := m.MirrorUpstreams(ctx)
	if err != nil {
		return nil, err
	}
	var out []Upstream
	for _, s := range stored {
		tok, err := unseal(key, s.Token)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", s.Name, err)
		}
		pol, err := ParsePolicy(s.Policy)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", s.Name, err)
		}
		out = append(out, Upstream{Name: s.Name, URL: s.URL, Token: Secret(tok), Policy: pol})
	}
	return out, nil
}
