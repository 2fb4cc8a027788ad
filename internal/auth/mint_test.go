package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMintHS256Verifies(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		issuer, aud string // minted
		cfg         Config // verifier; Secret filled in
		want        error
	}{
		{name: "plain", cfg: Config{}},
		{name: "issuer and audience", issuer: testIssuer, aud: testAudience,
			cfg: Config{Issuer: testIssuer, Audience: testAudience}},
		{name: "extra claims ignored when not configured", issuer: testIssuer, aud: testAudience, cfg: Config{}},
		{name: "issuer required but not minted", cfg: Config{Issuer: testIssuer}, want: ErrIssuer},
		{name: "audience required but not minted", cfg: Config{Audience: testAudience}, want: ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := mintHS256(testSecret, "carol", 10*time.Minute, tt.issuer, tt.aud, "", testNow)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tt.cfg
			cfg.Secret = testSecret
			c, err := f.verifier(cfg).Verify(tok)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if c.UserID != "carol" || !c.IssuedAt.Equal(testNow) || !c.ExpiresAt.Equal(testNow.Add(10*time.Minute)) {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestMintHS256Expires(t *testing.T) {
	f := newFixture(t)
	tok, err := mintHS256(testSecret, "carol", time.Minute, "", "", "", testNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier(Config{Secret: testSecret}).Verify(tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify = %v, want ErrExpired", err)
	}
}

func TestMintHS256Arguments(t *testing.T) {
	tests := []struct {
		name, secret, user string
		ttl                time.Duration
		also               error // a second sentinel the error wraps
	}{
		{name: "short secret", secret: testSecret[:MinSecretLen-1], user: "u", ttl: time.Minute},
		{name: "empty user", secret: testSecret, user: "", ttl: time.Minute, also: ErrNoSubject},
		{name: "user with control char", secret: testSecret, user: "a\tb", ttl: time.Minute, also: ErrBadSubject},
		{name: "user too long", secret: testSecret, user: strings.Repeat("u", MaxSubjectLen+1), ttl: time.Minute, also: ErrBadSubject},
		{name: "user not UTF-8", secret: testSecret, user: "\xff", ttl: time.Minute, also: ErrBadSubject},
		{name: "zero ttl", secret: testSecret, user: "u", ttl: 0},
		{name: "negative ttl", secret: testSecret, user: "u", ttl: -time.Minute},
		{name: "sub-second ttl", secret: testSecret, user: "u", ttl: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := MintHS256(tt.secret, tt.user, tt.ttl, "", "")
			if !errors.Is(err, ErrInvalidArgument) || tok != "" {
				t.Fatalf("MintHS256 = %q, %v; want ErrInvalidArgument", tok, err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("error %v does not wrap %v", err, tt.also)
			}
		})
	}
}

func TestAdminRoleClaim(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(Config{Secret: testSecret})
	for _, tt := range []struct {
		role  string
		admin bool
	}{{"", false}, {RoleAdmin, true}, {"Admin", false}, {"user", false}} {
		tok, err := mintHS256(testSecret, "ops", time.Minute, "", "", tt.role, testNow)
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(tok)
		if err != nil || c.Admin != tt.admin {
			t.Errorf("role %q: Admin = %v, err %v; want %v", tt.role, c.Admin, err, tt.admin)
		}
	}
}
