package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/anthropicapi"
	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/httpmux"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// Authenticator checks a client's key; the tenancy guard is one.
type Authenticator interface {
	Authenticate(ctx context.Context, h http.Header) (*gateway.Principal, error)
}

// APIOptions wire the Files and Batch endpoints.
type APIOptions struct {
	Store store.Store
	Auth  Authenticator
	Queue Queue
	// MaxFileBytes is the largest upload; MaxRequests the most lines of
	// one batch (checked when it is validated).
	MaxFileBytes int64
	MaxRequests  int
	// Retention is how long files are kept (their expires_at); 0 shows
	// none.
	Retention time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// API serves /v1/files and /v1/batches.
type API struct {
	st      store.Store
	auth    Authenticator
	queue   Queue
	maxFile int64
	maxReqs int
	keep    time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// NewAPI returns the Files and Batch endpoints; Register mounts them.
func NewAPI(o APIOptions) *API {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &API{st: o.Store, auth: o.Auth, queue: o.Queue, maxFile: o.MaxFileBytes, maxReqs: o.MaxRequests, keep: o.Retention, now: o.Now, log: o.Logger}
}

// Register mounts the endpoints on mux: the OpenAI ones with and without
// the /v1 prefix (as the gateway's other OpenAI endpoints), the Anthropic
// Message Batches API at /v1/messages/batches; other methods on them get a
// 405 in the API's error format.
func (a *API) Register(mux *http.ServeMux) {
	a.registerAnthropic(mux)
	// Any other path under these endpoints (Owns sends them here).
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail := openAIError
		if strings.HasPrefix(r.URL.Path, "/v1/messages/") {
			fail = anthropicError
		}
		fail(w, http.StatusNotFound, "unknown_url", "not_found_error", "no such endpoint: "+r.Method+" "+strconv.Quote(truncate(r.URL.Path, 200)))
	})
	for _, p := range []string{"/v1", ""} {
		mux.HandleFunc("POST "+p+"/files", a.authed(a.createFile))
		mux.HandleFunc("GET "+p+"/files", a.authed(a.listFiles))
		mux.HandleFunc("GET "+p+"/files/{id}", a.authed(a.getFile))
		mux.HandleFunc("DELETE "+p+"/files/{id}", a.authed(a.deleteFile))
		mux.HandleFunc("GET "+p+"/files/{id}/content", a.authed(a.fileContent))
		mux.HandleFunc("POST "+p+"/batches", a.authed(a.createBatch))
		mux.HandleFunc("GET "+p+"/batches", a.authed(a.listBatches))
		mux.HandleFunc("GET "+p+"/batches/{id}", a.authed(a.getBatch))
		mux.HandleFunc("POST "+p+"/batches/{id}/cancel", a.authed(a.cancelBatch))
		for path, allow := range map[string]string{
			"/files": "GET, POST", "/files/{id}": "GET, DELETE", "/files/{id}/content": "GET",
			"/batches": "GET, POST", "/batches/{id}": "GET", "/batches/{id}/cancel": "POST",
		} {
			mux.HandleFunc(p+path, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				if gateway.AnthropicClient(r) {
					anthropicapi.WriteError(w, http.StatusMethodNotAllowed, "invalid_request_error", r.Method+" is not allowed here (allowed: "+allow+")")
					return
				}
				openaiapi.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here (allowed: "+allow+")")
			})
		}
	}
}

