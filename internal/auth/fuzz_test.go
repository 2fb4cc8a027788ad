package auth

import (
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify checks Verify never panics, classifies every failure with
// exactly one sentinel, and only accepts tokens with a valid subject.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	v := fx.verifier(fx.config(AlgHS256))
	good := fx.hs()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(strings.ReplaceAll(good, ".", ".."))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims()))
	f.Add(fx.hs(set("exp", 1e300), set("nbf", -1e300)))
	f.Add(fx.hs(set("aud", []any{1, 2})))
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.")
	f.Add("")
	f.Add("...")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		if err != nil {
			if m := matchingSentinels(err); len(m) != 1 {
				t.Fatalf("error %q wraps %d sentinels", err, len(m))
			}
			return
		}
		if checkSubject(c.UserID) != nil || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

func FuzzTokenFromRequest(f *testing.F) {
	f.Add("Bearer abc", "")
	f.Add("", "token=a%2Eb&x=1")
	f.Add("bearer\tx", "token=%zz")
	f.Fuzz(func(t *testing.T, header, query string) {
		got := TokenFromRequest(header, query)
		if got != "" && !strings.Contains(header, got) && !strings.Contains(query, "=") {
			t.Fatalf("token %q from nowhere", got)
		}
	})
}
