package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OpenAI's Videos API (Sora): video generation jobs.
//
//	POST   /v1/videos               create a job (recorded, faults apply)
//	GET    /v1/videos               list jobs, newest first by default
//	GET    /v1/videos/{id}          a job as it stands now
//	DELETE /v1/videos/{id}          forget a job
//	GET    /v1/videos/{id}/content  a completed job's video, thumbnail or spritesheet
//	POST   /v1/videos/{id}/remix    a new job from a completed one (recorded, faults apply)
//
// A create is multipart/form-data, as the official SDKs send it, or a JSON
// object with the same fields: prompt (required, a non-empty string),
// model (default defaultVideoModel when it is configured), seconds ("4",
// "8" or "12"; default "4"), size ("720x1280", "1280x720", "1024x1792" or
// "1792x1024"; default "720x1280") and input_reference: in a form an image
// file (PNG, JPEG or WEBP by its magic bytes) or the text fields
// input_reference[file_id] / input_reference[image_url]; in JSON an object
// {"file_id"} or {"image_url"}. The reference is only checked, and colours
// the content. Any other field gets OpenAI's "Unrecognized request
// argument" 400, a bad value a 400 on its param, a body over 25 MiB a 413.
// A model is a video model when its name holds "video" or "sora" (any
// case); any other configured model gets a 400 on param model. The call
// is recorded under the model (Path /v1/videos) and goes through
// uploadTurn without the model's latency, which the job spends instead:
// faults (status, down, reset, hang, content_policy, context_length,
// slow_first_token) apply as to any non-streaming call.
//
// A remix takes JSON (or a form) holding prompt alone and makes a new job
// of the source's model, seconds and size, with remixed_from_video_id set;
// it is recorded under that model with Path /v1/videos/remix. An unknown
// source is a 404, a source that is not completed a 400.
//
// A job runs on the server's clock (WithClock). It takes Latency for each
// second of video (at least 1ms, when Latency is set): it is "queued"
// (progress 0) for the first tenth of that time, then "in_progress" with
// progress the share elapsed in percent (10 to 99), then "completed"
// (progress 100, completed_at its creation plus that time, expires_at a day
// later). A model with no Latency completes its jobs at once: the answer
// to the create still says "queued", every retrieve after it "completed".
// A prompt holding guardrailWord ("forbidden", any case) leaves the queue
// "failed" instead, with error {"code": "moderation_blocked"}. The create
// and remix answers always show the job just queued.
//
// A completed job's content is deterministic: variant video (the default)
// is video/mp4, an ftyp box (brand isom), a free box holding
// "SIMVIDEO1\n" then the model, seconds, size and prompt, one a line (see
// readSimVideo), and an mdat box of 32 bytes drawn from them; thumbnail is
// image/webp, a lossless WEBP of one colour a tenth of the video's size;
// spritesheet is image/jpeg, one frame a second (a twentieth of the
// video's size each) in rows of four. An unknown id gets a 404 (code
// video_not_found), an unknown variant a 400 on param variant, a job not
// completed a 400.
//
// The list takes limit (1 to 100, default 20), order (asc or desc, the
// default: by creation) and after (the id the page starts after; an
// unknown one is a 400 on param after), and answers OpenAI's cursor page:
// object "list", data, first_id, last_id (null when empty) and has_more.
//
// The simulator keeps the newest maxVideos jobs. Retrieves, content,
// deletes and lists are neither recorded nor faulted. Authorization is
// accepted and never required.

// Limits and defaults of the Videos API.
const (
	defaultVideoModel   = "sim-video"
	defaultVideoSeconds = "4"
	defaultVideoSize    = "720x1280"
	defaultVideoVariant = "video"
	maxVideos           = 1000           // jobs kept, newest
	videoLifetime       = 24 * time.Hour // from completion to expiry
	videoQueuedPercent  = 10             // share of a job's time spent queued
	minVideoSecond      = time.Millisecond
	defaultVideoPage    = 20
	maxVideoPage        = 100
	videoCreatePath     = "/v1/videos"       // the Path of a create's Call
	videoRemixPath      = "/v1/videos/remix" // the Path of a remix's Call
	simVideoMagic       = "SIMVIDEO1\n"
	spriteColumns       = 4
)

