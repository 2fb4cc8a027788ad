package auth

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MintHS256 signs an HS256 token for user valid for ttl from now: "sub" =
// user, "iat" = "nbf" = now, "exp" = now+ttl (whole seconds), plus "iss" and
// "aud" when non-empty. It is for `salam token`, tests and load generators;
// production tokens come from the application's own backend.
//
// secret must be at least 32 bytes, user must pass the same rules Verify
// applies to "sub", and ttl must be at least one second.
func MintHS256(secret, user string, ttl time.Duration, issuer, audience string) (string, error) {
	return mintHS256(secret, user, ttl, issuer, audience, "", time.Now())
}

// MintAdminHS256 is MintHS256 with the admin role claim ("role": "admin"),
// which opens the operations console. For `salam token --admin` and tests.
func MintAdminHS256(secret, user string, ttl time.Duration, issuer, audience string) (string, error) {
	return mintHS256(secret, user, ttl, issuer, audience, RoleAdmin, time.Now())
}

func mintHS256(secret, user string, ttl time.Duration, issuer, audience, role string, now time.Time) (string, error) {
	if len(secret) < MinSecretLen {
		return "", fmt.Errorf("%w: mint: secret needs at least %d bytes, got %d", ErrInvalidArgument, MinSecretLen, len(secret))
	}
	if err := checkSubject(user); err != nil {
		return "", fmt.Errorf("%w: mint: user: %w", ErrInvalidArgument, err)
	}
	if ttl < time.Second {
		return "", fmt.Errorf("%w: mint: ttl %v is under 1s", ErrInvalidArgument, ttl)
	}
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   user,
		Issuer:    issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}, Role: role}
	if audience != "" {
		claims.Audience = jwt.ClaimStrings{audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
