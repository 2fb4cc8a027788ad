package main

import (
	"net/http"

	"github.com/rs/cors"

	"github.com/salamhq/salam/edge"
)

// restCORS lets browser apps on the allowed origins call the REST API. One
// list, edge.allowed_origins, governs WebSocket upgrades and REST alike
// (empty: any origin). Tokens travel in the Authorization header, never in
// cookies, so credentials are not allowed and every cross-origin call with
// a token is preflighted; a refused origin gets no CORS headers, which the
// browser enforces.
func restCORS(origins []string, next http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowOriginFunc: func(origin string) bool { return edge.OriginAllowed(origins, origin) },
		AllowedMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders:  []string{"Authorization", "Content-Type"},
		ExposedHeaders:  []string{"Location"},
		MaxAge:          600,
	}).Handler(next)
}
