package config

import (
	"errors"
	"strings"
	"testing"
)

// TestMistaggedSecretsAreNeverQuoted: a secret written with a YAML tag that
// does not fit it (master_key: !!int sk-...) is reported by line and tag,
// never quoting the value: yaml.v3's own message ("cannot decode !!str
// `sk-...` as a !!int") holds it whole.
func TestMistaggedSecretsAreNeverQuoted(t *testing.T) {
	const secret = "sk-TAGSECRETCANARY42"
	for _, tag := range []string{"!!int", "!!float", "!!bool", "!!timestamp", "!!null"} {
		t.Run(tag, func(t *testing.T) {
			data := "server:\n  master_key: " + tag + " " + secret + "\n" + validTail
			_, err := Parse([]byte(data), func(string) string { return "" })
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			got := err.Error()
			if want := "line 2: the value is not a valid " + tag + ", as its tag says"; !strings.Contains(got, want) {
				t.Errorf("got %q, want it to contain %q", got, want)
			}
			for _, leak := range []string{secret, "sk-TAGS", "CANARY"} {
				if strings.Contains(got, leak) {
					t.Errorf("got %q, want no part of the value (%q)", got, leak)
				}
			}
		})
	}
}

// TestMistaggedValuesAllReported: every mistagged scalar is reported, in a
// list or as a mapping's key too, and a tag that fits its value is no
// problem.
func TestMistaggedValuesAllReported(t *testing.T) {
	data := "server:\n" +
		"  api_keys: [!!bool sk-one-SECRET]\n" +
		"  max_body_bytes: !!int 1048576\n" +
		"  master_key: !!str 12345\n" +
		"providers:\n" +
		"  - name: p\n" +
		"    kind: openai\n" +
		"    base_url: http://127.0.0.1:1/v1\n" +
		"    headers: {!!int X-Key: !!binary sk-two-SECRET}\n" +
		"deployments: [{name: d, provider: p, model: m}]\n"
	_, err := Parse([]byte(data), func(string) string { return "" })
	if err == nil {
		t.Fatal("got no error")
	}
	got := err.Error()
	for _, want := range []string{
		"line 2: the value is not a valid !!bool",
		"line 9: the value is not a valid !!int",
		"line 9: the value is not a valid !!binary",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "SECRET") || strings.Contains(got, "X-Key") {
		t.Errorf("got %q, want no value quoted", got)
	}
	if n := strings.Count(got, "\n"); n != 3 {
		t.Errorf("got %d problems in %q, want 3 (the fitting tags are fine)", n, got)
	}

	ok := "server:\n  max_body_bytes: !!int 1048576\n  master_key: !!str 12345\n" + validTail
	c, err := Parse([]byte(ok), func(string) string { return "" })
	if err != nil {
		t.Fatalf("fitting tags: %v", err)
	}
	if c.Server.MaxBodyBytes != 1048576 || string(c.Server.MasterKey) != "12345" {
		t.Errorf("got max_body_bytes %d, master_key %q", c.Server.MaxBodyBytes, c.Server.MasterKey)
	}
}

// TestDecodeProblemDropsQuotedValues: whatever yaml.v3 message quotes a
// value between backquotes, with a line or without, loses the value; a
// mapping used as a key is not printed.
func TestDecodeProblemDropsQuotedValues(t *testing.T) {
	tests := []struct{ msg, wantPath, wantMsg string }{
		{"yaml: cannot decode !!str `sk-SECRET\nmore` as a !!int", "", "cannot decode !!str as a !!int"},
		{"line 4: cannot unmarshal !!str `sk-SECR...` into int64", "line 4", "cannot unmarshal !!str into int64"},
		{"line 4: some future message `sk-SECRET", "line 4", "some future message"},
		{`yaml: invalid map key: map[string]interface {}{"k":"sk-SECRET"}`, "", "invalid map key: a mapping or a list cannot be a key"},
		{"line 3: mapping key \"model\" already defined at line 2", "line 3", "mapping key \"model\" already defined at line 2"},
	}
	for _, tt := range tests {
		p := decodeProblem(tt.msg)
		if p.Path != tt.wantPath || p.Msg != tt.wantMsg {
			t.Errorf("decodeProblem(%q) = %q %q, want %q %q", tt.msg, p.Path, p.Msg, tt.wantPath, tt.wantMsg)
		}
		if strings.Contains(p.Msg, "SECR") {
			t.Errorf("decodeProblem(%q) = %q quotes the value", tt.msg, p.Msg)
		}
	}
}
