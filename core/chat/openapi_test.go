package chat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/salamhq/salam/core/chat"
)

// node is a decoded YAML or JSON value: map[string]any, []any, string,
// bool, number or nil.
type node = any

// loadSpec parses openapi.yaml once for every test of the package.
var loadSpec = sync.OnceValues(func() (map[string]any, error) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return doc, nil
})

func spec(t testing.TB) map[string]any {
	t.Helper()
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func obj(n node) map[string]any { m, _ := n.(map[string]any); return m }

// deref follows a local $ref ("#/components/…") until it reaches a value.
func deref(t testing.TB, n node) map[string]any {
	t.Helper()
	m := obj(n)
	for ref, ok := m["$ref"].(string); ok; ref, ok = m["$ref"].(string) {
		path, found := strings.CutPrefix(ref, "#/")
		if !found {
			t.Fatalf("openapi: non-local $ref %q", ref)
		}
		var cur node = spec(t)
		for _, seg := range strings.Split(path, "/") {
			cur = obj(cur)[seg]
		}
		if cur == nil {
			t.Fatalf("openapi: $ref %q resolves to nothing", ref)
		}
		m = obj(cur)
	}
	return m
}

var httpMethods = []string{"get", "put", "post", "patch", "delete", "head", "options", "trace"}

// operations lists the doc's operations as "METHOD /path".
func operations(t testing.TB) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for path, item := range obj(spec(t)["paths"]) {
		for method, op := range obj(item) {
			if slices.Contains(httpMethods, method) {
				out[strings.ToUpper(method)+" "+path] = obj(op)
			}
		}
	}
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := spec(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi version %q, want 3.1.x", v)
	}
	var documented []string
	for k := range operations(t) {
		documented = append(documented, k)
	}
	registered := chat.APIRoutes()
	slices.Sort(documented)
	slices.Sort(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.yaml documents %s, which the API does not serve", d)
		}
	}
}

var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIDocumentsErrors checks every operation for what every route
// can answer: 401 without a token, 503 and 504 when the store fails, 400,
// 413 and 415 for a body, 404 for a channel in the path, 400 for query
// parameters; and that every error is a Problem.
func TestOpenAPIDocumentsErrors(t *testing.T) {
	problem := deref(t, obj(obj(spec(t)["components"])["schemas"])["Problem"])
	for _, field := range []string{"type", "title", "status", "detail", "code"} {
		if !slices.Contains(problem["required"].([]any), node(field)) {
			t.Errorf("Problem schema does not require %q", field)
		}
	}
	ids := map[string]bool{}
	for key, op := range operations(t) {
		method, path, _ := strings.Cut(key, " ")
		t.Run(key, func(t *testing.T) {
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("operationId %q missing or not unique", id)
			}
			ids[id] = true
			if op["summary"] == nil {
				t.Error("no summary")
			}
			responses := obj(op["responses"])
			want := []string{"401", "503", "504"}
			success := false
			for status, resp := range responses {
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("response %q: want a status code", status)
					continue
				}
				success = success || code < 300
				r := deref(t, resp)
				if r["description"] == nil {
					t.Errorf("response %s has no description", status)
				}
				if code >= 400 {
					schema := obj(obj(obj(r["content"])["application/problem+json"])["schema"])
					if schema["$ref"] != "#/components/schemas/Problem" {
						t.Errorf("error response %s is not an application/problem+json Problem", status)
					}
				}
			}
			if !success {
				t.Error("no success response")
			}
			if body := deref(t, op["requestBody"]); body != nil {
				want = append(want, "400", "413", "415")
				schema := deref(t, obj(obj(body["content"])["application/json"])["schema"])
				if schema["additionalProperties"] != false {
					t.Error("request body schema allows unknown fields, which the API refuses")
				}
			}
			params := map[string]string{} // name → in
			for _, p := range append(slices.Clone(sliceOf(obj(obj(spec(t)["paths"])[path])["parameters"])), sliceOf(op["parameters"])...) {
				p := deref(t, p)
				params[p["name"].(string)] = p["in"].(string)
				if p["in"] == "query" && !slices.Contains(want, "400") {
					want = append(want, "400")
				}
			}
			for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
				if params[m[1]] != "path" {
					t.Errorf("path parameter {%s} is not declared", m[1])
				}
				if m[1] == "id" {
					want = append(want, "404")
				}
			}
			for name, in := range params {
				if in == "path" && !strings.Contains(path, "{"+name+"}") {
					t.Errorf("path parameter %q is not in the path", name)
				}
			}
			for _, status := range want {
				if responses[status] == nil {
					t.Errorf("%s %s does not document its %s response", method, path, status)
				}
			}
		})
	}
}

