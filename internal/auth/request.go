package auth

import (
	"net/url"
	"strings"
)

// TokenFromRequest returns the token from an "Authorization: Bearer <t>"
// header value (scheme case-insensitive) or, failing that, from the first
// "token" parameter of rawQuery (URL-unescaped). It returns "" when neither
// holds one; Verify then reports ErrMissingToken. Inputs are plain strings so
// the edge can call it without net/http objects.
//
// Browsers cannot set headers on a WebSocket handshake, hence the query
// parameter; note that query strings tend to end up in access logs.
func TokenFromRequest(authorization string, rawQuery string) string {
	if t := bearer(authorization); t != "" {
		return t
	}
	return queryToken(rawQuery)
}

func bearer(h string) string {
	h = strings.TrimSpace(h)
	const scheme = "bearer"
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return ""
	}
	if c := h[len(scheme)]; c != ' ' && c != '\t' {
		return "" // e.g. "Bearerx"
	}
	return strings.TrimSpace(h[len(scheme):])
}

// queryToken scans rawQuery without building a url.Values map.
func queryToken(rawQuery string) string {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, value, _ := strings.Cut(pair, "=")
		if key != "token" {
			if !strings.ContainsAny(key, "%+") {
				continue
			}
			if k, err := url.QueryUnescape(key); err != nil || k != "token" {
				continue
			}
		}
		v, err := url.QueryUnescape(value)
		if err != nil {
			return ""
		}
		return v
	}
	return ""
}
