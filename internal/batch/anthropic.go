package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// The Anthropic Message Batches API (/v1/messages/batches) runs on the same
// store, queue and runner as the OpenAI Batch API: the requests become an
// input file of their own (never listed by the Files API) whose lines the
// runner serves at /v1/messages, and the results are read back from the
// output and error files in Anthropic's result shape.
const (
	msgBatchPrefix   = "msgbatch_"
	msgFilePrefix    = "msgfile-"
	messagesEndpoint = "/v1/messages"
)

// registerAnthropic mounts the Message Batches endpoints.
func (a *API) registerAnthropic(mux *http.ServeMux) {
	h := func(f handler) http.HandlerFunc { return a.authedIn(anthropicError, f) }
	mux.HandleFunc("POST /v1/messages/batches", h(a.createMsgBatch))
	mux.HandleFunc("GET /v1/messages/batches", h(a.listMsgBatches))
	mux.HandleFunc("GET /v1/messages/batches/{id}", h(a.getMsgBatch))
	mux.HandleFunc("DELETE /v1/messages/batches/{id}", h(a.deleteMsgBatch))
	mux.HandleFunc("POST /v1/messages/batches/{id}/cancel", h(a.cancelMsgBatch))
	mux.HandleFunc("GET /v1/messages/batches/{id}/results", h(a.msgBatchResults))
	for path, allow := range map[string]string{
		"/v1/messages/batches": "GET, POST", "/v1/messages/batches/{id}": "GET, DELETE",
		"/v1/messages/batches/{id}/cancel": "POST", "/v1/messages/batches/{id}/results": "GET",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			anthropicError(w, http.StatusMethodNotAllowed, "", "invalid_request_error", r.Method+" is not allowed here (allowed: "+allow+")")
		})
	}
}

// msgBatch is the Message Batches API's batch object.
type msgBatch struct {
	ID                string         `json:"id"`
	Type              string         `json:"type"`
	ProcessingStatus  string         `json:"processing_status"`
	RequestCounts     msgBatchCounts `json:"request_counts"`
	EndedAt           *string        `json:"ended_at"`
	CreatedAt         string         `json:"created_at"`
	ExpiresAt         string         `json:"expires_at"`
	ArchivedAt        *string        `json:"archived_at"`
	CancelInitiatedAt *string        `json:"cancel_initiated_at"`
	ResultsURL        *string        `json:"results_url"`
}

type msgBatchCounts struct {
	Processing int `json:"processing"`
	Succeeded  int `json:"succeeded"`
	Errored    int `json:"errored"`
	Canceled   int `json:"canceled"`
	Expired    int `json:"expired"`
}

func rfc3339(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

func rfc3339Ptr(unix *int64) *string {
	if unix == nil {
		return nil
	}
	s := rfc3339(*unix)
	return &s
}

// msgBatchOf shows o in the Message Batches API's shape; base is the
// gateway's URL as the client reached it, for results_url.
func msgBatchOf(o *object, base string) msgBatch {
	m := msgBatch{ID: o.ID, Type: "message_batch", CreatedAt: rfc3339(o.CreatedAt), CancelInitiatedAt: rfc3339Ptr(o.CancellingAt)}
	if o.ExpiresAt != nil {
		m.ExpiresAt = rfc3339(*o.ExpiresAt)
	}
	c := o.RequestCounts
	rest := max(c.Total-c.Completed-c.Failed, 0)
	m.RequestCounts = msgBatchCounts{Succeeded: c.Completed, Errored: c.Failed}
	switch o.Status {
	case store.BatchCancelling:
		m.ProcessingStatus, m.RequestCounts.Processing = "canceling", rest
	case store.BatchValidating, store.BatchInProgress, store.BatchFinalizing:
		m.ProcessingStatus, m.RequestCounts.Processing = "in_progress", rest
	default:
		m.ProcessingStatus = "ended"
		for _, t := range []*int64{o.CompletedAt, o.CancelledAt, o.ExpiredAt, o.FailedAt} {
			if t != nil {
				m.EndedAt = rfc3339Ptr(t)
			}
		}
		switch o.Status {
		case store.BatchCancelled:
			m.RequestCounts.Canceled = rest
		case store.BatchExpired:
			// The runner counts never-run lines as failed when a batch
			// expires; here they are "expired".
			m.RequestCounts.Errored -= o.ExpiredRequests
			m.RequestCounts.Expired = rest + o.ExpiredRequests
		default:
			m.RequestCounts.Errored += rest
		}
		u := base + "/v1/messages/batches/" + o.ID + "/results"
		m.ResultsURL = &u
	}
	return m
}

// baseURL is the gateway's URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type msgBatchRequest struct {
	Requests []struct {
		CustomID string          `json:"custom_id"`
		Params   json.RawMessage `json:"params"`
	} `json:"requests"`
}