// Values the Videos API's fields may take.
var (
	videoSecondsValues = []string{"4", "8", "12"}
	videoSizes         = []string{"720x1280", "1280x720", "1024x1792", "1792x1024"}
	videoVariants      = []string{"video", "thumbnail", "spritesheet"}
	videoOrders        = []string{"asc", "desc"}
	videoRefTypes      = []string{"image/jpeg", "image/png", "image/webp"}
)

// The fields of a create and of a remix.
var (
	videoCreateFields = []string{"prompt", "model", "seconds", "size", "input_reference"}
	videoRemixFields  = []string{"prompt"}
)

// The forms of a create and of a remix.
var (
	videoCreateForm = formSpec{files: []string{"input_reference"}, known: videoCreateFields, sample: "prompt=..."}
	videoRemixForm  = formSpec{known: videoRemixFields, sample: "prompt=..."}
)

// videoModel tells whether a model serves the Videos API.
func videoModel(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "video") || strings.Contains(n, "sora")
}

// videoJob is one video generation job. It does not change once made: its
// status is a function of the time.
type videoJob struct {
	id, model, prompt, seconds, size string
	remixOf                          string // the source's id, or ""
	ref                              string // inputsKey of the input reference, or ""
	created                          time.Time
	took                             time.Duration // from creation to completion
	blocked                          bool          // the prompt holds guardrailWord: the job fails
}

// at is the job's status and progress at now.
func (j *videoJob) at(now time.Time) (status string, progress int) {
	elapsed := now.Sub(j.created)
	queued := j.took * videoQueuedPercent / 100
	switch {
	case j.blocked && elapsed >= queued:
		return "failed", 0
	case elapsed >= j.took:
		return "completed", 100
	case elapsed < queued:
		return "queued", 0
	}
	return "in_progress", int(elapsed * 100 / j.took)
}

// videoObject is OpenAI's video object, in the order the API sends it.
type videoObject struct {
	ID                 string        `json:"id"`
	Object             string        `json:"object"`
	Model              string        `json:"model"`
	Status             string        `json:"status"`
	Progress           int           `json:"progress"`
	CreatedAt          int64         `json:"created_at"`
	CompletedAt        *int64        `json:"completed_at"`
	ExpiresAt          *int64        `json:"expires_at"`
	Prompt             string        `json:"prompt"`
	Seconds            string        `json:"seconds"`
	Size               string        `json:"size"`
	RemixedFromVideoID *string       `json:"remixed_from_video_id"`
	Error              *videoFailure `json:"error"`
}

// videoFailure is the error of a failed job.
type videoFailure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// object is the job as the API shows it at now; fresh shows it just
// queued, as the answer to its create or remix does.
func (j *videoJob) object(now time.Time, fresh bool) videoObject {
	o := videoObject{ID: j.id, Object: "video", Model: j.model, Status: "queued", CreatedAt: j.created.Unix(),
		Prompt: j.prompt, Seconds: j.seconds, Size: j.size}
	if j.remixOf != "" {
		o.RemixedFromVideoID = &j.remixOf
	}
	if fresh {
		return o
	}
	o.Status, o.Progress = j.at(now)
	switch o.Status {
	case "completed":
		done := j.created.Add(j.took).Unix()
		expires := done + int64(videoLifetime/time.Second)
		o.CompletedAt, o.ExpiresAt = &done, &expires
	case "failed":
		o.Error = &videoFailure{Code: "moderation_blocked",
			Message: "Your request was blocked by our moderation system. Your prompt may contain content that is not allowed."}
	}
	return o
}

// videoStore keeps the newest maxVideos jobs. The zero value is ready to use.
type videoStore struct {
	mu    sync.Mutex
	byID  map[string]*videoJob
	order []*videoJob // oldest first
}

func (v *videoStore) put(j *videoJob) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byID == nil {
		v.byID = map[string]*videoJob{}
	}
	if len(v.order) >= maxVideos {
		delete(v.byID, v.order[0].id)
		v.order = slices.Delete(v.order, 0, 1)
	}
	v.byID[j.id] = j
	v.order = append(v.order, j)
}

