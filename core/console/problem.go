package console

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/salamhq/salam/wire"
)

// problemTypeBase is core/chat's: one problem vocabulary for all of REST.
const problemTypeBase = "https://salam.dev/problems/"

// problem is the RFC 9457 body of every console API error.
type problem struct {
	Type   string    `json:"type"`
	Title  string    `json:"title"`
	Status int       `json:"status"`
	Detail string    `json:"detail"`
	Code   wire.Code `json:"code"`
}

var problemTitles = map[int]struct{ kind, title string }{
	http.StatusBadRequest:          {"bad_frame", "Invalid request"},
	http.StatusUnauthorized:        {"unauthorized", "Authentication required"},
	http.StatusForbidden:           {"permission_denied", "Permission denied"},
	http.StatusNotFound:            {"not_found", "Not found"},
	http.StatusMethodNotAllowed:    {"method_not_allowed", "Method not allowed"},
	http.StatusServiceUnavailable:  {"unavailable", "Service unavailable"},
	http.StatusInternalServerError: {"internal", "Internal error"},
}

var problemCodes = map[int]wire.Code{
	http.StatusBadRequest:          wire.CodeBadFrame,
	http.StatusUnauthorized:        wire.CodePermissionDenied,
	http.StatusForbidden:           wire.CodePermissionDenied,
	http.StatusNotFound:            wire.CodeBadFrame,
	http.StatusMethodNotAllowed:    wire.CodeBadFrame,
	http.StatusServiceUnavailable:  wire.CodeUnavailable,
	http.StatusInternalServerError: wire.CodeInternal,
}

// writeProblem answers with an RFC 9457 problem.
func writeProblem(w http.ResponseWriter, status int, format string, args ...any) {
	t := problemTitles[status]
	body, _ := json.Marshal(problem{Type: problemTypeBase + t.kind, Title: t.title, Status: status,
		Detail: fmt.Sprintf(format, args...), Code: problemCodes[status]})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeJSON answers 200 with v.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "encode response: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}