func validCustomID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// createMsgBatch checks the requests (a bad one refuses the whole batch
// with a 400, as Anthropic's API does), stores them as the batch's input
// and queues it.
func (a *API) createMsgBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	bad := func(msg string) { anthropicError(w, http.StatusBadRequest, "", "invalid_request_error", msg) }
	var req msgBatchRequest
	b := readBody(w, r, a.maxFile)
	unread := func() bool {
		return b.failed(w, anthropicError, "", fmt.Sprintf("the batch is larger than %d bytes (batch.max_file_bytes)", a.maxFile))
	}
	if unread() {
		return
	}
	if err := decodeJSON(b, &req); err != nil {
		if unread() {
			return
		}
		_, msg := jsonProblem("the body", err)
		bad("the body is not a valid message batch request: " + msg)
		return
	}
	switch {
	case len(req.Requests) == 0:
		bad("requests: at least one request is required")
		return
	case a.maxReqs > 0 && len(req.Requests) > a.maxReqs:
		bad(fmt.Sprintf("requests: a batch may hold %d requests (batch.max_requests), got %d", a.maxReqs, len(req.Requests)))
		return
	}
	var input bytes.Buffer
	seen := make(map[string]bool, len(req.Requests))
	for i, rq := range req.Requests {
		at := "requests." + strconv.Itoa(i)
		switch {
		case !validCustomID(rq.CustomID):
			bad(at + ".custom_id: must be 1 to 64 letters, digits, _ or -")
			return
		case seen[rq.CustomID]:
			bad(at + ".custom_id: " + strconv.Quote(rq.CustomID) + " is used by more than one request")
			return
		case !wirejson.Valid(rq.Params) || !gjson.ParseBytes(rq.Params).IsObject():
			bad(at + ".params: must be a Messages API request object")
			return
		case wirejson.UTF8Problem(rq.Params) != "":
			// As the Messages API refuses it; in the batch it would fail
			// every request of it at run time (audit AS, AS2).
			bad(at + ".params: is not valid JSON: " + wirejson.UTF8Problem(rq.Params))
			return
		case gjson.GetBytes(rq.Params, "stream").Bool():
			bad(at + ".params.stream: streaming is not supported in a batch")
			return
		}
		seen[rq.CustomID] = true
		line, _ := json.Marshal(inputLine{CustomID: rq.CustomID, Method: http.MethodPost, URL: messagesEndpoint, Body: rq.Params})
		input.Write(line)
		input.WriteByte('\n')
	}
	now := a.now()
	id := store.NewSortableID(msgBatchPrefix, now)
	f := store.File{ID: msgFilePrefix + strings.TrimPrefix(id, msgBatchPrefix) + "i", TenantID: who.TenantID, Purpose: PurposeBatch,
		Filename: id + "_input.jsonl", Bytes: int64(input.Len()), Created: now}
	if err := a.st.CreateFile(r.Context(), f, input.Bytes()); err != nil {
		a.storeFailedIn(anthropicError, w, "create file", err)
		return
	}
	o := &object{ID: id, Object: "batch", Endpoint: messagesEndpoint, InputFileID: f.ID, CompletionWindow: "24h",
		Status: store.BatchValidating, CreatedAt: now.Unix(), ExpiresAt: unix(now.Add(completionWindow)),
		RequestCounts: requestCounts{Total: len(req.Requests)}}
	if a.submit(anthropicError, w, r, who, o, now) {
		writeJSON(w, http.StatusOK, msgBatchOf(o, baseURL(r)))
	}
}

