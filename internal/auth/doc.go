// Package auth decides who a client is.
//
// It owns:
//   - verifying the identity tokens (JWTs) clients present when they open a
//     WebSocket at the edge ([Verifier]), with the signing algorithm pinned by
//     configuration and never taken from the token;
//   - finding the token in a request ([TokenFromRequest]);
//   - the development secret used by the embedded default (`salam up`)
//     ([LoadOrCreateDevSecret]) and minting HS256 tokens for it, for
//     `salam token`, tests and load generators ([MintHS256]);
//   - minting and checking short-lived TURN credentials in the TURN REST
//     API scheme coturn implements ([MintTURN], [CheckTURNUsername]).
//
// It must not import other salam packages (the edge imports auth, not the
// other way round), do network I/O (no JWKS fetching: keys come from local
// files, loaded once by [NewVerifier]), or log. Verification failures are
// returned as errors wrapping one of the sentinels in errors.go; the edge maps
// them to an HTTP 401 reason. The sentinel's own text is safe to show a
// client; the full wrapped text may carry library detail and belongs in logs.
//
// Concurrency: a [Verifier] is immutable after [NewVerifier] returns and is
// safe for concurrent use without locks. [LoadOrCreateDevSecret] is safe to
// call concurrently from goroutines and from separate processes sharing a
// data directory; all callers get the same secret.
package auth
