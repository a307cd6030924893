package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: agora user add NAME [--admin] [--email E] [--password P] [--data DIR]")
		return errUsage
	}
	f := newFlags("user add", stderr)
	st := addStoreFlags(f)
	admin := f.bool("admin", false, "make the user an administrator")
	email := f.string("email", "", "e-mail address (used in commit authorship)")
	fullName := f.string("fullname", "", "display name")
	password := f.string("password", "", "password for web sign-in (default: none, tokens only)")
	name, rest := splitName(args[1:])
	if err := f.parse(rest); err != nil {
		return err
	}
	if name == "" && f.NArg() == 1 {
		name = f.Arg(0)
	}
	if name == "" {
		return fmt.Errorf("missing user NAME")
	}
	if !hub.ValidNamespace(name) {
		return fmt.Errorf("invalid user name %q: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, not a reserved word", name)
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	u := &meta.User{Name: name, IsAdmin: *admin, Email: *email, FullName: *fullName}
	if *password != "" {
		if u.PasswordHash, err = auth.HashPassword(*password); err != nil {
			return err
		}
	}
	secret := auth.NewTokenSecret()
	err = ms.InTx(ctx, func(tx meta.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "default", Hash: auth.HashToken(secret), Role: meta.RoleWrite})
	})
	if errors.Is(err, meta.ErrConflict) {
		return fmt.Errorf("a user named %q already exists", name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (admin: %v); write token:\n%s\n", u.Name, u.IsAdmin, string(secret))
	return nil
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: agora token add USER [--read] [--name N] [--data DIR]")
		return errUsage
	}
	f := newFlags("token add", stderr)
	st := addStoreFlags(f)
	read := f.bool("read", false, "read-only token")
	tokName := f.string("name", "cli", "token name (shown by whoami)")
	name, rest := splitName(args[1:])
	if err := f.parse(rest); err != nil {
		return err
	}
	if name == "" && f.NArg() == 1 {
		name = f.Arg(0)
	}
	if name == "" {
		return fmt.Errorf("missing user NAME")
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	u, err := ms.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("no user named %q", name)
	}
	if err != nil {
		return err
	}
	role := meta.RoleWrite
	if *read {
		role = meta.RoleRead
	}
	secret := auth.NewTokenSecret()
	if err := ms.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: *tokName, Hash: auth.HashToken(secret), Role: role}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s token for %s:\n%s\n", role, u.Name, string(secret))
	return nil
}

// splitName takes a leading positional NAME so that flags may follow it.
func splitName(args []string) (string, []string) {
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		return args[0], args[1:]
	}
	return "", args
}
