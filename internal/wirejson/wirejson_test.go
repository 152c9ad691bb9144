package wirejson

import (
	"net/http"
	"net/http/httptest"
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
