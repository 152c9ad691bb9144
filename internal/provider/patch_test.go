package provider

import (
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

func TestSetMembers(t *testing.T) {
	merge := func(old []byte) ([]byte, error) { return sjson.SetBytes(old, "include_usage", true) }
	stream := []Member{
		{Key: "model", Raw: []byte(`"up"`)},
		{Key: "stream", Raw: []byte(`true`)},
		{Key: "stream_options", Raw: []byte(`{"include_usage":true}`), Merge: merge},
	}
	tests := []struct {
		name, body string
		set        []Member
		want       string
	}{
		{"replace keeps spacing and unknown fields", `{ "model" : "auto", "x": {"model":"inner"} , "messages":[] }`,
			stream[:1], `{ "model" : "up", "x": {"model":"inner"} , "messages":[] }`},
		{"append to a non-empty object", `{"messages":[]}`, stream,
			`{"messages":[],"model":"up","stream":true,"stream_options":{"include_usage":true}}`},
		{"append to an empty object", ` {} `, stream[:2], ` {"model":"up","stream":true} `},
		{"every duplicate replaced", `{"model":"a","n":1,"model":"b"}`, stream[:1], `{"model":"up","n":1,"model":"up"}`},
		{"escaped key is the same key", `{"mod\u0065l":"gpt-4"}`, stream[:1], `{"mod\u0065l":"up"}`},
		{"merge into the client's object", `{"model":"a","stream":false,"stream_options":{"x":1}}`, stream,
			`{"model":"up","stream":true,"stream_options":{"x":1,"include_usage":true}}`},
		{"non-object value replaced", `{"stream_options":null,"model":"a"}`, stream,
			`{"stream_options":{"include_usage":true},"model":"up","stream":true}`},
		{"key inside a string is not a key", `{"content":"\"model\":\"x\""}`, stream[:1], `{"content":"\"model\":\"x\"","model":"up"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SetMembers([]byte(tt.body), tt.set...)
			if !ok || string(got) != tt.want {
				t.Errorf("SetMembers(%s) = %s, %v; want %s", tt.body, got, ok, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `"x"`, `null`} {
		if _, ok := SetMembers([]byte(bad), stream...); ok {
			t.Errorf("SetMembers(%q): ok, want not an object", bad)
		}
	}
}

func FuzzSetMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"model":"a","stream":true}`, `{"a":[1,{"model":2}],"model":null}`, `{"model"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, ok := SetMembers(body, Member{Key: "model", Raw: []byte(`"up"`)}, Member{Key: "stream", Raw: []byte(`true`)})
		if !ok || !gjson.ValidBytes(body) {
			return // malformed input: no panic is all that is asked
		}
		if !gjson.ValidBytes(out) || gjson.GetBytes(out, "model").String() != "up" || !gjson.GetBytes(out, "stream").Bool() {
			t.Fatalf("%q -> %q: want valid JSON with model up and stream true", body, out)
		}
	})
}
