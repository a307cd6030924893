package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/formats/card"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/modelsig"
	"github.com/agorahub/agora/internal/openness"
)

// SigningKey is a registered model-signing public key.
type SigningKey = meta.SigningKey

// RegisterSigningKey stores a public key (PEM) the caller signs models
// with; key-based model.sig signatures are verified against the keys of
// every user and report the owner.
func (s *Service) RegisterSigningKey(ctx context.Context, who *auth.Identity, name, pemText string) (*SigningKey, error) {
	if err := requireAccountChange(who); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, errorf(ErrInvalid, "A key needs a name of at most 100 characters")
	}
	if len(pemText) > 16<<10 {
		return nil, errorf(ErrTooLarge, "Public key too large")
	}
	if _, err := modelsig.ParsePublicKey([]byte(pemText)); err != nil {
		return nil, errorf(ErrInvalid, "Not a supported public key (ECDSA P-256, P-384 or P-521, PEM): %v", err)
	}
	k := &meta.SigningKey{UserID: who.User.ID, Name: name, PEM: pemText}
	if err := s.meta.AddSigningKey(ctx, k); err != nil {
		return nil, fmt.Errorf("register key: %w", err)
	}
	k.User = who.User.Name
	return k, nil
}

// SigningKeysOf lists a user's public keys.
func (s *Service) SigningKeysOf(ctx context.Context, user string) ([]SigningKey, error) {
	u, err := s.meta.UserByName(ctx, user)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, errorf(ErrNotFound, "User not found")
	}
	if err != nil {
		return nil, err
	}
	keys, err := s.meta.ListSigningKeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		keys[i].User = u.Name
	}
	return keys, nil
}

// DeleteSigningKey removes one of the caller's keys.
func (s *Service) DeleteSigningKey(ctx context.Context, who *auth.Identity, id int64) error {
	if err := requireAccountChange(who); err != nil {
		return err
	}
	if err := s.meta.DeleteSigningKey(ctx, who.User.ID, id); errors.Is(err, meta.ErrNotFound) {
		return errorf(ErrNotFound, "No such key")
	} else {
		return err
	}
}

// KeyHint returns the hint model.sig bundles carry for a public key.
func KeyHint(pemText string) string {
	pub, err := modelsig.ParsePublicKey([]byte(pemText))
	if err != nil {
		return ""
	}
	h, _ := modelsig.KeyHint(pub)
	return h
}

// signatureFile is where the OpenSSF model-signing tools write a
// signature.
const signatureFile = modelsig.DefaultSignatureName

// verifySignature checks the repository's model.sig, offline: the
// signature against registered keys or the configured CA roots, then the
// signed digests against the files (LFS files by their SHA-256 oid, no
// rehashing; regular files are small and hashed). The result is the
// "signature" object of model info.
func (s *Service) verifySignature(ctx context.Context, objs *objects, files []Entry, byPath map[string]*Entry) (map[string]any, error) {
	e := byPath[signatureFile]
	if e == nil {
		return nil, nil
	}
	out := map[string]any{"file": signatureFile}
	data, ok, err := s.smallContent(ctx, objs, e)
	if err != nil {
		return nil, err
	}
	if !ok || len(data) > modelsig.MaxBundleSize {
		out["status"], out["error"] = "invalid", "signature file too large"
		return out, nil
	}
	b, err := modelsig.ParseBundle(data)
	if err != nil {
		out["status"], out["error"] = "invalid", err.Error()
		return out, nil
	}
	out["method"] = string(b.Method)
	keys, err := s.meta.AllSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	v := &modelsig.Verifier{Roots: s.cfg.SigningRoots, CurrentTime: time.Now}
	var owners []SigningKey
	for _, k := range keys {
		if pub, err := modelsig.ParsePublicKey([]byte(k.PEM)); err == nil {
			v.Keys = append(v.Keys, pub)
			owners = append(owners, k)
		}
	}
	res, err := v.Verify(b)
	if err != nil {
		out["status"], out["error"] = "unverified", err.Error()
		return out, nil
	}
	out["signer"] = res.Identity
	if res.KeyIndex >= 0 && res.KeyIndex < len(owners) {
		out["signer"] = "user:" + owners[res.KeyIndex].User
		out["key"] = owners[res.KeyIndex].Name
	}
	digests := map[string]string{}
	for i := range files {
		f := &files[i]
		if f.IsDir() || f.Path == signatureFile {
			continue
		}
		if f.LFS != nil {
			digests[f.Path] = f.LFS.OID
			continue
		}
		content, err := objs.blobData(ctx, f.OID)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(content)
		digests[f.Path] = hex.EncodeToString(sum[:])
	}
	cmp := modelsig.Compare(res.Manifest, digests, nil)
	out["status"] = "verified"
	if !cmp.OK() {
		out["status"] = "mismatch"
	}
	out["modelName"] = res.Manifest.ModelName
	out["verifiedFiles"] = nonNil(cmp.Verified)
	out["mismatchedFiles"] = nonNil(cmp.Mismatched)
	out["missingFiles"] = nonNil(cmp.Missing)
	out["unsignedFiles"] = nonNil(cmp.Unsigned)
	out["uncheckedFiles"] = nonNil(cmp.Unchecked)
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// maxLicenseText is how much of a license file the classifier reads.
const maxLicenseText = 1 << 10

// classifyOpenness rates the model with the Model Openness Framework.
func (s *Service) classifyOpenness(ctx context.Context, objs *objects, files []Entry, byPath map[string]*Entry, cd card.Card) (openness.Result, error) {
	in := openness.Input{Card: cd.Data, Readme: cd.Body, LicenseTexts: map[string]string{}, Datasets: map[string]openness.Dataset{}}
	for _, f := range files {
		if f.IsDir() {
			continue
		}
		in.Files = append(in.Files, f.Path)
		if !strings.Contains(f.Path, "/") && isLicenseFile(f.Path) && f.LFS == nil {
			data, err := objs.blobData(ctx, f.OID)
			if err != nil {
				return openness.Result{}, err
			}
			in.LicenseTexts[f.Path] = string(data[:min(len(data), maxLicenseText)])
		}
	}
	for _, ds := range cd.Datasets() {
		ns, name, ok := strings.Cut(ds, "/")
		if !ok {
			continue
		}
		r, err := s.meta.RepoByName(ctx, TypeDataset, ns, name)
		if err != nil || r.Private {
			continue
		}
		m, err := s.meta.GetRepoMeta(ctx, r.ID)
		if err != nil {
			continue
		}
		d := openness.Dataset{HasCard: m.CardData != nil}
		for _, t := range m.Tags {
			if l, ok := strings.CutPrefix(t, "license:"); ok {
				d.License = l
				break
			}
		}
		in.Datasets[ds] = d
	}
	return openness.Classify(in), nil
}

func isLicenseFile(p string) bool {
	u := strings.ToUpper(p)
	return strings.HasPrefix(u, "LICENSE") || strings.HasPrefix(u, "LICENCE") || strings.HasPrefix(u, "COPYING") ||
		strings.Contains(u, "_LICENSE") || strings.Contains(u, "-LICENSE")
}
