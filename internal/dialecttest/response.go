package dialecttest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// ResponsePassthrough checks that WriteResponse writes raw, an answer from
// a provider speaking the dialect, verbatim as a 200 JSON response, ignoring
// the answer's canonical fields.
func ResponsePassthrough(t *testing.T, d Dialect, raw string) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := d.WriteResponse(rec, &llm.Response{Dialect: d.Name, Raw: []byte(raw), Text: "ignored"}); err != nil {
		t.Fatalf("WriteResponse: %v", err)
	}
	if got := rec.Body.String(); got != raw {
		t.Errorf("got %s, want the raw body verbatim", got)
	}
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got status %d content type %q, want 200 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// KindCase is a classified upstream failure and the status and code (or
// error type) a client of the dialect sees for it.
type KindCase struct {
	Kind   provider.Kind
	Status int
	Code   string
}

// KindStatuses checks KindStatus for each case.
func KindStatuses(t *testing.T, d Dialect, cases []KindCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Kind.String(), func(t *testing.T) {
			status, code := d.KindStatus(tt.Kind)
			if status != tt.Status || code != tt.Code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.Status, tt.Code)
			}
		})
	}
}

// ErrorCase is an error and the response a client must get for it.
type ErrorCase struct {
	Name       string
	Err        error
	Status     int
	Body       string // exact
	RetryAfter string // the Retry-After header; empty for none
}

// ErrorResponses writes each case's error with WriteErrorFor and checks the
// status, the exact body, the Retry-After header, the JSON content type,
// and that the dialect's SDK decodes the body.
func ErrorResponses(t *testing.T, d Dialect, cases []ErrorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			d.WriteErrorFor(rec, tt.Err)
			if rec.Code != tt.Status || rec.Body.String() != tt.Body || rec.Header().Get("Retry-After") != tt.RetryAfter {
				t.Errorf("got %d %s retry %q, want %d %s retry %q", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"), tt.Status, tt.Body, tt.RetryAfter)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("got content type %q, want application/json", ct)
			}
			if err := d.DecodeError(rec.Body.Bytes()); err != nil {
				t.Errorf("SDK decode: %v", err)
			}
		})
	}
}