func (v *videoStore) get(id string) (*videoJob, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	j, ok := v.byID[id]
	return j, ok
}

func (v *videoStore) remove(id string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	j, ok := v.byID[id]
	if ok {
		delete(v.byID, id)
		v.order = slices.DeleteFunc(v.order, func(o *videoJob) bool { return o == j })
	}
	return ok
}

// page is up to limit jobs after the one with id after ("" for the
// start), oldest first when asc, else newest first, and whether more
// follow. found is false when after names no job.
func (v *videoStore) page(after string, limit int, asc bool) (jobs []*videoJob, more, found bool) {
	v.mu.Lock()
	all := slices.Clone(v.order)
	v.mu.Unlock()
	if !asc {
		slices.Reverse(all)
	}
	start := 0
	if after != "" {
		i := slices.IndexFunc(all, func(j *videoJob) bool { return j.id == after })
		if i < 0 {
			return nil, false, false
		}
		start = i + 1
	}
	end := min(start+limit, len(all))
	return all[start:end], end < len(all), true
}

// videoBody is the body of a create or a remix: a JSON object's fields, or
// a form's text fields as JSON strings and its files.
type videoBody struct {
	fields map[string]json.RawMessage
	files  map[string][][]byte
	n      int64 // bytes read
}

// readVideoBody reads a multipart/form-data body (by its Content-Type) or
// else a JSON object, of at most maxFormBody bytes. It returns
// errFormTooLarge for a larger body and a formError for one it cannot
// read. A form's input_reference[file_id] and input_reference[image_url]
// fields (or input_reference.file_id ...) become one input_reference
// object, as in JSON.
func readVideoBody(r *http.Request, spec formSpec) (videoBody, error) {
	b := videoBody{fields: map[string]json.RawMessage{}, files: map[string][][]byte{}}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		form, n, err := readForm(r, spec)
		b.n = n
		if err != nil {
			return b, err
		}
		b.files = form.files
		ref := map[string]string{}
		for k, vs := range form.values {
			if key, ok := refKey(k); ok {
				ref[key] = vs[0]
				continue
			}
			b.fields[k], _ = json.Marshal(vs[0]) // a string always marshals
		}
		if len(ref) > 0 {
			b.fields["input_reference"], _ = json.Marshal(ref)
		}
		return b, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxFormBody+1))
	b.n = int64(len(data))
	switch {
	case b.n > maxFormBody:
		return b, errFormTooLarge
	case err == nil:
		err = json.Unmarshal(data, &b.fields)
	}
	if err != nil {
		return b, formError("We could not parse the JSON body of your request. (" + errDecode(err) + ")")
	}
	if b.fields == nil {
		b.fields = map[string]json.RawMessage{}
	}
	return b, nil
}

// refKey reads a form field naming a key of the input_reference object:
// input_reference[file_id] or input_reference.file_id, and image_url.
func refKey(name string) (string, bool) {
	for _, k := range []string{"file_id", "image_url"} {
		if name == "input_reference["+k+"]" || name == "input_reference."+k {
			return k, true
		}
	}
	return "", false
}

// names are the body's fields and files, for unrecognized.
func (b videoBody) names() map[string]json.RawMessage {
	names := map[string]json.RawMessage{}
	for k := range b.fields {
		names[k] = nil
	}
	for k := range b.files {
		names[k] = nil
	}
	return names
}

// str reads the string field k: its value, whether it is present (and not
// null), or the 400 on param k when it is no string.
func (b videoBody) str(k string) (string, bool, *oaError) {
	if !present(b.fields, k) {
		return "", false, nil
	}
	var v string
	if json.Unmarshal(b.fields[k], &v) != nil {
		return "", true, paramError(k, fmt.Sprintf("Invalid type for '%s': expected a string, but got %s instead.", k, oaKind(b.fields[k])))
	}
	return v, true, nil
}

// prompt reads the required, non-empty prompt.
func (b videoBody) prompt() (string, *oaError) {
	v, ok, e := b.str("prompt")
	switch {
	case e != nil:
		return "", e
	case !ok:
		return "", paramError("prompt", "Missing required parameter: 'prompt'.")
	case v == "":
		return "", paramError("prompt", "Invalid 'prompt': string too short. Expected a string with minimum length 1, but got an empty string instead.")
	}
	return v, nil
}

