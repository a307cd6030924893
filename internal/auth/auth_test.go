package auth

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
)

func TestTokens(t *testing.T) {
	st, err := sqlitemeta.Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := &meta.User{Name: "ada"}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	sec := NewTokenSecret()
	if !regexp.MustCompile(`^hf_[A-Za-z0-9]{34}$`).MatchString(string(sec)) {
		t.Fatalf("token %q has the wrong shape", sec)
	}
	if NewTokenSecret() == sec {
		t.Fatal("tokens repeat")
	}
	if err := st.CreateToken(t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: HashToken(sec), Role: meta.RoleRead}); err != nil {
		t.Fatal(err)
	}
	id, err := Authenticate(t.Context(), st, sec)
	if err != nil || id.User.Name != "ada" || id.CanWrite() {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	for _, bad := range []Secret{"", "hf_nope", "xx_" + sec[3:], sec + "x"} {
		if _, err := Authenticate(t.Context(), st, bad); err != ErrInvalidCredentials {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}
}

func TestPasswords(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "wrong") || CheckPassword("garbage", "x") {
		t.Fatal("password check wrong")
	}
}
