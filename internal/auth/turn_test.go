package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// The scheme coturn checks: username "<expiry>:<user>", credential
// base64(HMAC-SHA1(secret, username)), computed here independently.
func TestMintTURN(t *testing.T) {
	now := time.Unix(1767225600, 500)
	secret := "0123456789abcdef-turn"
	username, credential, err := MintTURN(secret, "u-1042", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if username != "1767229201:u-1042" {
		t.Errorf("username %q", username)
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); credential != want {
		t.Errorf("credential %q, want %q", credential, want)
	}
	user, cred, err := CheckTURNUsername(secret, username, now.Add(time.Hour))
	if err != nil || user != "u-1042" || cred != credential {
		t.Errorf("check: %q %q %v", user, cred, err)
	}
	if _, _, err := CheckTURNUsername(secret, username, now.Add(time.Hour+2*time.Second)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	for _, bad := range []string{"", "u-1042", "x:u", "123:", "1767229201"} {
		if _, _, err := CheckTURNUsername(secret, bad, now); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, c := range []struct {
		secret, user string
		ttl          time.Duration
	}{{"short", "u", time.Hour}, {secret, "", time.Hour}, {secret, "u", time.Millisecond}} {
		if _, _, err := MintTURN(c.secret, c.user, c.ttl, now); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