// msgBatch returns the caller's message batch named in the path, or
// answers 404.
func (a *API) msgBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) (store.Batch, *object, bool) {
	id := r.PathValue("id")
	b, err := a.st.GetBatch(r.Context(), who.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (b.TenantID != who.TenantID || !strings.HasPrefix(b.ID, msgBatchPrefix)) {
		anthropicError(w, http.StatusNotFound, "", "not_found_error", "no message batch with id "+strconv.Quote(truncate(id, 100)))
		return b, nil, false
	}
	var o *object
	if err == nil {
		o, err = a.live(r.Context(), b)
	}
	if err != nil {
		a.storeFailedIn(anthropicError, w, "get batch", err)
		return b, nil, false
	}
	return b, o, true
}

func (a *API) getMsgBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	if _, o, ok := a.msgBatch(w, r, who); ok {
		writeJSON(w, http.StatusOK, msgBatchOf(o, baseURL(r)))
	}
}

func (a *API) listMsgBatches(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			anthropicError(w, http.StatusBadRequest, "", "invalid_request_error", "limit must be an integer from 1 to 1000")
			return
		}
		limit = n
	}
	before, after := q.Get("before_id"), q.Get("after_id")
	if before != "" && after != "" {
		anthropicError(w, http.StatusBadRequest, "", "invalid_request_error", "before_id and after_id cannot both be set")
		return
	}
	for name, id := range map[string]string{"before_id": before, "after_id": after} {
		if id != "" && !cursor(id, msgBatchPrefix) {
			anthropicError(w, http.StatusBadRequest, "", "invalid_request_error", name+" must be the id of a message batch, got "+strconv.Quote(truncate(id, 100)))
			return
		}
	}
	var bs []store.Batch
	var err error
	newer := false // before_id: there are batches newer than this page
	if before != "" {
		// The page just before before_id, newest first; one more is
		// fetched, and if it comes it is the newest.
		bs, err = a.st.ListBatchesBefore(r.Context(), who.TenantID, msgBatchPrefix, before, limit+1)
		if len(bs) > limit {
			bs, newer = bs[1:], true
		}
	} else {
		bs, err = a.st.ListBatches(r.Context(), who.TenantID, msgBatchPrefix, after, limit+1)
	}
	if err != nil {
		a.storeFailedIn(anthropicError, w, "list batches", err)
		return
	}
	objs := make([]msgBatch, 0, len(bs))
	for _, b := range bs {
		o, err := a.live(r.Context(), b)
		if err != nil {
			a.storeFailedIn(anthropicError, w, "list batches", err)
			return
		}
		objs = append(objs, msgBatchOf(o, baseURL(r)))
	}
	l := newList(objs, limit, func(m msgBatch) string { return m.ID })
	l.HasMore = l.HasMore || newer
	writeJSON(w, http.StatusOK, struct {
		Data    []msgBatch `json:"data"`
		HasMore bool       `json:"has_more"`
		FirstID *string    `json:"first_id"`
		LastID  *string    `json:"last_id"`
	}{l.Data, l.HasMore, l.FirstID, l.LastID})
}

func (a *API) cancelMsgBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	b, _, ok := a.msgBatch(w, r, who)
	if !ok {
		return
	}
	o, err := a.cancel(r.Context(), b)
	if err != nil && !errors.Is(err, errEnded) {
		a.storeFailedIn(anthropicError, w, "cancel batch", err)
		return
	}
	// Cancelling an ended batch answers it as it is, as Anthropic's does.
	writeJSON(w, http.StatusOK, msgBatchOf(o, baseURL(r)))
}

