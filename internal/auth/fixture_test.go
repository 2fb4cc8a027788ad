package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testNow is the fixed clock of verifiers built by fixture.verifier.
var testNow = time.Unix(1_900_000_000, 0)

const (
	testSecret   = "0123456789abcdef0123456789abcdef-test-secret"
	testIssuer   = "https://id.example"
	testAudience = "salam"
)

// verifySentinels are the errors Verify may wrap; each failure must wrap
// exactly one.
var verifySentinels = []error{
	ErrMissingToken, ErrMalformed, ErrAlgorithm, ErrBadSignature, ErrExpired, ErrNoExpiry,
	ErrNotYetValid, ErrIssuer, ErrAudience, ErrNoSubject, ErrBadSubject,
}

// testKeys are generated once per test binary: RSA-2048 generation is slow.
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsaOther *rsa.PrivateKey
	ed, edOther   ed25519.PrivateKey
}) {
	var err error
	for _, p := range []**rsa.PrivateKey{&k.rsa, &k.rsaOther} {
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	for _, p := range []*ed25519.PrivateKey{&k.ed, &k.edOther} {
		if _, *p, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	}
	return k
})

// fixture holds real keys and their PEM files in a test's temp dir.
type fixture struct {
	tb        testing.TB
	rsa       *rsa.PrivateKey
	rsaOther  *rsa.PrivateKey
	ed        ed25519.PrivateKey
	edOther   ed25519.PrivateKey
	rsaPEM    string // path of the PKIX "PUBLIC KEY" file for rsa
	rsaPEMRaw []byte // its bytes, the secret of an HS/RS confusion attack
	edPEM     string
	edPEMRaw  []byte
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	k := testKeys()
	f := &fixture{tb: tb, rsa: k.rsa, rsaOther: k.rsaOther, ed: k.ed, edOther: k.edOther}
	dir := tb.TempDir()
	f.rsaPEM, f.rsaPEMRaw = writePEM(tb, dir, "rsa.pem", "PUBLIC KEY", mustPKIX(tb, &k.rsa.PublicKey))
	f.edPEM, f.edPEMRaw = writePEM(tb, dir, "ed.pem", "PUBLIC KEY", mustPKIX(tb, k.ed.Public()))
	return f
}

func mustPKIX(tb testing.TB, pub any) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

func writePEM(tb testing.TB, dir, name, typ string, der []byte) (string, []byte) {
	tb.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, data
}

// config returns a Config for alg with issuer and audience checks on.
func (f *fixture) config(alg string) Config {
	c := Config{Algorithm: alg, Issuer: testIssuer, Audience: testAudience}
	switch alg {
	case AlgHS256:
		c.Secret = testSecret
	case AlgRS256:
		c.PublicKeyFile = f.rsaPEM
	case AlgEdDSA:
		c.PublicKeyFile = f.edPEM
	}
	return c
}

func (f *fixture) verifier(cfg Config) *Verifier {
	f.tb.Helper()
	v, err := newVerifier(cfg, func() time.Time { return testNow })
	if err != nil {
		f.tb.Fatalf("newVerifier(%v): %v", cfg, err)
	}
	return v
}

// claims returns valid claims at testNow, changed by edits.
func claims(edits ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": "alice",
		"iss": testIssuer,
		"aud": testAudience,
		"iat": testNow.Add(-time.Minute).Unix(),
		"nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
	for _, e := range edits {
		e(c)
	}
	return c
}

func set(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }
func del(k string) func(jwt.MapClaims)        { return func(c jwt.MapClaims) { delete(c, k) } }

func sign(tb testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// hs, rs and ed sign valid-by-default claims with the configured keys.
func (f *fixture) hs(edits ...func(jwt.MapClaims)) string {
	return sign(f.tb, jwt.SigningMethodHS256, []byte(testSecret), claims(edits...))
}
func (f *fixture) rs(edits ...func(jwt.MapClaims)) string {
	return sign(f.tb, jwt.SigningMethodRS256, f.rsa, claims(edits...))
}
func (f *fixture) eddsa(edits ...func(jwt.MapClaims)) string {
	return sign(f.tb, jwt.SigningMethodEdDSA, f.ed, claims(edits...))
}

// matchingSentinels returns the verification sentinels err wraps.
func matchingSentinels(err error) []error {
	var out []error
	for _, s := range verifySentinels {
		if errors.Is(err, s) {
			out = append(out, s)
		}
	}
	return out
}
