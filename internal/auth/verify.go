package auth

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the verified facts about a token's holder.
type Claims struct {
	UserID    string    // the "sub" claim: non-empty, ≤ 128 bytes, no control characters
	ExpiresAt time.Time // the "exp" claim; always set
	IssuedAt  time.Time // the "iat" claim; zero when the token has none
	// Admin is true when the "role" claim is "admin" (RoleAdmin): the
	// holder may use the operations console (core/console). Any other
	// value, or none, is an ordinary user.
	Admin bool
}

// RoleAdmin is the value of the "role" claim that grants the operations
// console.
const RoleAdmin = "admin"

// tokenClaims are the registered claims plus Salam's own.
type tokenClaims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
}

// Verifier checks tokens against one Config. It is immutable after
// NewVerifier and safe for concurrent use.
type Verifier struct {
	alg      string
	issuer   string
	audience string
	parser   *jwt.Parser // built once; jwt.Parser is read-only while parsing
	keyFunc  jwt.Keyfunc // returns the one configured key, whatever the token says
}

// NewVerifier validates cfg (after EnsureDefaults), loads the key once and
// builds the parser. Errors wrap ErrInvalidConfig.
func NewVerifier(cfg Config) (*Verifier, error) {
	return newVerifier(cfg, nil)
}

// newVerifier is NewVerifier with a clock for tests; nil means time.Now.
func newVerifier(cfg Config, now func() time.Time) (*Verifier, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var key any
	if cfg.Algorithm == AlgHS256 {
		key = []byte(cfg.Secret)
	} else {
		k, err := loadPublicKey(cfg.PublicKeyFile, cfg.Algorithm)
		if err != nil {
			return nil, err
		}
		key = k
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithStrictDecoding(), // one encoding per signature: no malleable trailing bits
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if now != nil {
		opts = append(opts, jwt.WithTimeFunc(now))
	}
	return &Verifier{
		alg:      cfg.Algorithm,
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		parser:   jwt.NewParser(opts...),
		keyFunc:  func(*jwt.Token) (any, error) { return key, nil },
	}, nil
}

// Verify checks token's signature with the pinned algorithm and key, then its
// claims: "exp" is required, "nbf" and "iat" must not be in the future (all
// with the configured leeway), "iss" and "aud" must match when configured,
// and "sub" must be a valid user ID. The error wraps one of the verification
// sentinels in errors.go.
func (v *Verifier) Verify(token string) (Claims, error) {
	if token == "" {
		return Claims{}, ErrMissingToken
	}
	if len(token) > MaxTokenLen {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	var tc tokenClaims
	tok, err := v.parser.ParseWithClaims(token, &tc, v.keyFunc)
	rc := &tc.RegisteredClaims
	if err != nil {
		return Claims{}, v.classify(tok, rc, err)
	}
	if _, ok := tok.Header["crit"]; ok {
		// RFC 7515 §4.1.11: extensions we do not understand must be rejected.
		return Claims{}, fmt.Errorf("%w: unsupported \"crit\" header", ErrMalformed)
	}
	if err := checkSubject(rc.Subject); err != nil {
		return Claims{}, err
	}
	c := Claims{UserID: rc.Subject, ExpiresAt: rc.ExpiresAt.Time, Admin: tc.Role == RoleAdmin}
	if rc.IssuedAt != nil {
		c.IssuedAt = rc.IssuedAt.Time
	}
	return c, nil
}

// classify maps a jwt error to our sentinel, keeping the jwt error in the
// chain. rc is only trusted when the signature verified, i.e. when err is a
// claims error.
func (v *Verifier) classify(tok *jwt.Token, rc *jwt.RegisteredClaims, err error) error {
	var ours error
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		ours = ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// "alg" missing, not a string, or unknown to the library.
		ours = ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// WithValidMethods reports a foreign "alg" as a signature error.
		if tok != nil && tok.Method != nil && tok.Method.Alg() != v.alg {
			ours = ErrAlgorithm
		} else {
			ours = ErrBadSignature
		}
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		ours = v.classifyClaims(rc, err)
	default:
		ours = ErrMalformed
	}
	return fmt.Errorf("%w: %w", ours, err)
}

// classifyClaims picks one sentinel when several claims failed at once.
func (v *Verifier) classifyClaims(rc *jwt.RegisteredClaims, err error) error {
	switch {
	case rc.ExpiresAt == nil:
		return ErrNoExpiry
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	case v.issuer != "" && rc.Issuer != v.issuer:
		return ErrIssuer
	case v.audience != "" && !slices.Contains(rc.Audience, v.audience):
		return ErrAudience
	}
	return ErrMalformed
}

// checkSubject enforces the user-ID rules on a "sub" value.
func checkSubject(sub string) error {
	if sub == "" {
		return ErrNoSubject
	}
	if len(sub) > MaxSubjectLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadSubject, MaxSubjectLen)
	}
	if !utf8.ValidString(sub) {
		return fmt.Errorf("%w: not UTF-8", ErrBadSubject)
	}
	for _, r := range sub {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: control character %U", ErrBadSubject, r)
		}
	}
	return nil
}
