package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryFieldDocumented: every YAML field of the config appears in
// docs/config.md, by its name in code quotes (`name`, `parent.name`, or
// `{name, ...}` in a field list) or as a key of a YAML example.
func TestEveryFieldDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	spans := regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(doc, -1)
	inSpan := func(name string) bool {
		word := regexp.MustCompile(`(^|[^a-z_])` + regexp.QuoteMeta(name) + `($|[^a-z_])`)
		for _, sp := range spans {
			if word.MatchString(sp[1]) {
				return true
			}
		}
		return false
	}
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			full := strings.TrimPrefix(path+"."+name, ".")
			documented := inSpan(name) ||
				regexp.MustCompile(`(?m)^\s*(- )?\{?[^#\n]*\b`+regexp.QuoteMeta(name)+`:`).MatchString(doc)
			if !documented {
				t.Errorf("config field %s (%s.%s) is not in docs/config.md", full, typ.Name(), f.Name)
			}
			walk(f.Type, full)
		}
	}
	walk(reflect.TypeFor[Config](), "")
}
