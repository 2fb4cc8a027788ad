package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TURN credentials in the TURN REST API scheme (draft-uberti-behave-turn-rest,
// coturn's use-auth-secret): the username is "<expiry Unix seconds>:<user>"
// and the credential is base64(HMAC-SHA1(secret, username)). The TURN
// server shares the secret and checks both without calling us.

// MinTURNSecretLen is the shortest TURN shared secret accepted, in bytes.
const MinTURNSecretLen = 16

// MintTURN returns a username and credential for user, valid until now+ttl
// (whole seconds, rounded up).
func MintTURN(secret, user string, ttl time.Duration, now time.Time) (username, credential string, err error) {
	if len(secret) < MinTURNSecretLen {
		return "", "", fmt.Errorf("%w: TURN secret needs at least %d bytes", ErrInvalidArgument, MinTURNSecretLen)
	}
	if err := checkSubject(user); err != nil {
		return "", "", fmt.Errorf("%w: TURN user: %w", ErrInvalidArgument, err)
	}
	if ttl < time.Second {
		return "", "", fmt.Errorf("%w: TURN ttl %v is under 1s", ErrInvalidArgument, ttl)
	}
	expiry := now.Add(ttl + time.Second - 1).Unix()
	username = strconv.FormatInt(expiry, 10) + ":" + user
	return username, TURNCredential(secret, username), nil
}

// TURNCredential is the credential of username: base64(HMAC-SHA1(secret, username)).
func TURNCredential(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CheckTURNUsername returns the user a TURN username was minted for and
// its credential, or ErrExpired past its expiry, ErrMalformed when it is
// not "<expiry>:<user>". A TURN server uses the credential to check the
// client's message integrity.
func CheckTURNUsername(secret, username string, now time.Time) (user, credential string, err error) {
	expiry, user, ok := strings.Cut(username, ":")
	t, perr := strconv.ParseInt(expiry, 10, 64)
	if !ok || perr != nil || user == "" {
		return "", "", fmt.Errorf("%w: TURN username %q", ErrMalformed, username)
	}
	if now.Unix() > t {
		return "", "", fmt.Errorf("%w: TURN username expired at %d", ErrExpired, t)
	}
	return user, TURNCredential(secret, username), nil
}
