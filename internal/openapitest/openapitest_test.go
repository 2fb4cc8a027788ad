package openapitest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what would have failed the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

const doc = `openapi: 3.1.0
paths:
  /v1/things/{id}/parts/{part}:
    get:
      responses:
        "200":
          description: A part.
          content:
            application/json:
              schema:
                type: object
                required: [id]
                properties:
                  id: { type: string }
`

func TestCheckResponseMatchesTemplatedPaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openapi.yaml")
	os.WriteFile(path, []byte(doc), 0o600)
	d := Load(t, path)
	h := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		path, body, wantErr string
	}{
		{"/v1/things/a/parts/b", `{"id":"b"}`, ""},
		{"/v1/things/a/parts/b", `{}`, `required field "id" is missing`},
		{"/v1/things/a/parts/b", `{"id":"b","extra":1}`, `field "extra" is not documented`},
		{"/v1/things/a/parts/b?x=1", `{"id":1}`, "is not a string"},
		{"/v1/things/a/other/b", `{}`, ""}, // not in the document: not checked
	} {
		r := &recorder{TB: t}
		d.CheckResponse(r, "GET", tc.path, 200, h, []byte(tc.body))
		got := strings.Join(r.errs, "; ")
		if (tc.wantErr == "") != (got == "") || !strings.Contains(got, tc.wantErr) {
			t.Errorf("%s %s: errors %q, want %q", tc.path, tc.body, got, tc.wantErr)
		}
	}
}