// choice reads the string field k, def when absent, or returns the 400 on
// param k when it is not one of vals.
func (b videoBody) choice(k, def string, vals []string) (string, *oaError) {
	v, ok, e := b.str(k)
	switch {
	case e != nil:
		return "", e
	case !ok:
		return def, nil
	case !slices.Contains(vals, v):
		return "", paramError(k, invalidValue(v, vals))
	}
	return v, nil
}

// reference checks the input reference and returns what colours the
// content with it (inputsKey of the file or of the object), "" for none.
func (b videoBody) reference() (string, *oaError) {
	if files := b.files["input_reference"]; len(files) > 0 {
		if len(files) > 1 {
			return "", paramError("input_reference", "Invalid type for 'input_reference': expected a file, but got an array instead.")
		}
		if t := imageType(files[0]); !slices.Contains(videoRefTypes, t) {
			e := unsupportedFile("input_reference", t, videoRefTypes)
			return "", &e
		}
		return inputsKey(files), nil
	}
	if !present(b.fields, "input_reference") {
		return "", nil
	}
	var ref map[string]string
	bad := paramError("input_reference", "Invalid 'input_reference': expected an image file, or an object with a 'file_id' or an 'image_url' string.")
	if json.Unmarshal(b.fields["input_reference"], &ref) != nil || len(ref) != 1 || ref["file_id"]+ref["image_url"] == "" {
		return "", bad
	}
	key, _ := json.Marshal(ref) // a map of strings always marshals
	return inputsKey([][]byte{key}), nil
}

// videoRequest is what the simulator reads of a create.
type videoRequest struct {
	prompt, seconds, size, ref string
}

// videoCreateParams reads a create's fields (model aside), or returns the
// 400 on the field at fault.
func videoCreateParams(b videoBody) (videoRequest, *oaError) {
	var req videoRequest
	var e *oaError
	if req.prompt, e = b.prompt(); e != nil {
		return req, e
	}
	if req.seconds, e = b.choice("seconds", defaultVideoSeconds, videoSecondsValues); e != nil {
		return req, e
	}
	if req.size, e = b.choice("size", defaultVideoSize, videoSizes); e != nil {
		return req, e
	}
	req.ref, e = b.reference()
	return req, e
}

// bodyOK answers a body readVideoBody could not read (413 or 400) and
// reports whether it could.
func (s *Server) bodyOK(rw *recorder, r *http.Request, b videoBody, err error) bool {
	switch {
	case errors.Is(err, errFormTooLarge):
		// Read on, boundedly, so the client sees the answer rather than a
		// connection closed under its upload.
		rest, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxFormDrain))
		writeOpenAIError(rw, http.StatusRequestEntityTooLarge, oaError{
			Message: fmt.Sprintf("Maximum content size limit (%d) exceeded (%d bytes read)", maxFormBody, b.n+rest),
			Type:    "server_error",
		}, 0)
		return false
	case err != nil:
		openAI{s}.badRequest(rw, err.Error())
		return false
	}
	return true
}

// videoTurn is what a create or remix for m goes through before its job
// is made: an injected fault and the prompt's tokens against the context
// window (uploadTurn), but not the model's latency, which the job spends.
func (s *Server) videoTurn(rw *recorder, r *http.Request, m Model, promptText string) bool {
	quick := m
	quick.Latency = 0
	p := &prompt{}
	p.add(promptText)
	_, _, ok := s.uploadTurn(rw, r, openAI{s}, quick, p, []int{estimateTokens(len(promptText))}, false)
	return ok
}

// startVideo makes and keeps a job of m created now, and answers it.
func (s *Server) startVideo(rw *recorder, m Model, prompt, seconds, size, ref, remixOf string) {
	perSecond := time.Duration(0)
	if m.Latency > 0 {
		perSecond = max(m.Latency, minVideoSecond)
	}
	secs, _ := strconv.Atoi(seconds) // one of videoSecondsValues
	j := &videoJob{
		id: "video_" + s.nextID(32), model: m.Name, prompt: prompt, seconds: seconds, size: size,
		remixOf: remixOf, ref: ref, created: s.now(), took: perSecond * time.Duration(secs),
		blocked: strings.Contains(strings.ToLower(prompt), guardrailWord),
	}
	s.videos.put(j)
	writeJSON(rw, http.StatusOK, j.object(j.created, true), map[string]string{"x-request-id": "req_" + s.nextID(24)})
}