// endedMsgBatch is msgBatch for what needs the batch ended: a running one
// is answered with a 400 saying so (and what to do).
func (a *API) endedMsgBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal, advice string) (store.Batch, *object, bool) {
	b, o, ok := a.msgBatch(w, r, who)
	if ok && store.Unfinished(b.Status) {
		anthropicError(w, http.StatusBadRequest, "", "invalid_request_error", "message batch "+b.ID+" has not ended yet: "+advice)
		return b, o, false
	}
	return b, o, ok
}

// deleteMsgBatch deletes an ended batch and its files.
func (a *API) deleteMsgBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	b, o, ok := a.endedMsgBatch(w, r, who, "cancel it first, and delete it once processing_status is ended")
	if !ok {
		return
	}
	if err := a.st.DeleteBatch(r.Context(), b.TenantID, b.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.storeFailedIn(anthropicError, w, "delete batch", err)
		return
	}
	for _, id := range []*string{&o.InputFileID, o.OutputFileID, o.ErrorFileID} {
		if id != nil {
			if err := a.st.DeleteFile(r.Context(), b.TenantID, *id); err != nil && !errors.Is(err, store.ErrNotFound) {
				a.log.Warn("batch: could not delete a deleted batch's file", "batch", b.ID, "file", *id, "err", err)
			}
		}
	}
	writeJSON(w, http.StatusOK, struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}{b.ID, "message_batch_deleted"})
}

// msgResult is one line of a message batch's results.
type msgResult struct {
	CustomID string          `json:"custom_id"`
	Result   msgResultDetail `json:"result"`
}

type msgResultDetail struct {
	Type    string          `json:"type"`
	Message json.RawMessage `json:"message,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

// msgBatchResults streams an ended batch's results, one per request in
// request order: succeeded with the message, errored with the error the
// request got, or canceled or expired for the requests never run.
func (a *API) msgBatchResults(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	b, o, ok := a.endedMsgBatch(w, r, who, "its results are available once processing_status is ended")
	if !ok {
		return
	}
	got := make(map[string]msgResultDetail)
	for _, id := range []*string{o.OutputFileID, o.ErrorFileID} {
		if id == nil {
			continue
		}
		content, err := a.st.FileContent(r.Context(), b.TenantID, *id)
		if err != nil {
			a.storeFailedIn(anthropicError, w, "results", err)
			return
		}
		eachLine(content, func(_ int, raw []byte) bool {
			var l outputLine
			if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &l) != nil {
				return true
			}
			switch {
			case l.Response != nil && l.Response.StatusCode < 300:
				got[l.CustomID] = msgResultDetail{Type: "succeeded", Message: l.Response.Body}
			case l.Response != nil:
				got[l.CustomID] = msgResultDetail{Type: "errored", Error: l.Response.Body}
			default:
				got[l.CustomID] = msgResultDetail{Type: "expired"}
			}
			return true
		})
	}
	input, err := a.st.FileContent(r.Context(), b.TenantID, o.InputFileID)
	if err != nil {
		a.storeFailedIn(anthropicError, w, "results", err)
		return
	}
	missing := "errored"
	switch b.Status {
	case store.BatchCancelled:
		missing = "canceled"
	case store.BatchExpired:
		missing = "expired"
	}
	w.Header().Set("Content-Type", "application/x-jsonl")
	enc := json.NewEncoder(w)
	eachLine(input, func(_ int, raw []byte) bool {
		customID := gjson.GetBytes(raw, "custom_id").String()
		if customID == "" {
			return true
		}
		d, ok := got[customID]
		if !ok {
			d = msgResultDetail{Type: missing}
			if missing == "errored" {
				d.Error = json.RawMessage(`{"type":"error","error":{"type":"api_error","message":"the batch ended before this request ran"}}`)
			}
		}
		return enc.Encode(msgResult{CustomID: customID, Result: d}) == nil
	})
}
