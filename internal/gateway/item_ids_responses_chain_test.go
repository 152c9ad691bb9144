package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestTranslatedResponseChainKeepsItemIDs: the input items of a chain of
// translated responses keep their ids wherever they are listed: the
// user's first message has the id it had under the first response, and
// the first answer the id of its output item; an upstream is never sent
// those ids.
func TestTranslatedResponseChainKeepsItemIDs(t *testing.T) {
	url := anthropicGateway(t, &recs{}, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"id"`) {
			t.Errorf("upstream got item ids: %s", body)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`)
	})
	get := func(path string) gjson.Result {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return gjson.ParseBytes(b)
	}
	post := func(body string) gjson.Result {
		t.Helper()
		resp, err := http.Post(url+"/v1/responses", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("POST: %d %s", resp.StatusCode, b)
		}
		return gjson.ParseBytes(b)
	}
	ids := func(id string) []string {
		var out []string
		for _, it := range get("/v1/responses/" + id + "/input_items?order=asc").Get("data").Array() {
			out = append(out, it.Get("id").Str)
		}
		return out
	}

	r1 := post(`{"model":"auto","input":"T1"}`)
	in1, out1 := ids(r1.Get("id").Str), r1.Get("output.0.id").Str
	if len(in1) != 1 || out1 == "" {
		t.Fatalf("first: input item ids %v, output id %q", in1, out1)
	}
	r2 := post(`{"model":"auto","input":"T2","previous_response_id":"` + r1.Get("id").Str + `"}`)
	in2 := ids(r2.Get("id").Str)
	if len(in2) != 3 || in2[0] != in1[0] || in2[1] != out1 || in2[2] == in1[0] || in2[2] == out1 {
		t.Fatalf("second: input item ids %v, want [%s %s <new>]", in2, in1[0], out1)
	}
	r3 := post(`{"model":"auto","input":[{"role":"user","content":"T3","id":"msg_client"}],"previous_response_id":"` + r2.Get("id").Str + `"}`)
	in3 := ids(r3.Get("id").Str)
	want := strings.Join(append(in2, r2.Get("output.0.id").Str, "msg_client"), ",")
	if strings.Join(in3, ",") != want {
		t.Errorf("third: input item ids %v, want %s", in3, want)
	}
	if got := get("/v1/responses/" + r1.Get("id").Str + "/input_items").Get("data.0.id").Str; got != in1[0] {
		t.Errorf("first again: %q, want %q", got, in1[0])
	}
}
