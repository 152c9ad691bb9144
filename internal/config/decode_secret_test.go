package config

import (
	"strings"
	"testing"
)

// TestTypeErrorsNeverQuoteTheValue: a secret written with the wrong YAML
// shape (a scalar where a list or a map of secrets goes) is a type error
// naming its line and the wanted type, and no part of the value is
// printed: yaml.v3 quotes the scalar's first characters.
func TestTypeErrorsNeverQuoteTheValue(t *testing.T) {
	const secret = "Zq9xLmPk4Rt7Wv2Ys"
	tests := []struct {
		name, yaml, want string
	}{
		{name: "api_keys without brackets", yaml: "server:\n  api_keys: " + secret + "\n" + validTail,
			want: "line 2: cannot unmarshal !!str into []config.Secret"},
		{name: "headers as a scalar", yaml: "providers:\n  - name: p\n    kind: openai\n    base_url: http://127.0.0.1:1/v1\n    headers: " + secret + "\n" +
			"deployments: [{name: d, provider: p, model: m}]\n",
			want: "line 5: cannot unmarshal !!str into map[string]config.Secret"},
		{name: "a short value with a line break", yaml: "server:\n  api_keys: |\n    Zq9\n    xL\n" + validTail,
			want: "line 2: cannot unmarshal !!str into []config.Secret"},
		{name: "an integer field", yaml: "server:\n  max_body_bytes: " + secret + "\n" + validTail,
			want: "line 2: cannot unmarshal !!str into int64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), func(string) string { return "" })
			if err == nil {
				t.Fatal("got no error, want a type error")
			}
			got := err.Error()
			if !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
			for _, leak := range []string{secret[:7], "Zq9", "xL"} {
				if strings.Contains(got, leak) {
					t.Errorf("got %q, want no part of the value (%q)", got, leak)
				}
			}
		})
	}
}
