package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerify(t *testing.T) {
	f := newFixture(t)
	none := func(edits ...func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(edits...))
	}
	withHeader := func(k string, v any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
		tok.Header[k] = v
		s, err := tok.SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// rawHeader signs a token whose header JSON is given verbatim.
	rawHeader := func(header string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
		payload, err := tok.SigningString()
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(payload, ".")
		unsigned := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + body
		sig, err := jwt.SigningMethodHS256.Sign(unsigned, []byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	tamperPayload := func(tok string) string {
		parts := strings.Split(tok, ".")
		evil := strings.Replace(string(mustDecode(t, parts[1])), `"alice"`, `"admin"`, 1)
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(evil))
		return strings.Join(parts, ".")
	}
	tamperSignature := func(tok string) string {
		i := strings.LastIndexByte(tok, '.') + 5 // well inside the signature
		c := byte('A')
		if tok[i] == 'A' {
			c = 'B'
		}
		return tok[:i] + string(c) + tok[i+1:]
	}
	leeway30s := func(c *Config) { c.Leeway = 30 * time.Second }
	noChecks := func(c *Config) { c.Issuer, c.Audience = "", "" }
	ago := func(d time.Duration) int64 { return testNow.Add(-d).Unix() }
	in := func(d time.Duration) int64 { return testNow.Add(d).Unix() }

	tests := []struct {
		name  string
		alg   string
		cfg   func(*Config) // optional change to f.config(alg)
		token string
		want  error  // nil: valid
		user  string // expected UserID when valid; "alice" when empty
	}{
		{name: "valid HS256", alg: AlgHS256, token: f.hs()},
		{name: "valid RS256", alg: AlgRS256, token: f.rs()},
		{name: "valid EdDSA", alg: AlgEdDSA, token: f.eddsa()},
		{name: "valid aud array", alg: AlgHS256, token: f.hs(set("aud", []string{"other", testAudience}))},
		{name: "valid without iss/aud when not configured", alg: AlgHS256, cfg: noChecks, token: f.hs(del("iss"), del("aud"))},
		{name: "valid without iat and nbf", alg: AlgHS256, token: f.hs(del("iat"), del("nbf"))},
		{name: "valid unicode sub", alg: AlgHS256, token: f.hs(set("sub", "Zoë 🙂")), user: "Zoë 🙂"},
		{name: "valid sub of 128 bytes", alg: AlgHS256, token: f.hs(set("sub", strings.Repeat("u", 128))), user: strings.Repeat("u", 128)},

		{name: "empty", alg: AlgHS256, token: "", want: ErrMissingToken},

		{name: "alg none vs HS256", alg: AlgHS256, token: none(), want: ErrAlgorithm},
		{name: "alg none vs RS256", alg: AlgRS256, token: none(), want: ErrAlgorithm},
		{name: "alg none vs EdDSA", alg: AlgEdDSA, token: none(), want: ErrAlgorithm},
		{name: "alg None with HS256 signature", alg: AlgHS256, token: rawHeader(`{"alg":"None","typ":"JWT"}`), want: ErrAlgorithm},
		{name: "alg missing", alg: AlgHS256, token: rawHeader(`{"typ":"JWT"}`), want: ErrAlgorithm},
		{name: "alg not a string", alg: AlgHS256, token: rawHeader(`{"alg":256}`), want: ErrAlgorithm},
		{name: "HS/RS confusion", alg: AlgRS256,
			token: sign(t, jwt.SigningMethodHS256, f.rsaPEMRaw, claims()), want: ErrAlgorithm},
		{name: "HS/EdDSA confusion", alg: AlgEdDSA,
			token: sign(t, jwt.SigningMethodHS256, f.edPEMRaw, claims()), want: ErrAlgorithm},
		{name: "RS256 token vs HS256", alg: AlgHS256, token: f.rs(), want: ErrAlgorithm},
		{name: "HS512 token vs HS256", alg: AlgHS256,
			token: sign(t, jwt.SigningMethodHS512, []byte(testSecret), claims()), want: ErrAlgorithm},
		{name: "RS384 token vs RS256", alg: AlgRS256,
			token: sign(t, jwt.SigningMethodRS384, f.rsa, claims()), want: ErrAlgorithm},
		{name: "PS256 token vs RS256", alg: AlgRS256,
			token: sign(t, jwt.SigningMethodPS256, f.rsa, claims()), want: ErrAlgorithm},
		{name: "EdDSA token vs RS256", alg: AlgRS256, token: f.eddsa(), want: ErrAlgorithm},

		{name: "HS256 other secret", alg: AlgHS256,
			token: sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), claims()), want: ErrBadSignature},
		{name: "RS256 other key", alg: AlgRS256,
			token: sign(t, jwt.SigningMethodRS256, f.rsaOther, claims()), want: ErrBadSignature},
		{name: "EdDSA other key", alg: AlgEdDSA,
			token: sign(t, jwt.SigningMethodEdDSA, f.edOther, claims()), want: ErrBadSignature},
		{name: "tampered payload HS256", alg: AlgHS256, token: tamperPayload(f.hs()), want: ErrBadSignature},
		{name: "tampered payload RS256", alg: AlgRS256, token: tamperPayload(f.rs()), want: ErrBadSignature},
		{name: "tampered payload EdDSA", alg: AlgEdDSA, token: tamperPayload(f.eddsa()), want: ErrBadSignature},
		{name: "tampered signature", alg: AlgHS256, token: tamperSignature(f.hs()), want: ErrBadSignature},
		{name: "signature stripped", alg: AlgHS256, token: f.hs()[:strings.LastIndexByte(f.hs(), '.')+1], want: ErrBadSignature},

		{name: "expired", alg: AlgHS256, token: f.hs(set("exp", ago(time.Minute))), want: ErrExpired},
		{name: "expired beyond default leeway", alg: AlgHS256, token: f.hs(set("exp", ago(6*time.Second))), want: ErrExpired},
		{name: "expired within default leeway", alg: AlgHS256, token: f.hs(set("exp", ago(3*time.Second)))},
		{name: "expired within configured leeway", alg: AlgRS256, cfg: leeway30s, token: f.rs(set("exp", ago(20*time.Second)))},
		{name: "expired and wrong issuer reports expiry", alg: AlgHS256,
			token: f.hs(set("exp", ago(time.Hour)), set("iss", "evil")), want: ErrExpired},
		{name: "missing exp", alg: AlgHS256, token: f.hs(del("exp")), want: ErrNoExpiry},
		{name: "null exp", alg: AlgHS256, token: f.hs(set("exp", nil)), want: ErrNoExpiry},
		{name: "exp not a number", alg: AlgHS256, token: f.hs(set("exp", "tomorrow")), want: ErrMalformed},
		{name: "nbf in future", alg: AlgHS256, token: f.hs(set("nbf", in(time.Minute))), want: ErrNotYetValid},
		{name: "nbf within leeway", alg: AlgHS256, token: f.hs(set("nbf", in(3*time.Second)))},
		{name: "iat in future", alg: AlgEdDSA, token: f.eddsa(set("iat", in(time.Minute))), want: ErrNotYetValid},

		{name: "wrong issuer", alg: AlgHS256, token: f.hs(set("iss", "https://evil.example")), want: ErrIssuer},
		{name: "missing issuer", alg: AlgHS256, token: f.hs(del("iss")), want: ErrIssuer},
		{name: "wrong audience", alg: AlgRS256, token: f.rs(set("aud", "other")), want: ErrAudience},
		{name: "missing audience", alg: AlgHS256, token: f.hs(del("aud")), want: ErrAudience},

		{name: "missing sub", alg: AlgHS256, token: f.hs(del("sub")), want: ErrNoSubject},
		{name: "empty sub", alg: AlgHS256, token: f.hs(set("sub", "")), want: ErrNoSubject},
		{name: "sub too long", alg: AlgHS256, token: f.hs(set("sub", strings.Repeat("u", 129))), want: ErrBadSubject},
		{name: "sub with newline", alg: AlgHS256, token: f.hs(set("sub", "alice\nadmin")), want: ErrBadSubject},
		{name: "sub with NUL", alg: AlgHS256, token: f.hs(set("sub", "alice\x00")), want: ErrBadSubject},
		{name: "sub with C1 control", alg: AlgHS256, token: f.hs(set("sub", "alice\u0085")), want: ErrBadSubject},
		{name: "sub not a string", alg: AlgHS256, token: f.hs(set("sub", 42)), want: ErrMalformed},

		{name: "garbage", alg: AlgHS256, token: "garbage", want: ErrMalformed},
		{name: "two segments", alg: AlgHS256, token: "a.b", want: ErrMalformed},
		{name: "four segments", alg: AlgHS256, token: f.hs() + ".x", want: ErrMalformed},
		{name: "bad base64", alg: AlgHS256, token: "!!.??.**", want: ErrMalformed},
		{name: "header not JSON", alg: AlgHS256, token: "bm90IGpzb24.e30.c2ln", want: ErrMalformed},
		{name: "padded base64", alg: AlgHS256, token: "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln", want: ErrMalformed},
		{name: "oversized garbage", alg: AlgHS256, token: strings.Repeat("a", MaxTokenLen+1), want: ErrMalformed},
		{name: "oversized valid token", alg: AlgHS256,
			token: f.hs(set("pad", strings.Repeat("p", MaxTokenLen))), want: ErrMalformed},
		{name: "crit header", alg: AlgHS256, token: withHeader("crit", []string{"exp"}), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(tt.alg)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			got, err := f.verifier(cfg).Verify(tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				user := tt.user
				if user == "" {
					user = "alice"
				}
				if got.UserID != user {
					t.Errorf("UserID = %q, want %q", got.UserID, user)
				}
				if got.ExpiresAt.IsZero() {
					t.Error("ExpiresAt is zero")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			if m := matchingSentinels(err); len(m) != 1 {
				t.Errorf("error %q wraps %d sentinels %v, want exactly one", err, len(m), m)
			}
			if got != (Claims{}) {
				t.Errorf("claims on failure = %+v, want zero", got)
			}
		})
	}
}