// Owns reports whether path is one of the endpoints Register mounts. A
// path ServeMux would clean (//, /./, /../) is not: Register's mux would
// answer it with a redirect to the cleaned path, which a client follows
// by sending its POST again elsewhere; the gateway answers it with the
// API's 404 instead.
func Owns(path string) bool {
	if httpmux.Unclean(path) {
		return false
	}
	p, _ := strings.CutPrefix(path, "/v1")
	if rest, ok := strings.CutPrefix(p, "/messages"); ok && path != p {
		p = rest
		return p == "/batches" || strings.HasPrefix(p, "/batches/")
	}
	for _, root := range []string{"/files", "/batches"} {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return false
}

type handler func(w http.ResponseWriter, r *http.Request, who *gateway.Principal)

// errorWriter answers an error in one API's format: code is the OpenAI
// error code, typ the Anthropic error type ("" follows from status).
type errorWriter func(w http.ResponseWriter, status int, code, typ, message string)

func openAIError(w http.ResponseWriter, status int, code, _, message string) {
	openaiapi.WriteError(w, status, code, message)
}

func anthropicError(w http.ResponseWriter, status int, _, typ, message string) {
	anthropicapi.WriteError(w, status, typ, message)
}

// authed authenticates the caller like the gateway's endpoints do.
func (a *API) authed(h handler) http.HandlerFunc { return a.authedIn(openAIError, h) }

// authedIn is authed answering refusals with fail.
func (a *API) authedIn(fail errorWriter, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := a.auth.Authenticate(r.Context(), r.Header)
		if err != nil {
			var d *gateway.Denied
			if errors.As(err, &d) {
				fail(w, d.Status, d.Code, d.Type, d.Message)
				return
			}
			fail(w, http.StatusServiceUnavailable, "auth_unavailable", "api_error", "the key store cannot be reached")
			return
		}
		h(w, r, who)
	}
}

// storeFailed answers a store error other than not-found, in OpenAI's format.
func (a *API) storeFailed(w http.ResponseWriter, op string, err error) {
	a.storeFailedIn(openAIError, w, op, err)
}

func (a *API) storeFailedIn(fail errorWriter, w http.ResponseWriter, op string, err error) {
	a.log.Error("batch: store failed", "op", op, "err", err)
	fail(w, http.StatusServiceUnavailable, "store_unavailable", "api_error", "the gateway's store failed; try again")
}

// errorBody is OpenAI's error envelope, for an error naming its param.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

// invalidParam answers a 400 in OpenAI's error format naming param, the
// request field at fault ("" for none).
func invalidParam(w http.ResponseWriter, code, param, message string) {
	paramError(w, http.StatusBadRequest, code, param, message)
}

