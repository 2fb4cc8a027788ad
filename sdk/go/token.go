package salam

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// TokenProvider returns a JWT for the next connection (see Config.Token).
// It is called from the client's connecting goroutine; an error is retried
// with backoff.
type TokenProvider func(ctx context.Context) (string, error)

// StaticToken is a TokenProvider that always returns token.
func StaticToken(token string) TokenProvider {
	return func(context.Context) (string, error) { return token, nil }
}

// refreshBefore: a token this close to its expiry is replaced before a
// connection uses it.
const refreshBefore = 10 * time.Second

// tokenExpiry reads the exp claim of a JWT without verifying it (the server
// does that); zero when there is none.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(claims.Exp), 0)
}
