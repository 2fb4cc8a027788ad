package auth

import (
	"fmt"
	"time"
)

// Signing algorithms a [Config] may pin.
const (
	AlgHS256 = "HS256" // HMAC-SHA256 with a shared secret
	AlgRS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RSA key ≥ 2048 bits
	AlgEdDSA = "EdDSA" // Ed25519
)

// Limits and defaults.
const (
	DefaultLeeway = 5 * time.Second // used when Config.Leeway is zero
	MaxLeeway     = time.Minute     // largest Config.Leeway accepted
	MinSecretLen  = 32              // bytes; shorter HS256 secrets are rejected
	MaxTokenLen   = 8 << 10         // bytes; longer tokens are rejected unparsed
	MaxSubjectLen = 128             // bytes of the "sub" claim
	minRSAKeyBits = 2048
)

// Config of token verification. The zero value of every field has the
// meaning documented on it; [Config.EnsureDefaults] fills those in.
type Config struct {
	// Algorithm is the only signing algorithm accepted: "HS256", "RS256" or
	// "EdDSA" (case-sensitive, as in the JWT "alg" header). It is never
	// taken from the token. Empty means "HS256".
	Algorithm string `yaml:"algorithm"`

	// Secret is the HS256 shared secret; its bytes are used as-is (a hex
	// string is not decoded). Required, at least 32 bytes, when Algorithm
	// is HS256; must be empty otherwise.
	Secret string `yaml:"secret"`

	// PublicKeyFile is a PEM file holding the verification key for RS256 or
	// EdDSA: a PKIX "PUBLIC KEY", a PKCS#1 "RSA PUBLIC KEY" or a
	// "CERTIFICATE" (only its key is used; its validity dates are not
	// checked). Read once by NewVerifier. Required for RS256 and EdDSA; must
	// be empty for HS256.
	PublicKeyFile string `yaml:"public_key_file"`

	// Issuer, when set, must equal the token's "iss" claim. Empty means
	// "iss" is not checked.
	Issuer string `yaml:"issuer"`

	// Audience, when set, must be one of the token's "aud" values. Empty
	// means "aud" is not checked.
	Audience string `yaml:"audience"`

	// Leeway is the clock skew tolerated on "exp", "nbf" and "iat". Zero
	// means 5s (DefaultLeeway); at most 1m (MaxLeeway); negative is invalid.
	Leeway time.Duration `yaml:"leeway"`
}

// EnsureDefaults replaces zero values with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.Algorithm == "" {
		c.Algorithm = AlgHS256
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
}

// Validate reports the first invalid field, by its YAML name, in an error
// wrapping ErrInvalidConfig. Zero values that have defaults are valid. It does
// not read PublicKeyFile; NewVerifier does.
func (c *Config) Validate() error {
	alg := c.Algorithm
	if alg == "" {
		alg = AlgHS256
	}
	switch alg {
	case AlgHS256:
		if len(c.Secret) < MinSecretLen {
			return fmt.Errorf("%w: secret: HS256 needs at least %d bytes, got %d",
				ErrInvalidConfig, MinSecretLen, len(c.Secret))
		}
		if c.PublicKeyFile != "" {
			return fmt.Errorf("%w: public_key_file: not used with HS256; set algorithm to RS256 or EdDSA, or remove it",
				ErrInvalidConfig)
		}
	case AlgRS256, AlgEdDSA:
		if c.PublicKeyFile == "" {
			return fmt.Errorf("%w: public_key_file: required for %s", ErrInvalidConfig, alg)
		}
		if c.Secret != "" {
			return fmt.Errorf("%w: secret: not used with %s; remove it", ErrInvalidConfig, alg)
		}
	default:
		return fmt.Errorf("%w: algorithm: %q is not one of HS256, RS256, EdDSA", ErrInvalidConfig, c.Algorithm)
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		return fmt.Errorf("%w: leeway: %v is outside [0, %v]", ErrInvalidConfig, c.Leeway, MaxLeeway)
	}
	return nil
}

// String describes c without the secret, so a logged Config leaks nothing.
func (c Config) String() string {
	secret := "unset"
	if c.Secret != "" {
		secret = "redacted"
	}
	return fmt.Sprintf("{algorithm:%s secret:%s public_key_file:%q issuer:%q audience:%q leeway:%v}",
		c.Algorithm, secret, c.PublicKeyFile, c.Issuer, c.Audience, c.Leeway)
}
