package api_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// registeredRoutes returns the "METHOD /path" patterns the package's
// non-test sources register with HandleFunc or Handle, read from the source
// so that the route table is not repeated here. Patterns without a method
// (the /api/ catch-all) are not endpoints and are skipped. Go wildcards are
// turned into OpenAPI path templates: {id...} becomes {id}, {$} is dropped.
func registeredRoutes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// The forward-auth endpoints live on a surface of their own, under
	// /api/v1 and documented here.
	more, err := filepath.Glob("../forwardauth/*.go")
	if err != nil || len(more) == 0 {
		t.Fatalf("forwardauth sources: %v %v", more, err)
	}
	files = append(files, more...)
	methods := map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
	routes := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: route pattern is not a string literal; this test cannot read it", fset.Position(call.Pos()))
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			method, path, ok := strings.Cut(pattern, " ")
			if !ok || !methods[method] {
				return true
			}
			path = strings.ReplaceAll(strings.TrimSpace(path), "{$}", "")
			path = strings.ReplaceAll(path, "...}", "}")
			routes[method+" "+path] = true
			return true
		})
	}
	if len(routes) == 0 {
		t.Fatal("found no routes in the package sources")
	}
	return routes
}

func TestOpenAPIDocument(t *testing.T) {
	e := start(t, "sqlite")
	r := e.call(e.srv.Client(), "GET", "/api/v1/openapi.json", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("the document is not valid JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}

	// Every registered route is documented, and every documented operation
	// is registered: no missing endpoints, no phantom ones.
	paths, _ := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	opMethods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for key := range ops {
			if opMethods[key] {
				documented[strings.ToUpper(key)+" "+path] = true
			}
		}
	}
	routes := registeredRoutes(t)
	for _, rt := range sortedKeys(routes) {
		if !documented[rt] {
			t.Errorf("route %s is registered but not in openapi.json", rt)
		}
	}
	for _, op := range sortedKeys(documented) {
		if !routes[op] {
			t.Errorf("openapi.json documents %s, which is not registered", op)
		}
	}

	// Every operation has responses, errors are problem documents, and
	// 429/503 responses declare Retry-After.
	responses, _ := doc["components"].(map[string]any)["responses"].(map[string]any)
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		for method, v := range ops {
			if !opMethods[method] {
				continue
			}
			op, _ := v.(map[string]any)
			resps, _ := op["responses"].(map[string]any)
			if len(resps) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
			for status, rv := range resps {
				resp, _ := rv.(map[string]any)
				if ref, ok := resp["$ref"].(string); ok {
					resp, _ = responses[strings.TrimPrefix(ref, "#/components/responses/")].(map[string]any)
				}
				n, err := strconv.Atoi(status)
				if err != nil || n < 400 {
					continue
				}
				content, _ := resp["content"].(map[string]any)
				if _, ok := content["application/problem+json"]; !ok || len(content) != 1 {
					t.Errorf("%s %s %s: error response is not only application/problem+json", method, path, status)
				}
				if n == 429 || n == 503 {
					if h, _ := resp["headers"].(map[string]any); h["Retry-After"] == nil {
						t.Errorf("%s %s %s: no Retry-After header", method, path, status)
					}
				}
			}
		}
	}

	// Every $ref resolves inside the document.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && !resolves(doc, ref) {
				t.Errorf("$ref %q does not resolve", ref)
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

// resolves reports whether a local JSON pointer ref ("#/a/b") names a value
// in doc.
func resolves(doc map[string]any, ref string) bool {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