func sliceOf(n node) []any { s, _ := n.([]any); return s }

// templateRE turns an OpenAPI path template into a regexp matching
// concrete (escaped) paths.
func templateRE(template string) *regexp.Regexp {
	return regexp.MustCompile("^" + templateParam.ReplaceAllString(regexp.QuoteMeta(template), `[^/]+`) + "$")
}

// checkDocumented fails t unless the response to method and path is
// documented in openapi.yaml: its status, its content type and a body
// valid against the schema, every field of which must be documented.
// Responses from outside the route table (404, 405) are not checked.
func checkDocumented(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	path, _, _ = strings.Cut(path, "?")
	var op map[string]any
	for template, item := range obj(spec(t)["paths"]) {
		if templateRE(template).MatchString(path) && obj(item)[strings.ToLower(method)] != nil {
			op = obj(obj(item)[strings.ToLower(method)])
		}
	}
	if op == nil {
		return
	}
	resp := deref(t, obj(op["responses"])[strconv.Itoa(status)])
	if resp == nil {
		t.Errorf("openapi.yaml: %s %s does not document status %d (body %s)", method, path, status, body)
		return
	}
	if len(body) == 0 {
		if resp["content"] != nil {
			t.Errorf("%s %s: %d without a body, but the doc gives one", method, path, status)
		}
		return
	}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	media := obj(obj(resp["content"])[ct])
	if media == nil {
		t.Errorf("openapi.yaml: %s %s %d does not document content type %q", method, path, status, ct)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v node
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s %s: response body %q: %v", method, path, body, err)
		return
	}
	if err := validate(t, media["schema"], v, "body"); err != nil {
		t.Errorf("%s %s %d: response does not match openapi.yaml: %v\n%s", method, path, status, err, body)
	}
}

// apiTimeRE is the documented time format: RFC 3339, UTC, milliseconds.
var apiTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// validate checks v against the subset of JSON Schema the doc uses. It is
// stricter than JSON Schema on purpose: an object may only hold documented
// properties (unless additionalProperties is a schema), so that nothing the
// server sends goes undocumented.
func validate(t testing.TB, schemaNode node, v node, at string) error {
	schema := deref(t, schemaNode)
	if schema == nil {
		return nil
	}
	if enum := sliceOf(schema["enum"]); enum != nil && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	switch typ, _ := schema["type"].(string); typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %v is not a string", at, v)
		}
		if schema["format"] == "date-time" && !apiTimeRE.MatchString(s) {
			return fmt.Errorf("%s: %q is not an RFC 3339 UTC time with milliseconds", at, s)
		}
	case "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return fmt.Errorf("%s: %v is not an integer", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %v is not a boolean", at, v)
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %v is not an array", at, v)
		}
		for i, item := range items {
			if err := validate(t, schema["items"], item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %v is not an object", at, v)
		}
		for _, req := range sliceOf(schema["required"]) {
			if _, ok := m[req.(string)]; !ok {
				return fmt.Errorf("%s: required field %q is missing", at, req)
			}
		}
		props := obj(schema["properties"])
		for k, fv := range m {
			sub, documented := props[k]
			if !documented {
				extra, ok := schema["additionalProperties"].(map[string]any)
				if !ok {
					return fmt.Errorf("%s: field %q is not documented", at, k)
				}
				sub = extra
			}
			if err := validate(t, sub, fv, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}