// paramError answers a 400 or 404 in OpenAI's error format naming param.
func paramError(w http.ResponseWriter, status int, code, param, message string) {
	var e errorBody
	e.Error.Message, e.Error.Type, e.Error.Code = message, "invalid_request_error", code
	if status == http.StatusNotFound {
		e.Error.Type = "not_found_error"
	}
	if param != "" {
		e.Error.Param = &param
	}
	b, _ := wirejson.Marshal(e)
	_ = wirejson.Write(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		openaiapi.WriteError(w, http.StatusInternalServerError, "internal_error", "could not encode the response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (a *API) createFile(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		openaiapi.WriteError(w, http.StatusBadRequest, "invalid_request_error", "upload a file as multipart/form-data with the fields file and purpose")
		return
	}
	// The multipart framing and the purpose field need a little room
	// beyond the file itself.
	b := readBody(w, r, a.maxFile+64<<10)
	if a.uploadFailed(w, b) {
		return
	}
	r.Body = b
	mr, err := r.MultipartReader()
	if err != nil {
		openaiapi.WriteError(w, http.StatusBadRequest, "invalid_request_error", "malformed multipart body: "+err.Error())
		return
	}
	var (
		purpose, filename string
		content           []byte
		gotFile           bool
		// expires_after[anchor] and expires_after[seconds], when sent
		anchor, seconds *string
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			a.uploadError(w, b, err)
			return
		}
		var field *string
		switch part.FormName() {
		case "purpose":
			field = &purpose
		case "expires_after[anchor]":
			anchor = new(string)
			field = anchor
		case "expires_after[seconds]":
			seconds = new(string)
			field = seconds
		case "file":
			filename = part.FileName()
			content, err = io.ReadAll(io.LimitReader(part, a.maxFile+1))
			if err != nil {
				a.uploadError(w, b, err)
				return
			}
			if int64(len(content)) > a.maxFile {
				openaiapi.WriteError(w, http.StatusRequestEntityTooLarge, "file_too_large", fmt.Sprintf("the file is larger than %d bytes (batch.max_file_bytes)", a.maxFile))
				return
			}
			gotFile = true
		}
		if field != nil {
			v, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				a.uploadError(w, b, err)
				return
			}
			*field = string(bytes.TrimSpace(v))
		}
		part.Close()
	}
	switch {
	case !gotFile:
		invalidParam(w, "missing_required_parameter", "file", "the multipart body has no file field")
		return
	case purpose == "":
		invalidParam(w, "missing_required_parameter", "purpose", "the multipart body has no purpose field")
		return
	case purpose != PurposeBatch:
		invalidParam(w, "unsupported_purpose", "purpose", "this gateway stores files for the Batch API only: purpose must be \"batch\", got "+strconv.Quote(truncate(purpose, 64)))
		return
	}
	var expiry *expiresAfter
	if anchor != nil || seconds != nil {
		expiry = &expiresAfter{}
		if anchor != nil {
			expiry.Anchor = *anchor
		}
		if seconds == nil {
			invalidParam(w, "missing_required_parameter", "expires_after[seconds]", "expires_after[seconds] is required with expires_after[anchor]")
			return
		}
		n, err := strconv.ParseInt(*seconds, 10, 64)
		if err != nil {
			n = -1 // not an integer: refused as out of range
		}
		expiry.Seconds = n
		if param, msg := expiry.problem("expires_after[anchor]", "expires_after[seconds]"); param != "" {
			invalidParam(w, "invalid_value", param, msg)
			return
		}
	}
	if filename == "" {
		filename = "upload.jsonl"
	}
	now := a.now()
	id := store.NewSortableID(filePrefix, now)
	if expiry != nil {
		id = withExpiry(id, expiry.Seconds)
	}
	f := store.File{ID: id, TenantID: who.TenantID, Purpose: purpose,
		Filename: truncate(filename, 255), Bytes: int64(len(content)), Created: now}
	if err := a.st.CreateFile(r.Context(), f, content); err != nil {
		a.storeFailed(w, "create file", err)
		return
	}
	writeJSON(w, http.StatusOK, fileObj(f, a.keep))
}

// uploadError answers err, which reading the multipart body b failed
// with: a failure of b itself, or else the multipart's syntax.
func (a *API) uploadError(w http.ResponseWriter, b *body, err error) {
	if a.uploadFailed(w, b) {
		return
	}
	openaiapi.WriteError(w, http.StatusBadRequest, "invalid_request_error", "malformed multipart body: "+err.Error())
}

// uploadFailed answers, if reading the upload b failed, why.
func (a *API) uploadFailed(w http.ResponseWriter, b *body) bool {
	return b.failed(w, openAIError, "file_too_large", fmt.Sprintf("the file is larger than %d bytes (batch.max_file_bytes)", a.maxFile))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// listPage is a list request's paging: at most limit items, those after
// the item after (when set) in the order asked, newest first or (asc)
// oldest first.
type listPage struct {
	after string
	limit int
	asc   bool
}

// page reads the list parameters limit (1..10000, default 20), after (an
// ID of the list, whose IDs begin with prefix) and order (desc, the
// default, or asc).
func page(w http.ResponseWriter, r *http.Request, prefix string) (listPage, bool) {
	q := r.URL.Query()
	p := listPage{after: q.Get("after"), limit: 20}
	if p.after != "" && !cursor(p.after, prefix) {
		invalidParam(w, "invalid_value", "after", "after must be the id of an object of this list (the last_id of the page before), got "+strconv.Quote(truncate(p.after, 100)))
		return p, false
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			invalidParam(w, "invalid_value", "limit", "limit must be an integer from 1 to 10000")
			return p, false
		}
		p.limit = n
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		p.asc = true
	default:
		invalidParam(w, "invalid_value", "order", "order must be asc or desc, got "+strconv.Quote(truncate(q.Get("order"), 20)))
		return p, false
	}
	return p, true
}

