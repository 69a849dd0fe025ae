package problem

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// notDomain are the packages under internal/ whose errors never reach a
// person through a flow: the surfaces and this package, wiring, operator
// commands and configuration (refused at start), test helpers, and the
// delivery providers, whose failures reach the flows as delivery.Error.
// Every other package is domain, new ones included.
var notDomain = map[string]bool{
	"api": true, "web": true, "problem": true,
	"app": true, "admin": true, "config": true, "loadtest": true,
	"testenv": true, "browsertest": true,
	"delivery/outbox": true, "delivery/smtp": true, "delivery/twilio": true, "delivery/webhook": true,
}

// TestEveryDomainErrorHasARule reads the domain packages' source for
// exported error variables (Err…) and exported types with an Error method,
// and fails for each that no rule in this package names: a new error must
// be given its status, code and words (or be marked internal) before it
// can reach a surface.
func TestEveryDomainErrorHasARule(t *testing.T) {
	named := namedByRules(t)
	errs := domainErrors(t)
	if len(errs) < 30 {
		t.Fatalf("found %d domain errors; the scan missed some", len(errs))
	}
	for _, e := range errs {
		if !named[e.name] && !named[e.aliasOf] {
			t.Errorf("%s has no rule in internal/problem/rules.go: give it a status, a code and a message, or mark it internal", e)
		}
	}
}

// domainError is an exported error, as "twostep/internal/pkg.Name".
type domainError struct {
	name string
	// aliasOf is the error it is another name for (var ErrBusy =
	// password.ErrBusy), if it is one; a rule may name either.
	aliasOf string
}

func (e domainError) String() string { return e.name }

// domainErrors are the exported errors of the domain packages.
func domainErrors(t *testing.T) []domainError {
	t.Helper()
	var out []domainError
	err := filepath.WalkDir("..", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || dir == ".." {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(dir, "../"))
		if notDomain[rel] {
			return filepath.SkipDir
		}
		out = append(out, packageErrors(t, dir, "twostep/internal/"+rel)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// packageErrors lists one package's exported error variables and error
// types.
func packageErrors(t *testing.T, dir, path string) []domainError {
	t.Helper()
	files := parseDir(t, dir)
	var out []domainError
	for _, f := range files {
		imports := importNames(f)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					v := s.(*ast.ValueSpec)
					for i, n := range v.Names {
						if !n.IsExported() || !strings.HasPrefix(n.Name, "Err") {
							continue
						}
						e := domainError{name: path + "." + n.Name}
						if i < len(v.Values) {
							e.aliasOf = qualified(imports, v.Values[i])
						}
						out = append(out, e)
					}
				}
			case *ast.FuncDecl:
				// func (e *T) Error() string, or (e T).
				if d.Recv == nil || d.Name.Name != "Error" || len(d.Type.Params.List) != 0 {
					continue
				}
				typ := d.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
					out = append(out, domainError{name: path + "." + id.Name})
				}
			}
		}
	}
	return out
}

// namedByRules is every "path.Name" this package's code refers to.
func namedByRules(t *testing.T) map[string]bool {
	t.Helper()
	named := map[string]bool{}
	for _, f := range parseDir(t, ".") {
		imports := importNames(f)
		ast.Inspect(f, func(n ast.Node) bool {
			if q := qualified(imports, n); q != "" {
				named[q] = true
			}
			return true
		})
	}
	return named
}

// importNames maps the names a file imports packages under to their paths.
func importNames(f *ast.File) map[string]string {
	imports := map[string]string{}
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = path
	}
	return imports
}

// qualified is "path.Name" for an expression pkg.Name, or "".
func qualified(imports map[string]string, n ast.Node) string {
	sel, ok := n.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || imports[x.Name] == "" {
		return ""
	}
	return imports[x.Name] + "." + sel.Sel.Name
}

// parseDir parses a directory's Go files, tests left out.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}
