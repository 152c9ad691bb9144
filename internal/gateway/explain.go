package gateway

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/router"
)

// ServeExplain serves POST /v1/route/explain: the body is an OpenAI chat
// request; the answer is the routing decision as JSON (router.Explanation)
// with its reasons, made without calling any model. A request that cannot
// be routed gets 404 (unknown model) or 400 (no capable deployment) with
// the same JSON and its error field set.
func (g *Gateway) ServeExplain(w http.ResponseWriter, r *http.Request) {
	rt := g.rt.Load()
	if rt == nil {
		openaiapi.WriteError(w, http.StatusServiceUnavailable, "not_ready", "the gateway has no configuration loaded")
		return
	}
	who, err := rt.guard.Authenticate(r.Context(), r.Header)
	if err != nil {
		var d *Denied
		if !errors.As(err, &d) {
			d = &Denied{Status: http.StatusServiceUnavailable, Code: "auth_unavailable", Message: "the gateway could not check the API key"}
		}
		openaiapi.WriteError(w, d.Status, d.Code, d.Message)
		return
	}
	body, e := readBody(w, r, rt.cfg.Server.MaxBodyBytes)
	if e != nil {
		openaiapi.WriteError(w, e.status, e.code, e.message)
		return
	}
	req, err := openaiapi.ParseChat(body)
	if err != nil {
		openaiapi.WriteErrorFor(w, err)
		return
	}
	dec, err := rt.router.Explain(r.Context(), req, router.Info{Tier: who.Tier, TenantID: who.TenantID, KeyID: who.KeyID, Headers: r.Header})
	status := http.StatusOK
	if err != nil {
		status = routeError(err).status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(dec.Explain(err))
}
