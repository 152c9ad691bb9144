package router

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// checkSchema validates a cascade answer against the request's
// response_format json_schema. It decodes the request body (only cascade
// routes with a schema check pay for that) and supports the JSON Schema
// keywords structured outputs use: type, properties, required,
// additionalProperties false, items, enum. A request without a schema
// passes.
func checkSchema(req *llm.Request, answer string) (bool, string) {
	body, err := req.Body()
	if err != nil || len(body.ResponseFormat) == 0 {
		return true, ""
	}
	var rf struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if json.Unmarshal(body.ResponseFormat, &rf) != nil || rf.Type != "json_schema" || len(rf.JSONSchema.Schema) == 0 {
		if rf.Type == "json_object" && !json.Valid([]byte(stripFence(answer))) {
			return false, "answer is not valid JSON"
		}
		return true, ""
	}
	var schema map[string]any
	if json.Unmarshal(rf.JSONSchema.Schema, &schema) != nil {
		return true, ""
	}
	var v any
	if err := json.Unmarshal([]byte(stripFence(answer)), &v); err != nil {
		return false, "answer is not valid JSON"
	}
	if err := validate(schema, v, "$"); err != nil {
		return false, "answer does not match the schema: " + err.Error()
	}
	return true, ""
}

func validate(schema map[string]any, v any, at string) error {
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s is not one of the enum values", at)
		}
	}
	if t, ok := schema["type"]; ok && !typeMatches(t, v) {
		return fmt.Errorf("%s is not of type %v", at, t)
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); name != "" {
					if _, ok := x[name]; !ok {
						return fmt.Errorf("%s.%s is required", at, name)
					}
				}
			}
		}
		for k, val := range x {
			sub, ok := props[k].(map[string]any)
			if !ok {
				if ap, isBool := schema["additionalProperties"].(bool); isBool && !ap {
					return fmt.Errorf("%s.%s is not allowed", at, k)
				}
				continue
			}
			if err := validate(sub, val, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range x {
				if err := validate(items, it, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func typeMatches(t any, v any) bool {
	switch tt := t.(type) {
	case []any:
		for _, one := range tt {
			if typeMatches(one, v) {
				return true
			}
		}
		return false
	case string:
		switch strings.ToLower(tt) {
		case "object":
			_, ok := v.(map[string]any)
			return ok
		case "array":
			_, ok := v.([]any)
			return ok
		case "string":
			_, ok := v.(string)
			return ok
		case "number":
			_, ok := v.(float64)
			return ok
		case "integer":
			f, ok := v.(float64)
			return ok && f == float64(int64(f))
		case "boolean":
			_, ok := v.(bool)
			return ok
		case "null":
			return v == nil
		}
	}
	return true
}
