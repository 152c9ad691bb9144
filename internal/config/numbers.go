package config

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// fractionalInts reports every number with a fraction written where the
// config holds an integer (max_attempts: 0.9, context_window: 8192.5).
// yaml.v3 truncates those silently, turning 0.9 into 0, which then means
// the default; strict decoding refuses them instead. data has decoded
// without a fatal error.
func fractionalInts(data []byte) []Problem {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	var probs []Problem
	wholeNumbers(doc.Content[0], reflect.TypeFor[Config](), "", &probs)
	return probs
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// wholeNumbers walks n as yaml.v3 decodes it into a value of type t,
// adding a problem, by YAML path, for each fractional number that would
// land in an integer. Types that decode themselves (Duration) are theirs
// to check.
func wholeNumbers(n *yaml.Node, t reflect.Type, path string, probs *[]Problem) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var f float64
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && n.Decode(&f) == nil && f != math.Trunc(f) {
			*probs = append(*probs, Problem{Path: path, Msg: fmt.Sprintf("line %d: want a whole number, got %s", n.Line, n.Value)})
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				// <<: *base (or a list of them) merges into this mapping.
				if v.Kind == yaml.SequenceNode {
					for _, m := range v.Content {
						wholeNumbers(m, t, path, probs)
					}
				} else {
					wholeNumbers(v, t, path, probs)
				}
				continue
			}
			if f, ok := yamlField(t, k.Value); ok {
				wholeNumbers(v, f.Type, joinPath(path, k.Value), probs)
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, e := range n.Content {
			wholeNumbers(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			wholeNumbers(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value), probs)
		}
	}
}

// yamlField finds the field of struct type t that the YAML key name
// decodes into, as yaml.v3 names fields: by the yaml tag, else the
// lower-cased field name.
func yamlField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" {
			key = strings.ToLower(f.Name)
		}
		if key == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