// videoModelFor is modelFor for the Videos API: it also refuses a model
// that is not a video model, with a 400 on param model.
func (s *Server) videoModelFor(rw *recorder, model string) (Model, bool) {
	m, ok := s.modelFor(rw, model, "")
	if ok && !videoModel(m.Name) {
		writeOpenAIError(rw, http.StatusBadRequest, *paramError("model",
			fmt.Sprintf("Invalid model '%s': the Videos API only serves video generation models, such as 'sora-2' and 'sora-2-pro'.", m.Name)), 0)
		return Model{}, false
	}
	return m, ok
}

func (s *Server) handleVideoCreate(w http.ResponseWriter, r *http.Request) {
	b, err := readVideoBody(r, videoCreateForm)
	model, _, modelErr := b.str("model")
	if model == "" && modelErr == nil {
		if _, ok := s.lookup(defaultVideoModel); ok {
			model = defaultVideoModel
		}
	}
	rw := &recorder{ResponseWriter: w, c: s.begin(model, videoCreatePath, false)}
	s.log.Debug("sim: request", "model", model, "path", videoCreatePath, "stream", false)
	if !s.bodyOK(rw, r, b, err) {
		return
	}
	if msg := unrecognized(b.names(), videoCreateFields...); msg != "" {
		openAI{s}.badRequest(rw, msg)
		return
	}
	req, e := videoCreateParams(b)
	if modelErr != nil {
		e = modelErr
	}
	if e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	m, ok := s.videoModelFor(rw, model)
	if !ok || !s.videoTurn(rw, r, m, req.prompt) {
		return
	}
	s.startVideo(rw, m, req.prompt, req.seconds, req.size, req.ref, "")
}

func (s *Server) handleVideoRemix(w http.ResponseWriter, r *http.Request) {
	b, err := readVideoBody(r, videoRemixForm)
	id := r.PathValue("id")
	src, found := s.videos.get(id)
	var model string
	if found {
		model = src.model
	}
	rw := &recorder{ResponseWriter: w, c: s.begin(model, videoRemixPath, false)}
	s.log.Debug("sim: request", "model", model, "path", videoRemixPath, "stream", false)
	if !s.bodyOK(rw, r, b, err) {
		return
	}
	if msg := unrecognized(b.names(), videoRemixFields...); msg != "" {
		openAI{s}.badRequest(rw, msg)
		return
	}
	prompt, e := b.prompt()
	if e != nil {
		writeOpenAIError(rw, http.StatusBadRequest, *e, 0)
		return
	}
	if !found {
		videoNotFound(rw, id)
		return
	}
	if status, _ := src.at(s.now()); status != "completed" {
		writeOpenAIError(rw, http.StatusBadRequest, notCompleted(id, status, "remixed"), 0)
		return
	}
	m, ok := s.videoModelFor(rw, model)
	if !ok || !s.videoTurn(rw, r, m, prompt) {
		return
	}
	s.startVideo(rw, m, prompt, src.seconds, src.size, src.ref, src.id)
}

// videoNotFound is the 404 for an id the simulator does not hold.
func videoNotFound(w http.ResponseWriter, id string) {
	writeOpenAIError(w, http.StatusNotFound, oaError{
		Message: fmt.Sprintf("Video with id '%s' not found.", id),
		Type:    "invalid_request_error", Code: strp("video_not_found"),
	}, 0)
}

// notCompleted is the 400 for a job that cannot be what (downloaded,
// remixed) in its status.
func notCompleted(id, status, what string) oaError {
	msg := fmt.Sprintf("Video '%s' is not ready yet: its status is '%s'. It can be %s once it is 'completed'.", id, status, what)
	if status == "failed" {
		msg = fmt.Sprintf("Video '%s' failed: it can not be %s.", id, what)
	}
	return oaError{Message: msg, Type: "invalid_request_error"}
}

