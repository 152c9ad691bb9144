// Package feedback serves POST /v1/feedback, where a client reports how
// good an answer was, by the request id the gateway gave it
// (X-Request-Id). Feedback on requests whose routing text a route
// captured (capture_prompts) becomes training data for a learned router
// (switchyard route export).
package feedback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Path is the endpoint's path.
const Path = "/v1/feedback"

// maxBody bounds a feedback body.
const maxBody = 4 << 10

// Authenticator checks a request's API key and admits it against the
// key's and tenant's rate limits, as the gateway's endpoints do
// (gateway.Guard), but not against their budgets: a rating costs nothing,
// so a spent budget does not refuse it (*tenancy.Guard implements it).
type Authenticator interface {
	Authenticate(ctx context.Context, h http.Header) (*gateway.Principal, error)
	AdmitRate(ctx context.Context, p *gateway.Principal) (gateway.Admission, error)
}

// Options wire the endpoint.
type Options struct {
	Store  store.LearningStore
	Auth   Authenticator
	Now    func() time.Time // default time.Now
	Logger *slog.Logger
}

// API serves POST Path and counts what it did (Collector).
type API struct {
	o       Options
	results *prometheus.CounterVec
}

// New returns the endpoint: a body {"request_id": "req_…", "quality": q}
// with q in [0,1] records q for that request of the caller's tenant (a
// later report replaces an earlier one) and answers
// {"object": "feedback", "request_id": …, "quality": q}.
func New(o Options) *API {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{o: o, results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_feedback_total",
		Help: "Ratings sent to POST /v1/feedback, by result: stored, refused (bad request, key or limit), failed (the store failed)."},
		[]string{"result"})}
	for _, r := range []string{resultStored, resultRefused, resultFailed} {
		a.results.WithLabelValues(r) // every result shows, at 0 until it happens
	}
	return a
}

// The results a rating is counted under.
const (
	resultStored  = "stored"
	resultRefused = "refused"
	resultFailed  = "failed"
)

// Collector exports switchyard_feedback_total.
func (a *API) Collector() prometheus.Collector { return a.results }

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.results.WithLabelValues(a.serve(w, r)).Inc()
}

// serve handles one rating and says how it ended.
func (a *API) serve(w http.ResponseWriter, r *http.Request) (result string) {
	o := a.o
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		if gateway.AnthropicClient(r) {
			anthropicapi.WriteError(w, http.StatusMethodNotAllowed, "invalid_request_error", "use POST "+Path)
		} else {
			openaiapi.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST "+Path)
		}
		return resultRefused
	}
	who, err := o.Auth.Authenticate(r.Context(), r.Header)
	if err != nil {
		return denied(w, err)
	}
	var in struct {
		RequestID string   `json:"request_id"`
		Quality   *float64 `json:"quality"`
	}
	body, e := readBody(w, r)
	if e != nil {
		openaiapi.WriteError(w, e.status, e.code, e.msg)
		return resultRefused
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		openaiapi.WriteError(w, http.StatusBadRequest, "invalid_request_error", "the body must be a JSON object {\"request_id\": ..., \"quality\": 0..1} of at most 4 KiB")
		return resultRefused
	}
	switch {
	case !reqid.Plain(in.RequestID):
		openaiapi.WriteError(w, http.StatusBadRequest, "invalid_request_error", "request_id must be the id of a request (its X-Request-Id)")
		return resultRefused
	case in.Quality == nil || math.IsNaN(*in.Quality) || *in.Quality < 0 || *in.Quality > 1:
		openaiapi.WriteError(w, http.StatusBadRequest, "invalid_request_error", "quality must be a number from 0 (bad) to 1 (good)")
		return resultRefused
	}
	// A valid rating counts as a request against the rate limits; it
	// costs nothing, so no budget is asked.
	adm, err := o.Auth.AdmitRate(r.Context(), who)
	if err != nil {
		return denied(w, err)
	}
	defer adm.Settle(0, 0, 0)
	f := store.Feedback{RequestID: in.RequestID, TenantID: who.TenantID, Quality: *in.Quality, Created: o.Now().UTC()}
	if err := o.Store.PutFeedback(r.Context(), f); errors.Is(err, store.ErrNotFound) {
		// Another tenant's request: its rating is that tenant's own.
		openaiapi.WriteError(w, http.StatusNotFound, "not_found", "no request "+strconv.Quote(in.RequestID)+" of this API key's tenant")
		return resultRefused
	} else if err != nil {
		o.Logger.Error("feedback: store failed", "request_id", reqid.From(r.Context()), "err", err)
		openaiapi.WriteError(w, http.StatusServiceUnavailable, "store_unavailable", "the gateway's store failed; try again")
		return resultFailed
	}
	b, _ := json.Marshal(struct {
		Object    string  `json:"object"`
		RequestID string  `json:"request_id"`
		Quality   float64 `json:"quality"`
	}{"feedback", f.RequestID, f.Quality})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return resultStored
}

// readBody reads r's body, or says how to refuse it: a body declared or
// found longer than maxBody is a 413 (the declared length refused before
// any of it is read), one not in within the listener's read_timeout a
// 408, and one that cannot be read otherwise a 400 that does not repeat
// the read error (it names socket addresses), as the gateway's endpoints
// answer them.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *bodyError) {
	body, failure := httpmux.ReadBody(w, r, maxBody)
	switch failure {
	case httpmux.BodyRead:
		return body, nil
	case httpmux.BodyTooLarge:
		return nil, errTooLarge
	case httpmux.BodyTimeout:
		return nil, &bodyError{http.StatusRequestTimeout, "request_timeout", "the request body was not received within the server's read timeout"}
	}
	return nil, &bodyError{http.StatusBadRequest, "invalid_body", "could not read the request body"}
}

// bodyError is the answer to a body that could not be read.
type bodyError struct {
	status    int
	code, msg string
}

var errTooLarge = &bodyError{http.StatusRequestEntityTooLarge, "request_too_large", "request body exceeds " + strconv.Itoa(maxBody) + " bytes"}

// denied answers a refusal of the Authenticator in OpenAI's error shape,
// and says how the rating ended: refused, or failed when the key store
// could not be asked (or the refusal is a 5xx).
func denied(w http.ResponseWriter, err error) (result string) {
	var d *gateway.Denied
	if !errors.As(err, &d) {
		openaiapi.WriteError(w, http.StatusServiceUnavailable, "auth_unavailable", "the key store cannot be reached")
		return resultFailed
	}
	d.SetRetryAfter(w.Header())
	openaiapi.WriteError(w, d.Status, d.Code, d.Message)
	if d.Status >= 500 {
		return resultFailed
	}
	return resultRefused
}