// cursor reports whether id can be a list's cursor: an ID of the list's
// kind, prefix and the hex of its creation time (see
// store.NewSortableID), which places it in the list even once it was
// deleted. Anything else would place the page anywhere (any other string
// sorts after every ID: the first page).
func cursor(id, prefix string) bool {
	hex, ok := strings.CutPrefix(id, prefix)
	if !ok || len(hex) < 32 {
		return false
	}
	for _, c := range []byte(hex[:32]) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

type list[T any] struct {
	Object  string  `json:"object"`
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

func newList[T any](items []T, limit int, id func(T) string) list[T] {
	l := list[T]{Object: "list", Data: items}
	if len(items) > limit {
		l.Data, l.HasMore = items[:limit], true
	}
	if l.Data == nil {
		l.Data = []T{}
	}
	if len(l.Data) > 0 {
		first, last := id(l.Data[0]), id(l.Data[len(l.Data)-1])
		l.FirstID, l.LastID = &first, &last
	}
	return l
}

func (a *API) listFiles(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	p, ok := page(w, r, filePrefix)
	if !ok {
		return
	}
	purpose := r.URL.Query().Get("purpose")
	var fs []store.File
	var err error
	if p.asc {
		fs, err = a.filesAsc(r.Context(), who.TenantID, purpose, p.after, p.limit+1)
	} else {
		fs, err = a.filesDesc(r.Context(), who.TenantID, purpose, p.after, p.limit+1)
	}
	if err != nil {
		a.storeFailed(w, "list files", err)
		return
	}
	objs := make([]fileObject, len(fs))
	for i, f := range fs {
		objs[i] = fileObj(f, a.keep)
	}
	writeJSON(w, http.StatusOK, newList(objs, p.limit, func(f fileObject) string { return f.ID }))
}

// filesDesc lists the tenant's files (of purpose, when set) made before
// file after (when set), newest first, at most n, leaving out those past
// their expiry that the sweep has yet to delete.
func (a *API) filesDesc(ctx context.Context, tenantID, purpose, after string, n int) ([]store.File, error) {
	now := a.now()
	var out []store.File
	for {
		want := n - len(out)
		fs, err := a.st.ListFiles(ctx, tenantID, filePrefix, purpose, after, want)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if !expired(f, a.keep, now) {
				out = append(out, f)
			}
		}
		if len(fs) < want || len(out) == n {
			return out, nil
		}
		after = fs[len(fs)-1].ID
	}
}

// ascStep is how many files filesAsc reads from the store at a time.
var ascStep = 1000

// filesAsc lists the tenant's files (of purpose, when set) made after
// file after (when set), oldest first, at most n, leaving out those past
// their expiry as filesDesc does. The store lists files
// newest first only: filesAsc reads down from the newest to after,
// keeping the n oldest, so it costs a read of the files newer than after
// (a tenant's files are bounded by batch.retention).
func (a *API) filesAsc(ctx context.Context, tenantID, purpose, after string, n int) ([]store.File, error) {
	var oldest []store.File // newest first
	cursor, now := "", a.now()
	for {
		fs, err := a.st.ListFiles(ctx, tenantID, filePrefix, purpose, cursor, ascStep)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if after != "" && f.ID <= after {
				slices.Reverse(oldest)
				return oldest, nil
			}
			if expired(f, a.keep, now) {
				continue
			}
			if oldest = append(oldest, f); len(oldest) > n {
				oldest = oldest[1:]
			}
		}
		if len(fs) < ascStep {
			slices.Reverse(oldest)
			return oldest, nil
		}
		cursor = fs[len(fs)-1].ID
	}
}

