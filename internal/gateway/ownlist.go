package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/reqid"
)

// The list endpoints of objects kept at an upstream account the tenants
// share (videos, stored chat completions) must tell a tenant nothing of
// the others' objects: not their ids, not whether any match a filter. So
// the gateway never relays the upstream page as it is. It reads upstream
// pages of maxUpstreamPage objects itself, from the client's after (which
// must be an object of the client's tenant), keeps only the tenant's own,
// and stops once it holds one more than the client's limit (has_more is
// then true: another object of the tenant's follows), or the upstream
// list ends (has_more false), or after maxListPages pages. first_id and
// last_id are the first and last object returned, and the cursors the
// gateway passes upstream on its own (other tenants' ids) never go out.
const (
	// maxListPages bounds the upstream pages one list request reads. A
	// tenant whose next object lies behind more of other tenants' objects
	// than these pages hold gets has_more true with what was found, maybe
	// nothing: the only thing the bound can tell is that the upstream
	// list is that long.
	maxListPages = 10
	// maxUpstreamPage is the limit of each upstream page (OpenAI's
	// largest).
	maxUpstreamPage = 100
	// defaultListLimit is the page size when the client names none.
	defaultListLimit = 20
)

// ownList is a list endpoint of a shared upstream account.
type ownList struct {
	op       string // upstream path, "videos"
	what     string // of an object, for messages: "video"
	maxBytes int64  // bound of one upstream page
	// filter reports whether a query parameter other than limit, after
	// and order is relayed upstream as it is (model, metadata[k]).
	filter func(param string) bool
	// mine reports whether the object with id is the caller's; an error
	// when the store cannot tell.
	mine func(ctx context.Context, id string) (bool, error)
}

// listPage is OpenAI's cursor page.
type listPage struct {
	Object  string            `json:"object"`
	Data    []json.RawMessage `json:"data"`
	FirstID *string           `json:"first_id"`
	LastID  *string           `json:"last_id"`
	HasMore bool              `json:"has_more"`
}

// serveOwnList answers list l of deployment name (d, f) with only the
// caller's objects, paged as the comment above says. A store failure is a
// 503, never a short list.
func (g *Gateway) serveOwnList(w http.ResponseWriter, r *http.Request, x *exchange, name string, d *deployment, f forwarder, l ownList) {
	ctx := r.Context()
	limit, up, after, ae := l.query(ctx, r.URL.Query())
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	out := listPage{Object: "list", Data: []json.RawMessage{}}
	cursor := after
	for pages := 0; ; pages++ {
		if pages == maxListPages {
			out.HasMore = true
			break
		}
		if cursor != "" {
			up.Set("after", cursor)
		}
		raw, status, err := fetch(ctx, d, f, http.MethodGet, l.op, up.Encode(), nil, l.maxBytes)
		if err != nil && pages > 0 {
			// The upstream's message may name the cursor, another
			// tenant's object (deleted since the last page).
			g.log.Warn("list page failed", "request_id", reqid.From(ctx), "op", l.op, "err", err)
			err = &provider.Error{Kind: provider.KindUnavailable, Status: http.StatusBadGateway,
				Message: "the upstream " + l.what + " list failed while it was read; try again"}
		}
		if err != nil {
			g.failErr(w, x, err)
			return
		}
		page := gjson.ParseBytes(raw)
		data := page.Get("data")
		if !data.IsArray() {
			g.failErr(w, x, &provider.Error{Kind: provider.KindUnavailable, Status: status, Message: l.what + " list without data"})
			return
		}
		items := data.Array()
		for _, v := range items {
			ok, err := l.mine(ctx, v.Get("id").Str)
			if err != nil {
				g.fail(w, x, errResponseStore)
				return
			}
			if ok {
				out.Data = append(out.Data, json.RawMessage(v.Raw))
			}
			if len(out.Data) > limit {
				break
			}
		}
		if len(out.Data) > limit {
			out.Data, out.HasMore = out.Data[:limit], true
			break
		}
		if len(items) == 0 || !page.Get("has_more").Bool() {
			break
		}
		cursor = items[len(items)-1].Get("id").Str
	}
	if n := len(out.Data); n > 0 {
		first, last := gjson.GetBytes(out.Data[0], "id").Str, gjson.GetBytes(out.Data[n-1], "id").Str
		out.FirstID, out.LastID = &first, &last
	}
	b, err := json.Marshal(out)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	x.status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(HeaderDeployment, name)
	_, _ = w.Write(b)
}

// query reads the client's list query: its limit, the upstream query
// (order and the filters, limit maxUpstreamPage) and its after, which
// must name an object of the caller's: another tenant's is the same 400
// as one that does not exist, and is never sent upstream. A parameter
// the list does not take (before among them) is a 400, not dropped.
func (l ownList) query(ctx context.Context, q url.Values) (int, url.Values, string, *apiError) {
	bad := func(param, msg string) *apiError {
		return &apiError{status: http.StatusBadRequest, code: "invalid_request_error", anthropicType: "invalid_request_error",
			message: "invalid " + param + ": " + msg}
	}
	limit := defaultListLimit
	up := url.Values{"limit": {strconv.Itoa(maxUpstreamPage)}}
	for k, vs := range q {
		switch {
		case k == "limit":
			n, err := strconv.Atoi(q.Get(k))
			if err != nil || n < 1 || n > maxUpstreamPage {
				return 0, nil, "", bad("limit", "want an integer from 1 to 100")
			}
			limit = n
		case k == "after":
		case k == "order" || l.filter(k):
			up[k] = vs
		default:
			return 0, nil, "", bad(truncate(k, 100), "the "+l.what+" list takes no such parameter")
		}
	}
	after := q.Get("after")
	if after == "" {
		return limit, up, "", nil
	}
	ok, err := l.mine(ctx, after)
	switch {
	case err != nil:
		return 0, nil, "", errResponseStore
	case !ok:
		return 0, nil, "", bad("after", "no "+l.what+" "+strconv.Quote(truncate(after, 100))+" of this API key's tenant")
	}
	return limit, up, after, nil
}

// metadataFilter reports whether param is a metadata[key] filter.
func metadataFilter(param string) bool {
	return strings.HasPrefix(param, "metadata[") && strings.HasSuffix(param, "]")
}