func TestVerifyClaimsAndWrapping(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(f.config(AlgRS256))

	c, err := v.Verify(f.rs())
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{UserID: "alice", ExpiresAt: testNow.Add(time.Hour), IssuedAt: testNow.Add(-time.Minute)}
	if !c.ExpiresAt.Equal(want.ExpiresAt) || !c.IssuedAt.Equal(want.IssuedAt) || c.UserID != want.UserID {
		t.Errorf("claims = %+v, want %+v", c, want)
	}

	// Our sentinel and the jwt library's are both in the chain.
	_, err = v.Verify(f.rs(set("exp", testNow.Add(-time.Hour).Unix())))
	if !errors.Is(err, ErrExpired) || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired: %v; want errors.Is ErrExpired and jwt.ErrTokenExpired", err)
	}
	if !strings.HasPrefix(err.Error(), ErrExpired.Error()) {
		t.Errorf("expired: message %q does not start with %q", err, ErrExpired)
	}
}

// TestVerifyRealClock checks NewVerifier (not the test clock) end to end.
func TestVerifyRealClock(t *testing.T) {
	v, err := NewVerifier(Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := MintHS256(testSecret, "bob", time.Minute, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.Verify(tok); err != nil || c.UserID != "bob" {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
}

func TestVerifierConcurrent(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(f.config(AlgEdDSA))
	good, bad := f.eddsa(), f.eddsa(set("exp", testNow.Add(-time.Hour).Unix()))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := v.Verify(good); err != nil {
					t.Errorf("goroutine %d: good token: %v", i, err)
					return
				}
				if _, err := v.Verify(bad); !errors.Is(err, ErrExpired) {
					t.Errorf("goroutine %d: bad token: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func mustDecode(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