// file returns the caller's file named in the path, or answers 404: a
// file past its expiry is gone, though the sweep may not have deleted it
// yet.
func (a *API) file(w http.ResponseWriter, r *http.Request, who *gateway.Principal) (store.File, bool) {
	id := r.PathValue("id")
	f, err := a.st.GetFile(r.Context(), who.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!strings.HasPrefix(f.ID, filePrefix) || expired(f, a.keep, a.now())) {
		openaiapi.WriteError(w, http.StatusNotFound, "not_found", "no file with id "+strconv.Quote(truncate(id, 100)))
		return f, false
	}
	if err != nil {
		a.storeFailed(w, "get file", err)
		return f, false
	}
	return f, true
}

func (a *API) getFile(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	if f, ok := a.file(w, r, who); ok {
		writeJSON(w, http.StatusOK, fileObj(f, a.keep))
	}
}

func (a *API) fileContent(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	f, ok := a.file(w, r, who)
	if !ok {
		return
	}
	b, err := a.st.FileContent(r.Context(), who.TenantID, f.ID)
	if err != nil {
		a.storeFailed(w, "file content", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (a *API) deleteFile(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	f, ok := a.file(w, r, who)
	if !ok {
		return
	}
	// The input of a batch that has not ended stays: the batch reads it
	// again wherever it resumes (a restart, another replica), and its
	// lines' custom_ids come from it.
	user, err := a.inputOf(r.Context(), who.TenantID, f.ID)
	if err != nil {
		a.storeFailed(w, "delete file", err)
		return
	}
	if user != nil {
		openaiapi.WriteError(w, http.StatusConflict, "file_in_use", "file "+f.ID+" is the input file of batch "+user.ID+", which is "+user.Status+
			"; cancel the batch (POST /v1/batches/"+user.ID+"/cancel) or wait until it ends, then delete the file")
		return
	}
	if err := a.st.DeleteFile(r.Context(), who.TenantID, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.storeFailed(w, "delete file", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}{f.ID, "file", true})
}

// inputOf returns the tenant's unfinished batch whose input file is
// fileID, or nil.
func (a *API) inputOf(ctx context.Context, tenantID, fileID string) (*store.Batch, error) {
	bs, err := a.st.UnfinishedBatches(ctx)
	if err != nil {
		return nil, err
	}
	for i, b := range bs {
		if b.TenantID == tenantID && gjson.GetBytes(b.Doc, "input_file_id").String() == fileID {
			return &bs[i], nil
		}
	}
	return nil, nil
}

type createRequest struct {
	InputFileID      string            `json:"input_file_id"`
	Endpoint         string            `json:"endpoint"`
	CompletionWindow string            `json:"completion_window"`
	Metadata         map[string]string `json:"metadata"`
	// OutputExpiresAfter is when the output and error files expire.
	OutputExpiresAfter *expiresAfter `json:"output_expires_after"`
}

func (a *API) createBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	var req createRequest
	b := readBody(w, r, 64<<10)
	unread := func() bool {
		return b.failed(w, openAIError, "request_too_large", "a batch request is at most 64 KiB (its lines go in the input file)")
	}
	if unread() {
		return
	}
	if err := decodeJSON(b, &req); err != nil {
		if unread() {
			return
		}
		param, msg := jsonProblem("the body", err)
		invalidParam(w, "invalid_request_error", param, "the body is not a valid batch request: "+msg)
		return
	}
	switch {
	case req.InputFileID == "":
		invalidParam(w, "missing_required_parameter", "input_file_id", "input_file_id is required")
		return
	case !endpoints[req.Endpoint]:
		invalidParam(w, "invalid_value", "endpoint", "endpoint must be one of "+strings.Join(endpointList, ", ")+"; got "+strconv.Quote(truncate(req.Endpoint, 100)))
		return
	case req.CompletionWindow != "24h":
		invalidParam(w, "invalid_value", "completion_window", "completion_window must be \"24h\"")
		return
	case len(req.Metadata) > 16:
		invalidParam(w, "invalid_value", "metadata", "metadata holds at most 16 pairs")
		return
	}
	for k, v := range req.Metadata {
		if len(k) > 64 || len(v) > 512 {
			invalidParam(w, "invalid_value", "metadata", "metadata keys are at most 64 characters and values at most 512")
			return
		}
	}
	if e := req.OutputExpiresAfter; e != nil {
		if param, msg := e.problem("output_expires_after.anchor", "output_expires_after.seconds"); param != "" {
			invalidParam(w, "invalid_value", param, msg)
			return
		}
	}
	f, err := a.st.GetFile(r.Context(), who.TenantID, req.InputFileID)
	// A Message Batch's internal input (msgfile-…) is not a file of this
	// API, as GET /v1/files says too.
	if errors.Is(err, store.ErrNotFound) || err == nil && (!strings.HasPrefix(f.ID, filePrefix) || expired(f, a.keep, a.now())) {
		paramError(w, http.StatusNotFound, "not_found", "input_file_id", "no file with id "+strconv.Quote(truncate(req.InputFileID, 100)))
		return
	}
	if err != nil {
		a.storeFailed(w, "get file", err)
		return
	}
	if f.Purpose != PurposeBatch {
		invalidParam(w, "invalid_value", "input_file_id", "the input file's purpose must be \"batch\", not "+strconv.Quote(f.Purpose))
		return
	}
	now := a.now()
	o := &object{
		ID: store.NewSortableID(batchPrefix, now), Object: "batch", Endpoint: req.Endpoint, InputFileID: f.ID,
		CompletionWindow: req.CompletionWindow, Status: store.BatchValidating, CreatedAt: now.Unix(),
		ExpiresAt: unix(now.Add(completionWindow)), Metadata: req.Metadata, OutputExpiresAfter: req.OutputExpiresAfter,
	}
	if a.submit(openAIError, w, r, who, o, now) {
		writeJSON(w, http.StatusOK, o)
	}
}

// submit stores a new batch and queues it; on failure it has answered
// with fail and returns false.
func (a *API) submit(fail errorWriter, w http.ResponseWriter, r *http.Request, who *gateway.Principal, o *object, now time.Time) bool {
	if err := a.st.CreateBatch(r.Context(), o.encode(who.TenantID, who.KeyID, now)); err != nil {
		a.storeFailedIn(fail, w, "create batch", err)
		return false
	}
	if err := a.queue.Publish(r.Context(), o.ID); err != nil {
		a.log.Error("batch: queue publish failed", "batch", o.ID, "err", err)
		o.Status, o.FailedAt = store.BatchFailed, unix(now)
		o.Errors = &errorList{Object: "list", Data: []lineError{{Code: "queue_unavailable", Message: "the batch queue could not take the batch; create it again"}}}
		_ = a.st.UpdateBatch(context.WithoutCancel(r.Context()), o.encode(who.TenantID, who.KeyID, now), store.BatchValidating)
		fail(w, http.StatusServiceUnavailable, "queue_unavailable", "api_error", "the batch queue could not take the batch; try again")
		return false
	}
	return true
}

// batch returns the caller's batch named in the path with live counts,
// or answers 404.
func (a *API) batch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) (store.Batch, *object, bool) {
	id := r.PathValue("id")
	b, err := a.st.GetBatch(r.Context(), who.TenantID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (b.TenantID != who.TenantID || !strings.HasPrefix(b.ID, batchPrefix)) {
		openaiapi.WriteError(w, http.StatusNotFound, "not_found", "no batch with id "+strconv.Quote(truncate(id, 100)))
		return b, nil, false
	}
	if err != nil {
		a.storeFailed(w, "get batch", err)
		return b, nil, false
	}
	o, err := a.live(r.Context(), b)
	if err != nil {
		a.storeFailed(w, "get batch", err)
		return b, nil, false
	}
	return b, o, true
}

// live decodes b; a running batch's counts are read from its results.
func (a *API) live(ctx context.Context, b store.Batch) (*object, error) {
	o, err := decode(b)
	if err != nil {
		return nil, err
	}
	if b.Status == store.BatchInProgress || b.Status == store.BatchFinalizing || b.Status == store.BatchCancelling {
		ok, failed, err := a.st.CountBatchResults(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		o.RequestCounts.Completed, o.RequestCounts.Failed = ok, failed
	}
	return o, nil
}

func (a *API) getBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	if _, o, ok := a.batch(w, r, who); ok {
		writeJSON(w, http.StatusOK, o)
	}
}

func (a *API) listBatches(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	p, ok := page(w, r, batchPrefix)
	if !ok {
		return
	}
	var bs []store.Batch
	var err error
	if p.asc {
		// The batches just after after (all, when unset), newest first.
		bs, err = a.st.ListBatchesBefore(r.Context(), who.TenantID, batchPrefix, p.after, p.limit+1)
		slices.Reverse(bs)
	} else {
		bs, err = a.st.ListBatches(r.Context(), who.TenantID, batchPrefix, p.after, p.limit+1)
	}
	if err != nil {
		a.storeFailed(w, "list batches", err)
		return
	}
	objs := make([]*object, 0, len(bs))
	for _, b := range bs {
		o, err := a.live(r.Context(), b)
		if err != nil {
			a.storeFailed(w, "list batches", err)
			return
		}
		objs = append(objs, o)
	}
	writeJSON(w, http.StatusOK, newList(objs, p.limit, func(o *object) string { return o.ID }))
}

// cancelBatch moves a validating or running batch to cancelling; its
// worker stops starting lines, and writes what is done as the output.
func (a *API) cancelBatch(w http.ResponseWriter, r *http.Request, who *gateway.Principal) {
	b, _, ok := a.batch(w, r, who)
	if !ok {
		return
	}
	o, err := a.cancel(r.Context(), b)
	switch {
	case errors.Is(err, errEnded):
		// The official SDKs retry a 409 (a lock that may clear): an
		// ended batch stays ended (found by audit AD).
		w.Header().Set(provider.HeaderShouldRetry, "false")
		openaiapi.WriteError(w, http.StatusConflict, "batch_not_cancellable", "batch "+b.ID+" is "+o.Status+" and cannot be cancelled")
	case err != nil:
		a.storeFailed(w, "cancel batch", err)
	default:
		writeJSON(w, http.StatusOK, o)
	}
}

// errEnded is cancel's answer for a batch that ended other than cancelled.
var errEnded = errors.New("batch: the batch has ended")

// cancel moves b to cancelling unless it is past that, and returns it as
// it then stands (errEnded, with it, when it ended otherwise).
func (a *API) cancel(ctx context.Context, b store.Batch) (*object, error) {
	for {
		o, err := a.live(ctx, b)
		if err != nil {
			return nil, err
		}
		switch b.Status {
		case store.BatchCancelling, store.BatchCancelled:
			return o, nil
		case store.BatchValidating, store.BatchInProgress:
		default:
			return o, errEnded
		}
		from := o.Status
		o.Status, o.CancellingAt = store.BatchCancelling, unix(a.now())
		err = a.st.UpdateBatch(ctx, o.encode(b.TenantID, b.KeyID, b.Created), from)
		if !errors.Is(err, store.ErrConflict) {
			return o, err
		}
		// The worker moved it on meanwhile: look again.
		if b, err = a.st.GetBatch(ctx, b.TenantID, b.ID); err != nil {
			return nil, err
		}
	}
}
