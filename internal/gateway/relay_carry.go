package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/executor"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/router"
)

// carryPlan keeps the plan's targets whose translation can carry req
// (provider.Carrier: a Bedrock deployment takes no image URL, an Anthropic
// or Bedrock one no json_object response format), in order, so that what
// one provider's API cannot say goes to another deployment of the route
// rather than ending the request with that provider's refusal; with none
// left it says why each could not. A cascade is left as it is: it may
// answer from any stage, whose refusal then says what it could not take.
// uncarried maps each deployment dropped to why.
func (rt *runtime) carryPlan(p *executor.Plan, dec router.Decision, d *dialect, req *llm.Request) (uncarried map[string]string, e *apiError) {
	if dec.Cascade != nil || len(p.Targets) == 0 {
		return nil, nil
	}
	var why []string
	// need is the capability every deployment's refusal is about, when it
	// is one (a json_object response format, an image), for the error's
	// param.
	need, common := "", true
	kept := p.Targets[:0]
	for _, t := range p.Targets {
		if c, ok := t.Provider.(provider.Carrier); ok {
			if w := c.Carries(req); w != "" {
				if uncarried == nil {
					uncarried = make(map[string]string)
				}
				uncarried[t.Deployment] = w
				why = append(why, t.Deployment+" ("+w+")")
				n := carriedNeed(w)
				common = common && n != "" && (need == "" || n == need)
				need = n
				continue
			}
		}
		kept = append(kept, t)
	}
	p.Targets = kept
	if len(kept) == 0 {
		e := &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
			message: "model " + strconv.Quote(dec.Route) + " has no deployment that can carry this request: its providers' APIs have no counterpart for what it uses: " +
				strings.Join(why, "; ")}
		if common {
			e.param = d.capabilityParams[need]
		}
		return uncarried, e
	}
	return uncarried, nil
}

// carriedNeed is the capability a provider.Carrier's refusal is about: a
// response format (json_mode) or an image (vision), else "".
func carriedNeed(why string) string {
	switch {
	case strings.HasPrefix(why, "response_format "):
		return config.CapJSONMode
	case strings.Contains(why, "image"):
		return config.CapVision
	}
	return ""
}
