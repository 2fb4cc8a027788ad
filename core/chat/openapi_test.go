package chat_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/internal/openapitest"
)

// apiDoc is openapi.yaml, parsed once for every response the tests check.
var (
	apiDocOnce sync.Once
	apiDoc     *openapitest.Doc
)

func doc(t testing.TB) *openapitest.Doc {
	apiDocOnce.Do(func() { apiDoc = openapitest.Load(t, "openapi.yaml") })
	return apiDoc
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc(t).CheckRoutes(t, chat.APIRoutes())
}

func TestOpenAPIDocumentsErrors(t *testing.T) {
	doc(t).CheckErrors(t)
}

// checkDocumented fails t unless openapi.yaml documents the response.
func checkDocumented(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	doc(t).CheckResponse(t, method, path, status, header, body)
}
