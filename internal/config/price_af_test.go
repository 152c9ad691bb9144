package config

import (
	"strings"
	"testing"
)

// A price is a number from 0 to MaxPrice: a finite but absurd one
// (1.7e308 a million tokens) made a call's cost +Inf, which the cost
// header, the metrics, /admin/usage and its export could not carry (found
// by audit AF).
func TestPriceBounded(t *testing.T) {
	for _, tt := range []struct {
		field, value string
		ok           bool
	}{
		{"input_per_mtok", "1000000", true},
		{"input_per_mtok", "1.7e308", false},
		{"output_per_mtok", "1000001", false},
		{"per_image", ".inf", false},
		{"cached_input_per_mtok", "1e300", false},
		{"audio_output_per_mtok", "-1", false},
	} {
		y := `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: m, price: {` + tt.field + `: ` + tt.value + `}}]
`
		if tt.ok {
			if _, err := Parse([]byte(y), func(string) string { return "" }); err != nil {
				t.Errorf("%s %s: got %v, want ok", tt.field, tt.value, err)
			}
			continue
		}
		if ok, err := problemAt(t, y, "deployments[0].price."+tt.field, "from 0 to 1e+06"); !ok {
			t.Errorf("%s %s: got %v, want refused", tt.field, tt.value, err)
		}
	}
}

// An unquoted value that begins with & is an anchor on nothing: a secret
// written so (master_key: &Xk9...) was read as empty, leaving the gateway
// open, with check saying ok (found by audit AF). It is refused by line,
// without the value; an anchor on a value is fine.
func TestAnchorOnEmptyValueRefused(t *testing.T) {
	y := "server: {master_key: &Xk9secretvalue}\n" + validTail
	_, err := Parse([]byte(y), func(string) string { return "" })
	if ok, _ := problemAt(t, y, "line 1", "quote a value that begins with &"); !ok {
		t.Errorf("got %v, want the anchor on an empty value refused", err)
	}
	if err != nil && strings.Contains(err.Error(), "Xk9secretvalue") {
		t.Errorf("the error %q repeats the value", err)
	}
	fine := `providers: [{name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}]
deployments: [{name: d, provider: p, model: &m sim-small}, {name: e, provider: p, model: *m}]
`
	if _, err := Parse([]byte(fine), func(string) string { return "" }); err != nil {
		t.Errorf("an anchor on a value: got %v, want ok", err)
	}
}
