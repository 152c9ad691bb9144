package app

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// canaryForms are the ways a secret could leak: itself and its SHA-256 as
// hex, base64 (how encoding/json prints a []byte) and a Go byte array.
func canaryForms(secret string) []string {
	h := auth.Hash(secret)
	return []string{secret, fmt.Sprintf("%x", h), base64.StdEncoding.EncodeToString(h[:]), fmt.Sprint(h)}
}

// TestCanarySecretsNeverLeak drives the gateway and the admin API with
// canary secrets (provider key, admin key, virtual keys, a wrong key a
// client sent, prompt text) and checks that none appears in any response
// (except the one create or rotate answer that hands a secret out), log
// line, usage record or metric.
func TestCanarySecretsNeverLeak(t *testing.T) {
	simURL := startSim(t, sim.DefaultConfig())
	extra := sqliteExtra(t, "")
	s := startTenantStack(t, simURL, extra)
	const wrongKey = "sk-sy-client-typo-canary-41d2"
	const prompt = "prompt-canary-88e0 do not log me"

	// Admin responses: everything except the secret's own create/rotate
	// answer is checked for every secret.
	var responses []string
	adminCall := func(method, path string, body any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.admin+path, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+canaryAdmin)
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatalf("admin %s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	adminCall("POST", "/admin/tenants", admin.TenantCreate{ID: "acme"})
	var k, ta, rotated admin.KeyView
	_, created := adminCall("POST", "/admin/keys", admin.KeyCreate{TenantID: "acme", Name: "svc"})
	json.Unmarshal([]byte(created), &k)
	_, created = adminCall("POST", "/admin/keys", admin.KeyCreate{TenantID: "acme", Role: "tenant_admin"})
	json.Unmarshal([]byte(created), &ta)
	if k.Secret == "" || ta.Secret == "" {
		t.Fatalf("got keys %+v %+v, want secrets in the create answers", k, ta)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/keys"}, {"GET", "/admin/keys?tenant_id=acme"}, {"GET", "/admin/keys/" + k.ID},
		{"GET", "/admin/tenants"}, {"GET", "/admin/tenants/acme"}, {"GET", "/admin/whoami"},
	} {
		code, body := adminCall(c.method, c.path, nil)
		if code != 200 {
			t.Errorf("%s %s: got %d %s, want 200", c.method, c.path, code, body)
		}
		responses = append(responses, body)
	}
	var list struct{ Keys []map[string]any }
	_, body := adminCall("GET", "/admin/keys", nil)
	json.Unmarshal([]byte(body), &list)
	for _, kv := range list.Keys {
		for _, field := range []string{"secret", "hash", "Hash", "Secret"} {
			if _, ok := kv[field]; ok {
				t.Errorf("got field %q in a listed key, want neither secret nor hash", field)
			}
		}
	}

	// Gateway traffic: served, streamed, refused, unknown key.
	chatBody := fmt.Sprintf(`{"model":"cheap","max_tokens":20,"messages":[{"role":"user","content":%q}]}`, prompt)
	streamBody := strings.Replace(chatBody, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)
	for _, c := range []struct {
		key, body string
		want      int
	}{
		{k.Secret, chatBody, 200}, {k.Secret, streamBody, 200}, {ta.Secret, chatBody, 200},
		{wrongKey, chatBody, 401}, {canaryAdmin, chatBody, 401}, {canaryProvider, chatBody, 401},
	} {
		code, b, h := chat(s.hc, s.base, c.key, c.body)
		if code != c.want {
			t.Errorf("got %d %s, want %d", code, b, c.want)
		}
		hdr, _ := json.Marshal(h)
		responses = append(responses, b, string(hdr))
	}
	_, rot := adminCall("POST", "/admin/keys/"+k.ID+"/rotate", nil)
	json.Unmarshal([]byte(rot), &rotated)
	_, revoked := adminCall("POST", "/admin/keys/"+rotated.ID+"/revoke", nil)
	responses = append(responses, revoked)
	code, usage := adminCall("GET", "/admin/usage?group_by=tenant,key,route,deployment,model", nil)
	_, export := adminCall("GET", "/admin/usage/export?format=csv", nil)
	responses = append(responses, usage, export)
	if code != 200 {
		t.Errorf("usage: got %d, want 200", code)
	}
	waitForT(t, "usage records", func() bool { return strings.Contains(s.scrape(), "switchyard_usage_records_written_total 6") },
		func() string { return "not all 6 written" })
	metrics := s.scrape()
	s.stop()
	st := storeOf(t, extra)
	recs, _ := json.Marshal(usageRecords(t, st))

	secrets := map[string]string{"provider key": canaryProvider, "admin key": canaryAdmin, "virtual key": k.Secret,
		"tenant admin key": ta.Secret, "rotated key": rotated.Secret, "wrong key": wrongKey}
	sinks := map[string]string{"admin and gateway responses": strings.Join(responses, "\n"),
		"logs": s.logs.String(), "usage records": string(recs), "metrics": metrics}
	for sink, text := range sinks {
		for name, secret := range secrets {
			for _, form := range canaryForms(secret) {
				if strings.Contains(text, form) {
					t.Errorf("got the %s (%.10s...) in the %s, want it nowhere", name, form, sink)
				}
			}
		}
		if sink != "admin and gateway responses" && strings.Contains(text, "prompt-canary") {
			t.Errorf("got prompt text in the %s, want it nowhere", sink)
		}
	}
	if !strings.Contains(metrics, "switchyard_requests_total") || !strings.Contains(metrics, "switchyard_usage_records_enqueued_total") {
		t.Errorf("got /metrics without the gateway's and the ledger's metrics; the scrape checked nothing")
	}
}
