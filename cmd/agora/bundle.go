package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/agorahub/agora/internal/bundle"
)

const bundleUsage = `usage: agora bundle <command> [flags]

  export REPO[@REV]... --out FILE [--sign KEY]   write repositories (every ref, or one revision) and their LFS content
  import FILE [--trust KEY.pub]...               check every byte and the signature, then import (same commit ids)
  verify FILE [--trust KEY.pub]...               check without importing
  keygen --out KEY                               make an ed25519 signing key (KEY) and its public key (KEY.pub)

REPO is NS/NAME for a model or datasets/NS/NAME; FILE "-" is stdin/stdout.
`

// cmdBundle runs the air-gap bundle commands (issue 14).
func cmdBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, bundleUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	f := newFlags("bundle "+sub, stderr)
	var st *storeFlags
	var out, signKey *string
	var trust listValue
	switch sub {
	case "export":
		st = addStoreFlags(f)
		out = f.string("out", "", "the bundle file to write (- for stdout)")
		signKey = f.string("sign", "", "sign the bundle with this ed25519 key (see agora bundle keygen)")
	case "import", "verify":
		if sub == "import" {
			st = addStoreFlags(f)
		}
		f.value(&trust, "trust", "accept only bundles signed by this public key (repeatable)")
	case "keygen":
		out = f.string("out", "", "path of the private key; the public key goes to PATH.pub")
	default:
		fmt.Fprint(stderr, bundleUsage)
		return errUsage
	}
	pos, err := parseInterleaved(f, args)
	if err != nil {
		return err
	}
	switch sub {
	case "keygen":
		if *out == "" {
			return errors.New("--out is required")
		}
		pub, err := bundle.GenerateKey(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and %s (%s)\n", *out, *out+".pub", bundle.KeyID(pub))
		return nil
	case "export":
		if *out == "" || len(pos) == 0 {
			return errors.New("give REPO[@REV]... and --out FILE")
		}
		var specs []bundle.Spec
		for _, a := range pos {
			ref, rev, err := parseRepoArg(a, "model")
			if err != nil {
				return err
			}
			specs = append(specs, bundle.Spec{Type: ref.Type, Namespace: ref.Namespace, Name: ref.Name, Rev: rev})
		}
		var key ed25519.PrivateKey
		if *signKey != "" {
			k, err := bundle.ReadPrivateKey(*signKey)
			if err != nil {
				return err
			}
			key = k
		}
		ms, bs, _, done, err := openHub(ctx, st, stderr)
		if err != nil {
			return err
		}
		defer done()
		w := io.Writer(os.Stdout)
		var file *os.File
		if *out != "-" {
			// Written beside its final name and renamed at the end: an
			// interrupted export never leaves a file that looks whole.
			if file, err = os.CreateTemp(dirOf(*out), ".agora-bundle-*"); err != nil {
				return err
			}
			defer os.Remove(file.Name())
			w = file
		}
		bw := bufio.NewWriterSize(w, 1<<20)
		m, err := bundle.Export(ctx, ms, bs, specs, bw, bundle.ExportOptions{Key: key})
		if err == nil {
			err = bw.Flush()
		}
		if err == nil && file != nil {
			if err = file.Sync(); err == nil {
				if err = file.Close(); err == nil {
					err = os.Rename(file.Name(), *out)
				}
			}
		}
		if err != nil {
			if file != nil {
				file.Close()
			}
			return err
		}
		var bytes int64
		for _, l := range m.LFS {
			bytes += l.Size
		}
		signed := "unsigned"
		if key != nil {
			signed = "signed by " + bundle.KeyID(key.Public().(ed25519.PublicKey))
		}
		fmt.Fprintf(stderr, "bundle: %d repositories, %d LFS objects (%s), %s\n", len(m.Repos), len(m.LFS), human(bytes), signed)
		return nil
	}
	// import, verify
	if len(pos) != 1 {
		return errors.New("give one bundle FILE (- for stdin)")
	}
	var keys []ed25519.PublicKey
	for _, p := range trust.items {
		k, err := bundle.ReadPublicKey(p)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	r := io.Reader(os.Stdin)
	if pos[0] != "-" {
		file, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer file.Close()
		r = file
	}
	r = bufio.NewReaderSize(r, 1<<20)
	opts := bundle.ImportOptions{Trusted: keys}
	var res *bundle.Result
	if sub == "verify" {
		res, err = bundle.Verify(ctx, r, opts)
	} else {
		ms, bs, svc, done, oerr := openHub(ctx, st, stderr)
		if oerr != nil {
			return oerr
		}
		defer done()
		res, err = bundle.Import(ctx, ms, bs, svc, r, opts)
	}
	if err != nil {
		return err
	}
	signer := "unsigned"
	if res.Signer != nil {
		signer = "signed by " + bundle.KeyID(res.Signer)
	}
	fmt.Fprintf(stdout, "bundle ok: %d repositories, %d LFS objects, %s\n", len(res.Manifest.Repos), len(res.Manifest.LFS), signer)
	if sub == "import" {
		fmt.Fprintf(stdout, "imported: %d created, %d updated, %d unchanged; LFS objects stored %d, already present %d\n",
			res.Created, res.Updated, res.Unchanged, res.LFSStored, res.LFSPresent)
	}
	return nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1]
		}
	}
	return "."
}
