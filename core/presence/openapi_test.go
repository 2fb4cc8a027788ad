package presence_test

import (
	"testing"

	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/internal/openapitest"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	openapitest.Load(t, "openapi.yaml").CheckRoutes(t, presence.APIRoutes())
}

func TestOpenAPIDocumentsErrors(t *testing.T) {
	openapitest.Load(t, "openapi.yaml").CheckErrors(t)
}