func (s *Server) handleVideoGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, ok := s.videos.get(id)
	if !ok {
		videoNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, j.object(s.now(), false), nil)
}

func (s *Server) handleVideoDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.videos.remove(id) {
		videoNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "video.deleted", "deleted": true}, nil)
}

func (s *Server) handleVideoContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	variant := defaultVideoVariant
	if v := r.URL.Query().Get("variant"); v != "" {
		variant = v
	}
	if !slices.Contains(videoVariants, variant) {
		writeOpenAIError(w, http.StatusBadRequest, *paramError("variant", invalidValue(variant, videoVariants)), 0)
		return
	}
	j, ok := s.videos.get(id)
	if !ok {
		videoNotFound(w, id)
		return
	}
	if status, _ := j.at(s.now()); status != "completed" {
		writeOpenAIError(w, http.StatusBadRequest, notCompleted(id, status, "downloaded"), 0)
		return
	}
	var body []byte
	var ctype string
	switch variant {
	case "thumbnail":
		body, ctype = videoThumbnail(j), "image/webp"
	case "spritesheet":
		body, ctype = videoSpritesheet(j), "image/jpeg"
	default:
		body, ctype = videoMP4(j), "video/mp4"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) handleVideoList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultVideoPage
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		var msg string
		switch {
		case err != nil:
			msg = fmt.Sprintf("Invalid type for 'limit': expected an integer, but got '%s' instead.", v)
		case n < 1:
			msg = fmt.Sprintf("Invalid 'limit': integer below minimum value. Expected a value >= 1, but got %d instead.", n)
		case n > maxVideoPage:
			msg = fmt.Sprintf("Invalid 'limit': integer above maximum value. Expected a value <= %d, but got %d instead.", maxVideoPage, n)
		}
		if msg != "" {
			writeOpenAIError(w, http.StatusBadRequest, *paramError("limit", msg), 0)
			return
		}
		limit = n
	}
	order := "desc"
	if v := q.Get("order"); q.Has("order") {
		if !slices.Contains(videoOrders, v) {
			writeOpenAIError(w, http.StatusBadRequest, *paramError("order", invalidValue(v, videoOrders)), 0)
			return
		}
		order = v
	}
	after := q.Get("after")
	jobs, more, found := s.videos.page(after, limit, order == "asc")
	if !found {
		writeOpenAIError(w, http.StatusBadRequest, *paramError("after", fmt.Sprintf("Invalid 'after': no video with id '%s'.", after)), 0)
		return
	}
	now := s.now()
	data := make([]videoObject, len(jobs))
	for i, j := range jobs {
		data[i] = j.object(now, false)
	}
	var first, last *string
	if len(jobs) > 0 {
		first, last = &jobs[0].id, &jobs[len(jobs)-1].id
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": more,
	}, nil)
}

// videoSeed is what a job's content is drawn from: the SHA-256 of its
// model, prompt, seconds, size and input reference.
func videoSeed(j *videoJob, salt string) [32]byte {
	return sha256.Sum256([]byte(j.model + "\x00" + j.prompt + "\x00" + j.seconds + "\x00" + j.size + "\x00" + salt + j.ref))
}

// videoDims are the width and height of a size such as "720x1280".
func videoDims(size string) (int, int) {
	ws, hs, _ := strings.Cut(size, "x")
	w, _ := strconv.Atoi(ws)
	h, _ := strconv.Atoi(hs)
	return max(w, 1), max(h, 1)
}

