// Package openapitest checks a REST API against its OpenAPI 3.1 document,
// for tests: the document lists exactly the routes the API serves, every
// operation documents the errors any route can answer, and every response a
// test receives is documented (status, content type, and a body valid
// against the schema, no undocumented field).
//
// It reads the subset of JSON Schema the documents use (type, enum,
// required, properties, additionalProperties, items, format date-time,
// local $ref) and is stricter than JSON Schema on purpose: an object may
// hold only documented properties, so nothing the server sends goes
// undocumented.
package openapitest

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
	"testing"

	"go.yaml.in/yaml/v3"
)

// Doc is a parsed OpenAPI document.
type Doc struct{ root map[string]any }

// Load parses the document at path.
func Load(t testing.TB, path string) *Doc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("%s: openapi version %q, want 3.1.x", path, v)
	}
	return &Doc{root: root}
}

func obj(n any) map[string]any { m, _ := n.(map[string]any); return m }
func list(n any) []any         { s, _ := n.([]any); return s }

// deref follows local $refs ("#/components/…") until it reaches a value.
func (d *Doc) deref(t testing.TB, n any) map[string]any {
	t.Helper()
	m := obj(n)
	for ref, ok := m["$ref"].(string); ok; ref, ok = m["$ref"].(string) {
		path, local := strings.CutPrefix(ref, "#/")
		if !local {
			t.Fatalf("openapi: non-local $ref %q", ref)
		}
		var cur any = d.root
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

// operations returns the document's operations by "METHOD /path".
func (d *Doc) operations() map[string]map[string]any {
	out := map[string]map[string]any{}
	for path, item := range obj(d.root["paths"]) {
		for method, op := range obj(item) {
			if slices.Contains(httpMethods, method) {
				out[strings.ToUpper(method)+" "+path] = obj(op)
			}
		}
	}
	return out
}

// CheckRoutes fails t unless the document's operations are exactly routes,
// each "METHOD /path" as the API's ServeMux patterns write them.
func (d *Doc) CheckRoutes(t *testing.T, routes []string) {
	t.Helper()
	ops := d.operations()
	for _, r := range routes {
		if ops[r] == nil {
			t.Errorf("route %s is not documented", r)
		}
	}
	for op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("the document has %s, which the API does not serve", op)
		}
	}
}

var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

// CheckErrors checks every operation for an operationId (unique), a
// summary, a success response, and the errors every route can answer: 401
// without a token, 503 and 504 when a store fails, 400 with query
// parameters or a body, 413 and 415 with a body, 404 with an {id} in the
// path; every error must be a Problem (#/components/schemas/Problem, which
// must require type, title, status, detail and code), and a request body
// schema must refuse unknown fields.
func (d *Doc) CheckErrors(t *testing.T) {
	problem := d.deref(t, obj(obj(d.root["components"])["schemas"])["Problem"])
	for _, field := range []string{"type", "title", "status", "detail", "code"} {
		if !slices.Contains(list(problem["required"]), any(field)) {
			t.Errorf("Problem schema does not require %q", field)
		}
	}
	ids := map[string]bool{}
	for key, op := range d.operations() {
		_, path, _ := strings.Cut(key, " ")
		t.Run(key, func(t *testing.T) {
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("operationId %q missing or not unique", id)
			}
			ids[id] = true
			if op["summary"] == nil {
				t.Error("no summary")
			}
			want := []string{"401", "503", "504"}
			responses := obj(op["responses"])
			success := false
			for status, resp := range responses {
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("response %q: want a status code", status)
					continue
				}
				success = success || code < 300
				r := d.deref(t, resp)
				if r["description"] == nil {
					t.Errorf("response %s has no description", status)
				}
				if code >= 400 && obj(obj(obj(r["content"])["application/problem+json"])["schema"])["$ref"] != "#/components/schemas/Problem" {
					t.Errorf("error response %s is not an application/problem+json Problem", status)
				}
			}
			if !success {
				t.Error("no success response")
			}
			if body := d.deref(t, op["requestBody"]); body != nil {
				want = append(want, "400", "413", "415")
				if d.deref(t, obj(obj(body["content"])["application/json"])["schema"])["additionalProperties"] != false {
					t.Error("request body schema allows unknown fields, which the API refuses")
				}
			}
			params := map[string]string{} // name → in
			for _, p := range append(slices.Clone(list(obj(obj(d.root["paths"])[path])["parameters"])), list(op["parameters"])...) {
				p := d.deref(t, p)
				params[p["name"].(string)] = p["in"].(string)
				if p["in"] == "query" {
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
					t.Errorf("%s does not document its %s response", key, status)
				}
			}
		})
	}
}

