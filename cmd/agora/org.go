package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// cmdOrg administers organisations while the server runs: create one
// with its first admin, add, change or remove members.
func cmdOrg(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: agora org add ORG --owner USER [--fullname F] [--private] [--data DIR]\n" +
		"       agora org member ORG USER --role no_access|read|contributor|write|admin [--data DIR]\n" +
		"       agora org member ORG USER --remove [--data DIR]"
	if len(args) == 0 || args[0] != "add" && args[0] != "member" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	f := newFlags("org "+args[0], stderr)
	st := addStoreFlags(f)
	owner := f.FlagSet.String("owner", "", "user who becomes the organisation's first admin")
	fullName := f.FlagSet.String("fullname", "", "display name")
	private := f.FlagSet.Bool("private", false, "new repositories of the organisation are private by default")
	role := f.FlagSet.String("role", "", "member role: no_access, read, contributor, write or admin")
	remove := f.FlagSet.Bool("remove", false, "remove the member")
	pos, err := parseInterleaved(f, args[1:])
	if err != nil {
		return err
	}
	want := 1
	if args[0] == "member" {
		want = 2
	}
	if len(pos) != want {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	org, user := pos[0], ""
	if want == 2 {
		user = pos[1]
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	audit := func(action, ns, target, detail string) error {
		return ms.AddAudit(ctx, &meta.AuditEvent{Actor: "agora org", Action: action, Namespace: ns, Target: target, Detail: detail})
	}
	if args[0] == "add" {
		if *owner == "" {
			return fmt.Errorf("--owner USER is required: an organisation needs an admin")
		}
		u, err := ms.UserByName(ctx, *owner)
		if errors.Is(err, meta.ErrNotFound) || err == nil && u.IsOrg() {
			return fmt.Errorf("no user named %q", *owner)
		}
		if err != nil {
			return err
		}
		o, err := hub.CreateOrg(ctx, ms, org, *fullName, u)
		if err != nil {
			return err
		}
		if *private {
			o.DefaultPrivate = true
			if err := ms.UpdateOrg(ctx, o); err != nil {
				return err
			}
		}
		if err := audit("org.create", o.Name, o.Name, fmt.Sprintf(`{"owner":%q}`, u.Name)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created organisation %s with admin %s\n", o.Name, u.Name)
		return nil
	}
	if user == "" || (*role == "") == !*remove {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	o, err := ms.UserByName(ctx, org)
	if errors.Is(err, meta.ErrNotFound) || err == nil && !o.IsOrg() {
		return fmt.Errorf("no organisation named %q", org)
	}
	if err != nil {
		return err
	}
	u, err := ms.UserByName(ctx, user)
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.IsOrg() {
		return fmt.Errorf("no user named %q", user)
	}
	if err != nil {
		return err
	}
	if *remove {
		if err := ms.RemoveOrgMember(ctx, o.ID, u.ID); errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("%s is not a member of %s", u.Name, o.Name)
		} else if err != nil {
			return err
		}
		if err := audit("org.member.remove", o.Name, u.Name, ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", u.Name, o.Name)
		return nil
	}
	if !hub.ValidOrgRole(*role) {
		return fmt.Errorf("invalid --role %q: no_access, read, contributor, write or admin", *role)
	}
	if err := ms.SetOrgMember(ctx, o.ID, u.ID, *role); err != nil {
		return err
	}
	if err := audit("org.member.role", o.Name, u.Name, fmt.Sprintf(`{"role":%q}`, *role)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is %s of %s\n", u.Name, *role, o.Name)
	return nil
}

// cmdAudit prints the audit log, newest first.
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("audit", stderr)
	st := addStoreFlags(f)
	ns := f.FlagSet.String("namespace", "", "only events of this user or organisation")
	limit := f.FlagSet.Int("limit", 50, "how many events")
	if err := f.parse(args); err != nil {
		return err
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	evs, err := ms.ListAudit(ctx, *ns, 0, *limit)
	if err != nil {
		return err
	}
	for _, e := range evs {
		actor := e.Actor
		if actor == "" {
			actor = "-"
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), actor, e.Action, e.Namespace, e.Target, e.Detail, e.IP)
	}
	return nil
}
