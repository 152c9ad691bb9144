package batch

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestErrorsSayWhatIsWrongInTheAPIsTerms: a body or input line of the
// wrong shape is described by its fields and JSON types, never by the
// gateway's Go type names (batch.inputLine, createRequest).
func TestErrorsSayWhatIsWrongInTheAPIsTerms(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	base := f.apiServer(t)
	goNames := []string{"Go ", "batch.", "createRequest", "inputLine", "msgBatchRequest", "json: "}
	check := func(what, msg string) {
		t.Helper()
		for _, n := range goNames {
			if strings.Contains(msg, n) {
				t.Errorf("%s: message %q names %q", what, msg, n)
			}
		}
	}
	for _, tt := range []struct {
		path, body, param, says string
	}{
		{"/v1/batches", `[1]`, "", "must be a JSON object, not array"},
		{"/v1/batches", `{"input_file_id":5}`, "input_file_id", "input_file_id: must be a string, not number"},
		{"/v1/batches", `{"metadata":[]}`, "metadata", "metadata: must be an object"},
		{"/v1/batches", `{"input_file_id":`, "", "not valid JSON"},
		{"/v1/messages/batches", `{"requests":"x"}`, "", "requests: must be an array"},
		// Invalid UTF-8 in one request refuses the batch, as the Messages
		// API refuses the request (audit AS, AS2).
		{"/v1/messages/batches", "{\"requests\":[{\"custom_id\":\"a\",\"params\":{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"caf\xe9\"}]}}]}", "", "requests.0.params: is not valid JSON: it must be UTF-8"},
	} {
		code, res := call(t, "POST", base+tt.path, "application/json", tt.body)
		msg := res.Get("error.message").String()
		if code != http.StatusBadRequest || !strings.Contains(msg, tt.says) || tt.path == "/v1/batches" && res.Get("error.param").String() != tt.param {
			t.Errorf("POST %s %s: %d %s, want 400 saying %q with param %q", tt.path, tt.body, code, res.Raw, tt.says, tt.param)
		}
		check("POST "+tt.path+" "+tt.body, msg)
	}
	r := NewRunner(RunnerOptions{})
	for _, tt := range []struct{ line, says string }{
		{`[1]`, "line must be a JSON object, not array"},
		{`{"custom_id":5,"method":"POST","url":"/v1/embeddings","body":{}}`, "custom_id: must be a string, not number"},
		{`{"custom_id":`, "line is not valid JSON"},
	} {
		_, problems := r.parse([]byte(tt.line), "/v1/embeddings")
		if len(problems) != 1 || !strings.Contains(problems[0].Message, tt.says) {
			t.Errorf("line %s: problems %+v, want one saying %q", tt.line, problems, tt.says)
			continue
		}
		check("line "+tt.line, problems[0].Message)
	}
}

// TestCreateRefusesTrailingData: a batch request with more than
// whitespace after its JSON object is a 400, as the gateway's other
// endpoints answer it, not a batch made from the first object.
func TestCreateRefusesTrailingData(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	base := f.apiServer(t)
	req := `{"input_file_id":"file-in","endpoint":"/v1/embeddings","completion_window":"24h"}`
	msg := `{"requests":[{"custom_id":"a","params":{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}}]}`
	for _, tt := range []struct{ path, body string }{
		{"/v1/batches", req + `{"input_file_id":"other"}`},
		{"/v1/batches", req + ` junk`},
		{"/v1/messages/batches", msg + `]`},
	} {
		if code, res := call(t, "POST", base+tt.path, "application/json", tt.body); code != http.StatusBadRequest || !strings.Contains(res.Get("error.message").String(), "more after its JSON object") {
			t.Errorf("POST %s %s: %d %s, want 400", tt.path, tt.body, code, res.Raw)
		}
	}
	for _, tt := range []struct{ path, body string }{{"/v1/batches", req + " \r\n\t"}, {"/v1/messages/batches", msg + "\n"}} {
		if code, res := call(t, "POST", base+tt.path, "application/json", tt.body); code != http.StatusOK {
			t.Errorf("POST %s with trailing whitespace: %d %s, want 200", tt.path, code, res.Raw)
		}
	}
}

// TestErrorsNameTheirParam: an error about one request field names it in
// error.param, as OpenAI's API does.
func TestErrorsNameTheirParam(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	base := f.apiServer(t)
	batch := func(fields string) string {
		return `{"input_file_id":"file-in","endpoint":"/v1/embeddings","completion_window":"24h"` + fields + `}`
	}
	for _, tt := range []struct {
		method, path, body string
		status             int
		param              string
	}{
		{"GET", "/v1/files?limit=0", "", 400, "limit"},
		{"GET", "/v1/batches?limit=x", "", 400, "limit"},
		{"GET", "/v1/batches?order=newest", "", 400, "order"},
		{"POST", "/v1/batches", `{"endpoint":"/v1/embeddings","completion_window":"24h"}`, 400, "input_file_id"},
		{"POST", "/v1/batches", batch(`,"endpoint":"/v1/nope"`), 400, "endpoint"},
		{"POST", "/v1/batches", batch(`,"completion_window":"1h"`), 400, "completion_window"},
		{"POST", "/v1/batches", batch(`,"metadata":{"k":"` + strings.Repeat("v", 513) + `"}`), 400, "metadata"},
		{"POST", "/v1/batches", batch(`,"input_file_id":"file-nope"`), 404, "input_file_id"},
	} {
		code, res := call(t, tt.method, base+tt.path, "application/json", tt.body)
		if code != tt.status || res.Get("error.param").String() != tt.param {
			t.Errorf("%s %s %.80s: %d %s, want %d with param %s", tt.method, tt.path, tt.body, code, res.Raw, tt.status, tt.param)
		}
	}
	code, res := upload(t, base, [2]string{"purpose", "fine-tune"})
	if code != 400 || res.Get("error.param").String() != "purpose" {
		t.Errorf("upload with purpose fine-tune: %d %s, want 400 with param purpose", code, res.Raw)
	}
}
