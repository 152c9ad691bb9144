package gateway_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/gateway"
)

// TestRecordedCostIsRounded: a request's usage record carries its cost
// rounded to 1e-10 USD, the value X-Switchyard-Cost shows, not the float
// sum of its parts (at 0.15 and 0.6 USD per million tokens, 7 input and
// 10 output tokens cost 0.000007049999999999999 in float arithmetic).
func TestRecordedCostIsRounded(t *testing.T) {
	simURL := startInstantSim(t)
	rec := &recs{}
	conf := strings.ReplaceAll(gwConfig, "{{SIM}}", simURL)
	conf = strings.Replace(conf, "model: sim-medium}", "model: sim-medium, price: {input_per_mtok: 0.15, output_per_mtok: 0.6}}", 1)
	url := gw(t, conf, rec)
	for i, text := range []string{"hello", "how long is a rail", "what does a signal box do, briefly"} {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"medium","messages":[{"role":"user","content":"`+text+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		clocktest.WaitFor(t, "the request's usage record", func() bool { return len(rec.all()) > i })
		r := rec.all()[i]
		// The exact cost, in units of 1e-10 USD: 1500 per input token, 6000 per output token.
		units := int64(r.InputTokens)*1500 + int64(r.OutputTokens)*6000
		want := strings.TrimRight(strings.TrimRight(strconv.FormatInt(units/1e10, 10)+"."+pad10(units%1e10), "0"), ".")
		if got := strconv.FormatFloat(r.CostUSD, 'f', -1, 64); got != want {
			t.Errorf("request %d (%d in, %d out): recorded cost %s, want %s", i, r.InputTokens, r.OutputTokens, got, want)
		}
		if h := resp.Header.Get(gateway.HeaderCost); h != want {
			t.Errorf("request %d: %s %s, want %s", i, gateway.HeaderCost, h, want)
		}
	}
}

// pad10 is n with leading zeros to ten digits.
func pad10(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 10-len(s)) + s
}
