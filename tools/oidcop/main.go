// Command oidcop is a real OpenID Connect provider for Agora's single
// sign-on tests: the example provider that ships with
// github.com/zitadel/oidc (its exampleop and storage packages, unchanged),
// given the users, client and redirect URI of one test run, plus a
// "groups" claim so that organisation mapping can be tested.
//
//	oidcop -addr 127.0.0.1:0 -client-id agora -client-secret s3cret \
//	    -redirect-uri http://127.0.0.1:8080/login/oidc/callback -users users.json
//
// It prints "issuer http://ADDR/" on stdout once it accepts connections.
// The users file maps ids to users:
//
//	{"u1": {"Username": "carol", "Password": "pw", "FirstName": "Carol",
//	        "LastName": "C", "Email": "carol@example.org", "Groups": ["acme"]}}
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// user is a storage.User with the groups the provider asserts.
type user struct {
	storage.User
	Groups []string
}

// users is the example's UserStore over a file's users.
type users map[string]*user

func (u users) GetUserByID(id string) *storage.User {
	if x := u[id]; x != nil {
		return &x.User
	}
	return nil
}

func (u users) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return &x.User
		}
	}
	return nil
}

func (u users) ExampleClientID() string { return storage.ServiceUserID }

// withGroups adds the "groups" claim to the ID token and the userinfo
// answer of the example storage, which asserts only the standard ones.
type withGroups struct {
	*storage.Storage
	users users
}

func (s withGroups) addGroups(info *oidc.UserInfo, subject string) {
	if x := s.users[subject]; x != nil && x.Groups != nil {
		info.AppendClaims("groups", x.Groups)
	}
}

func (s withGroups) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	s.addGroups(info, req.GetSubject())
	return nil
}

func (s withGroups) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.addGroups(info, subject)
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	clientID := flag.String("client-id", "agora", "the relying party's client id")
	secret := flag.String("client-secret", "secret", "the relying party's client secret")
	redirect := flag.String("redirect-uri", "", "allowed redirect URIs, comma-separated")
	usersFile := flag.String("users", "", "JSON file of users (see the package comment)")
	flag.Parse()

	us := users{}
	if *usersFile != "" {
		data, err := os.ReadFile(*usersFile)
		if err == nil {
			err = json.Unmarshal(data, &us)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "oidcop: users:", err)
			os.Exit(2)
		}
		for id, u := range us {
			u.ID = id
			u.EmailVerified = u.Email != ""
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidcop:", err)
		os.Exit(1)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	storage.RegisterClients(storage.WebClient(*clientID, *secret, strings.Split(*redirect, ",")...))
	lg := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	router := exampleop.SetupServer(issuer, withGroups{storage.NewStorage(us), us}, lg, false)
	srv := &http.Server{Handler: router}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Println("issuer", issuer)
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "oidcop:", err)
		os.Exit(1)
	}
}
