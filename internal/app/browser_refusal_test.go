package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// TestOpenGatewayRefusesBrowsers: a gateway that takes requests without a
// key refuses what only a web page could send it, so a page cannot spend
// its provider accounts: a keyless request from a page of another origin
// (a form or text/plain fetch needs no preflight), and a keyless request
// to a Host that is not an IP address or localhost (DNS rebinding); the
// same request from its own origin, or at 127.0.0.1 or localhost, is
// served. A gateway with keys is left alone (found by audit H).
func TestOpenGatewayRefusesBrowsers(t *testing.T) {
	s := startStack(t, fastSim(), "")
	body := `{"model":"small","messages":[{"role":"user","content":"hi"}]}`
	send := func(host string, hdr ...string) (int, string) {
		req, err := http.NewRequest("POST", s.base+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if host != "" {
			req.Host = host
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	before := s.callCount("sim-small")
	port := s.base[strings.LastIndex(s.base, ":"):]
	for _, tt := range []struct {
		name, host, origin string
		want               int
		code               string
	}{
		{"another origin", "", "http://evil.example", 403, "origin_not_allowed"},
		{"a rebound name", "evil.example" + port, "", 403, "host_not_allowed"},
		{"a rebound name, same origin", "evil.example" + port, "http://evil.example" + port, 403, "host_not_allowed"},
		{"its own origin", "", s.base, 200, ""},
		{"localhost", "localhost" + port, "", 200, ""},
		{"no origin", "", "", 200, ""},
	} {
		var hdr []string
		if tt.origin != "" {
			hdr = []string{"Origin", tt.origin}
		}
		code, out := send(tt.host, hdr...)
		if code != tt.want || (tt.code != "" && gjson.Get(out, "error.code").Str != tt.code) {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, code, out, tt.want, tt.code)
		}
	}
	if got := s.callCount("sim-small") - before; got != 3 {
		t.Errorf("the simulator saw %d calls, want the 3 served", got)
	}

	keyed := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := keyed.newKey("acme", admin.KeyCreate{})
	if code, out, _ := keyed.send("/v1/chat/completions", body, "Authorization", "Bearer "+k.Secret, "Origin", "http://evil.example"); code != 200 {
		t.Errorf("a gateway with keys, a keyed request from another origin: got %d %s, want 200", code, out)
	}
}
