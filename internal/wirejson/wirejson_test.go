package wirejson

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMarshalKeepsTextAsProvidersWriteIt(t *testing.T) {
	got, err := Marshal(map[string]string{"text": "if a < b && c > d"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"text":"if a < b && c > d"}`; string(got) != want {
		t.Errorf("got %s, want %s (no HTML escapes, no trailing newline)", got, want)
	}
	if _, err := Marshal(func() {}); err == nil {
		t.Error("got no error for a value JSON cannot hold")
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := Write(rec, http.StatusTeapot, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusTeapot || rec.Body.String() != `{"a":1}` ||
		rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Content-Length") != "7" {
		t.Errorf("got %d %q with headers %v, want 418, the body, JSON content type and length 7", rec.Code, rec.Body.String(), rec.Header())
	}
}

func TestDecodeProblem(t *testing.T) {
	type msg struct {
		Content string `json:"content"`
	}
	var in struct {
		Temperature *float64        `json:"temperature"`
		N           *int            `json:"n"`
		Stream      bool            `json:"stream"`
		ToolChoice  *struct{}       `json:"tool_choice"`
		Messages    []msg           `json:"messages"`
		Raw         json.RawMessage `json:"raw"`
	}
	tests := []struct{ body, param, msg string }{
		{`{"temperature":"hot"}`, "temperature", "temperature: must be a number, not string"},
		{`{"n":2.5}`, "n", "n: must be an integer, not number 2.5"},
		{`{"stream":"yes"}`, "stream", "stream: must be a boolean, not string"},
		{`{"tool_choice":"auto"}`, "tool_choice", "tool_choice: must be an object, not string"},
		{`{"messages":{}}`, "messages", "messages: must be an array, not object"},
		{`{"messages":[{"content":1}]}`, "messages.content", "messages.content: must be a string, not number"},
		{`[]`, "", "the request body must be an object, not array"},
	}
	for _, tt := range tests {
		err := json.Unmarshal([]byte(tt.body), &in)
		param, msg := DecodeProblem(err)
		if param != tt.param || msg != tt.msg {
			t.Errorf("%s: got %q %q, want %q %q", tt.body, param, msg, tt.param, tt.msg)
		}
		if strings.Contains(msg, "Go") || strings.Contains(msg, "struct") || strings.Contains(msg, "float64") {
			t.Errorf("%s: message %q names Go types", tt.body, msg)
		}
	}
	if _, msg := DecodeProblem(errors.New("other")); msg != "the request body does not match the API's schema" {
		t.Errorf("got %q for another error", msg)
	}
}
