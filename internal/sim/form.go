package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The multipart/form-data forms of OpenAI's upload endpoints
// (transcriptions, translations, image edits and variations).

// multipartForm is the multipart/form-data form of a request to one of
// OpenAI's upload endpoints (transcriptions, translations, image edits and
// variations).
type multipartForm struct {
	values map[string][]string // text fields, by name
	files  map[string][][]byte // file fields, by name, in order
}

func (f multipartForm) value(k string) string {
	if v := f.values[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (f multipartForm) has(k string) bool { return len(f.values[k]) > 0 }

// file is the first part of the file field k.
func (f multipartForm) file(k string) ([]byte, bool) {
	if v := f.files[k]; len(v) > 0 {
		return v[0], true
	}
	return nil, false
}

// formSpec describes the form of one of OpenAI's upload endpoints.
type formSpec struct {
	files  []string // the fields whose parts are files
	known  []string // every field the endpoint takes, files included
	sample string   // a file field as curl sends it, for the hint of a 400
	model  string   // the model of a form that names none, when configured; "" for none
}

// audioForm is the form of a transcription or translation.
var audioForm = formSpec{files: []string{"file"}, known: audioFormFields, sample: "file=@audio.wav"}

// errFormTooLarge is a body over maxFormBody.
var errFormTooLarge = errors.New("sim: form body too large")

// formError is the message of a 400 about a form that cannot be read.
type formError string

func (e formError) Error() string { return string(e) }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readForm reads a multipart form of at most maxFormBody bytes; the parts
// of spec's file fields are files, every other part a text field. It
// returns the bytes read, and errFormTooLarge for a larger body or a
// formError for a form it cannot read.
func readForm(r *http.Request, spec formSpec) (multipartForm, int64, error) {
	form := multipartForm{values: map[string][]string{}, files: map[string][][]byte{}}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return form, 0, formError(fmt.Sprintf("Invalid Content-Type header (%s), expected multipart/form-data. (HINT: If you're using curl, you can pass -F '%s' to send a multipart form.)", ct, spec.sample))
	}
	cr := &countingReader{r: io.LimitReader(r.Body, maxFormBody+1)}
	mr := multipart.NewReader(cr, params["boundary"])
	fail := func(err error) (multipartForm, int64, error) {
		if cr.n > maxFormBody {
			return form, cr.n, errFormTooLarge
		}
		return form, cr.n, formError("Could not parse the multipart form of your request: " + err.Error())
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		name := p.FormName()
		b, err := io.ReadAll(p)
		if err != nil {
			return fail(err)
		}
		switch {
		case name == "":
		case slices.Contains(spec.files, name):
			form.files[name] = append(form.files[name], b)
		default:
			form.values[name] = append(form.values[name], string(b))
		}
	}
	if cr.n > maxFormBody {
		return form, cr.n, errFormTooLarge
	}
	return form, cr.n, nil
}

// openAIForm reads the multipart form of a request to one of OpenAI's
// upload endpoints, records the call under its model (spec.model when it
// names none and that model is configured, with its stream flag) and
// refuses a field not in spec.known. A body over maxFormBody
// gets OpenAI's 413, recorded under the model when the form named it
// before the limit. It returns the form, the model and the recording
// writer, or false when it answered.
func (s *Server) openAIForm(w http.ResponseWriter, r *http.Request, spec formSpec) (multipartForm, string, *recorder, bool) {
	d := openAI{s}
	form, n, err := readForm(r, spec)
	model := s.formModel(form, spec)
	if errors.Is(err, errFormTooLarge) {
		// Read on, boundedly, so the client sees the answer rather than a
		// connection closed under its upload.
		rest, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxFormDrain))
		c := s.begin(model, r.URL.Path, false)
		writeOpenAIError(&recorder{ResponseWriter: w, c: c}, http.StatusRequestEntityTooLarge, oaError{
			Message: fmt.Sprintf("Maximum content size limit (%d) exceeded (%d bytes read)", maxFormBody, n+rest),
			Type:    "server_error",
		}, 0)
		return form, "", nil, false
	}
	if err != nil {
		c := s.begin(model, r.URL.Path, false)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, err.Error())
		return form, "", nil, false
	}
	stream, _ := formBool(form.value("stream"))
	rw := &recorder{ResponseWriter: w, c: s.begin(model, r.URL.Path, stream)}
	s.log.Debug("sim: request", "model", model, "path", r.URL.Path, "stream", stream)
	names := map[string]json.RawMessage{}
	for k := range form.values {
		names[k] = nil
	}
	for k := range form.files {
		names[k] = nil
	}
	if msg := unrecognized(names, spec.known...); msg != "" {
		d.badRequest(rw, msg)
		return form, "", nil, false
	}
	return form, model, rw, true
}

// formModel is the model a form is for: its model field, or spec.model
// when it names none and that model is configured.
func (s *Server) formModel(form multipartForm, spec formSpec) string {
	model := form.value("model")
	if model == "" && spec.model != "" {
		if _, ok := s.lookup(spec.model); ok {
			model = spec.model
		}
	}
	return model
}

// formBool reads a boolean form field: "true" or "false" in any case, or
// another of strconv.ParseBool's spellings ("1", "t", "0", ...). ok is
// false when v is none of them.
func formBool(v string) (b, ok bool) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, true
	case strings.EqualFold(v, "false"):
		return false, true
	}
	b, err := strconv.ParseBool(v)
	return b, err == nil
}

// streamFlag reads a form's stream field (false when absent), or returns
// the message of a 400 when it is no boolean.
func streamFlag(form multipartForm) (bool, string) {
	if !form.has("stream") {
		return false, ""
	}
	on, ok := formBool(form.value("stream"))
	if !ok {
		return false, fmt.Sprintf("Invalid type for 'stream': expected a boolean, but got '%s' instead.", form.value("stream"))
	}
	return on, ""
}

// streamProblem checks the stream field of a form whose answer the
// simulator does not stream (translations), or returns the message of a
// 400. noun names what it does not stream.
func streamProblem(form multipartForm, noun string) string {
	on, msg := streamFlag(form)
	if on {
		return fmt.Sprintf("stream is not supported: the simulator does not stream %s. Send stream=false or leave it out.", noun)
	}
	return msg
}