// mp4Box is an ISO base media box: its size, its type and the payload.
func mp4Box(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

// videoMP4 is a job's video: an MP4-looking file of an ftyp box, a free
// box holding the job's metadata (see readSimVideo) and a small mdat box.
func videoMP4(j *videoJob) []byte {
	ftyp := binary.BigEndian.AppendUint32([]byte("isom"), 0x200)
	ftyp = append(ftyp, "isomiso2mp41"...)
	meta := simVideoMagic + j.model + "\n" + j.seconds + "\n" + j.size + "\n" + j.prompt
	seed := videoSeed(j, "video")
	return slices.Concat(mp4Box("ftyp", ftyp), mp4Box("free", []byte(meta)), mp4Box("mdat", seed[:]))
}

// simVideo is what readSimVideo reads back from a video of the simulator.
type simVideo struct {
	model, seconds, size, prompt string
}

// readSimVideo reads the metadata of a video the simulator made: the free
// box holding simVideoMagic, then the model, seconds, size and prompt (the
// rest, newlines and all). ok is false for any other file.
func readSimVideo(b []byte) (v simVideo, ok bool) {
	for len(b) >= 8 {
		size := int(binary.BigEndian.Uint32(b))
		if size < 8 || size > len(b) {
			return v, false
		}
		if payload, found := strings.CutPrefix(string(b[8:size]), simVideoMagic); string(b[4:8]) == "free" && found {
			parts := strings.SplitN(payload, "\n", 4)
			if len(parts) != 4 {
				return v, false
			}
			return simVideo{model: parts[0], seconds: parts[1], size: parts[2], prompt: parts[3]}, true
		}
		b = b[size:]
	}
	return v, false
}

// bitWriter packs bits least significant first, as WEBP's lossless
// bitstream does.
type bitWriter struct {
	buf  []byte
	acc  uint64
	bits uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.bits
	w.bits += n
	for w.bits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.bits -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.bits > 0 {
		return append(w.buf, byte(w.acc))
	}
	return w.buf
}

// webpOf is a lossless WEBP (VP8L) of width by height pixels of colour c:
// no transform and no colour cache, and five prefix codes of one symbol
// each (green, red, blue, alpha: c's; distance: 0), so that every pixel
// takes no bits at all.
func webpOf(width, height int, c color.NRGBA) []byte {
	var w bitWriter
	w.write(0x2f, 8) // the VP8L signature
	w.write(uint64(width-1), 14)
	w.write(uint64(height-1), 14)
	w.write(0, 1) // alpha is not used
	w.write(0, 3) // version 0
	w.write(0, 1) // no transform
	w.write(0, 1) // no colour cache
	w.write(0, 1) // no meta prefix codes
	for _, v := range []uint8{c.G, c.R, c.B, c.A} {
		w.write(1, 1) // a simple code
		w.write(0, 1) // of one symbol
		w.write(1, 1) // of 8 bits
		w.write(uint64(v), 8)
	}
	w.write(1, 1) // distance: a simple code
	w.write(0, 1) // of one symbol
	w.write(0, 1) // of 1 bit
	w.write(0, 1) // 0
	data := w.bytes()
	chunk := binary.LittleEndian.AppendUint32([]byte("VP8L"), uint32(len(data)))
	chunk = append(chunk, data...)
	if len(data)%2 == 1 {
		chunk = append(chunk, 0)
	}
	riff := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(chunk)))
	return slices.Concat(riff, []byte("WEBP"), chunk)
}

// videoThumbnail is a job's thumbnail: a WEBP of one colour, a tenth of
// the video's width and height.
func videoThumbnail(j *videoJob) []byte {
	seed := videoSeed(j, "thumbnail")
	w, h := videoDims(j.size)
	return webpOf(max(w/10, 1), max(h/10, 1), color.NRGBA{R: seed[0], G: seed[1], B: seed[2], A: 0xff})
}

// spriteFrame is the width and height of a spritesheet's frame of a size.
func spriteFrame(size string) (int, int) {
	w, h := videoDims(size)
	return max(w/20, 1), max(h/20, 1)
}

// videoSpritesheet is a job's spritesheet: a JPEG of one frame per second
// of video, each of one colour, in rows of spriteColumns.
func videoSpritesheet(j *videoJob) []byte {
	frames, _ := strconv.Atoi(j.seconds)
	fw, fh := spriteFrame(j.size)
	rows := (frames + spriteColumns - 1) / spriteColumns
	img := image.NewRGBA(image.Rect(0, 0, fw*spriteColumns, fh*rows))
	for i := range frames {
		seed := videoSeed(j, "frame "+strconv.Itoa(i))
		c := color.RGBA{R: seed[0], G: seed[1], B: seed[2], A: 0xff}
		x0, y0 := (i%spriteColumns)*fw, (i/spriteColumns)*fh
		for y := y0; y < y0+fh; y++ {
			for x := x0; x < x0+fw; x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}) // writing to a buffer cannot fail
	return buf.Bytes()
}