// CheckResponse fails t unless the response to method and path is
// documented: its status, its content type and a body valid against the
// schema. Paths the document does not have (404 and 405 from outside the
// route table) are not checked.
func (d *Doc) CheckResponse(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	path, _, _ = strings.Cut(path, "?")
	var op map[string]any
	for template, item := range obj(d.root["paths"]) {
		if templateRE(template).MatchString(path) && obj(item)[strings.ToLower(method)] != nil {
			op = obj(obj(item)[strings.ToLower(method)])
		}
	}
	if op == nil {
		return
	}
	resp := d.deref(t, obj(op["responses"])[strconv.Itoa(status)])
	if resp == nil {
		t.Errorf("openapi: %s %s does not document status %d (body %s)", method, path, status, body)
		return
	}
	if len(body) == 0 {
		if resp["content"] != nil {
			t.Errorf("%s %s: %d without a body, but the document gives one", method, path, status)
		}
		return
	}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	media := obj(obj(resp["content"])[ct])
	if media == nil {
		t.Errorf("openapi: %s %s %d does not document content type %q", method, path, status, ct)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s %s: response body %q: %v", method, path, body, err)
		return
	}
	if err := d.validate(t, media["schema"], v, "body"); err != nil {
		t.Errorf("%s %s %d: response does not match the document: %v\n%s", method, path, status, err, body)
	}
}

// templateRE matches the concrete paths of an OpenAPI path template. The
// literal parts are quoted one by one: quoting the whole template first
// would escape the braces that mark its parameters.
func templateRE(template string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range templateParam.FindAllStringIndex(template, -1) {
		b.WriteString(regexp.QuoteMeta(template[last:m[0]]))
		b.WriteString("[^/]+")
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(template[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// timeRE is the documented time format: RFC 3339, UTC, milliseconds.
var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func (d *Doc) validate(t testing.TB, schemaNode, v any, at string) error {
	schema := d.deref(t, schemaNode)
	if schema == nil {
		return nil
	}
	if enum := list(schema["enum"]); enum != nil && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
	}
	switch typ, _ := schema["type"].(string); typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: %v is not a string", at, v)
		}
		if schema["format"] == "date-time" && !timeRE.MatchString(s) {
			return fmt.Errorf("%s: %q is not an RFC 3339 UTC time with milliseconds", at, s)
		}
	case "integer":
		if n, ok := v.(json.Number); !ok || !isInt(n) {
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
			if err := d.validate(t, schema["items"], item, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %v is not an object", at, v)
		}
		for _, req := range list(schema["required"]) {
			if _, ok := m[req.(string)]; !ok {
				return fmt.Errorf("%s: required field %q is missing", at, req)
			}
		}
		for k, fv := range m {
			sub, documented := obj(schema["properties"])[k]
			if !documented {
				extra, ok := schema["additionalProperties"].(map[string]any)
				if !ok {
					return fmt.Errorf("%s: field %q is not documented", at, k)
				}
				sub = extra
			}
			if err := d.validate(t, sub, fv, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func isInt(n json.Number) bool { _, err := n.Int64(); return err == nil }
