package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// OpenAI's moderations endpoint, POST /v1/moderations.
//
// The request is {"model": name, "input": ...}; input is a string, an
// array of strings, or an array of multimodal parts ({"type": "text",
// "text": ...} or {"type": "image_url", "image_url": {"url": ...}}). A
// string or a multimodal array is one input, an array of strings one input
// per string; the answer has one result per input, in order. Without a
// model the server's defaultModerationModel answers, when it is configured.
// Any other top-level field is refused, as OpenAI does.
//
// The verdict is deterministic:
//
//   - Text holding guardrailWord ("forbidden", in any case, as the Bedrock
//     guardrail) is flagged: violence is true with a score of 0.91, every
//     other category false. Images are never flagged.
//   - Every other score is below 0.01, drawn from the SHA-256 of the model
//     name and the input (its text; for a multimodal input its text parts
//     and image URLs in order, so a single text part scores as the same
//     string), so the same input always gets the same scores.
//   - category_applied_input_types lists "text" for every category when the
//     input has text, and "image" too for the categories OpenAI scores
//     images in (sexual, self-harm and its two subcategories, violence and
//     violence/graphic) when it has an image.
//
// Each input counts estimateTokens of its text bytes (plus imageTokens per
// image) against the context window, and goes through embedTurn like an
// embeddings call: faults, context window, latency.

// defaultModerationModel answers a moderation request that names no model.
const defaultModerationModel = "sim-moderation"

// moderationCategories are omni-moderation's categories, in answer order.
var moderationCategories = [...]string{
	"sexual", "sexual/minors", "harassment", "harassment/threatening",
	"hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/intent", "self-harm/instructions",
	"violence", "violence/graphic",
}

const numModerationCategories = len(moderationCategories)

// Indexes of moderationCategories that the verdict refers to.
const catViolence = 11

// imageCategories are the categories scored on images too.
var imageCategories = map[string]bool{
	"sexual": true, "self-harm": true, "self-harm/intent": true,
	"self-harm/instructions": true, "violence": true, "violence/graphic": true,
}

// Scores of the verdict.
const (
	flaggedScore  = 0.91 // violence, for text holding guardrailWord
	maxCleanScore = 0.01 // every other score is below it
)

// byCategory is one value per moderation category, sent as a JSON object
// keyed by category name in moderationCategories order.
type byCategory[T any] [numModerationCategories]T

func (b byCategory[T]) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range moderationCategories {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		v, err := json.Marshal(b[i])
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// moderationResult is one input's verdict.
type moderationResult struct {
	Flagged                   bool                 `json:"flagged"`
	Categories                byCategory[bool]     `json:"categories"`
	CategoryScores            byCategory[float64]  `json:"category_scores"`
	CategoryAppliedInputTypes byCategory[[]string] `json:"category_applied_input_types"`
}

// modInput is one input to classify.
type modInput struct {
	texts  []string // text parts (one for a string input)
	key    []string // what the scores hash: text parts and image URLs, in order
	images int
	tokens int
}

// modPart is one part of a multimodal input.
type modPart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// oaKind names a JSON value's type as OpenAI's errors do ("a string").
func oaKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(raw, ".eE") {
		return "a decimal"
	}
	return "an integer"
}

// moderationInputs reads the input field, or returns the message of a 400.
func moderationInputs(raw json.RawMessage) ([]modInput, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "Missing required parameter: 'input'."
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, "Invalid 'input': string too short. Expected a string with minimum length 1, but got an empty string instead."
		}
		return []modInput{textInput(one)}, ""
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil, fmt.Sprintf("Invalid type for 'input': expected one of a string, an array of strings, or an array of objects, but got %s instead.", oaKind(raw))
	}
	if len(elems) == 0 {
		return nil, "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead."
	}
	switch oaKind(elems[0]) {
	case "a string":
		ins := make([]modInput, len(elems))
		for i, e := range elems {
			var s string
			if json.Unmarshal(e, &s) != nil {
				return nil, fmt.Sprintf("Invalid type for 'input[%d]': expected a string, but got %s instead.", i, oaKind(e))
			}
			ins[i] = textInput(s)
		}
		return ins, ""
	case "an object":
		in, msg := multimodalInput(elems)
		if msg != "" {
			return nil, msg
		}
		return []modInput{in}, ""
	}
	return nil, fmt.Sprintf("Invalid type for 'input[0]': expected a string or an object, but got %s instead.", oaKind(elems[0]))
}

func textInput(s string) modInput {
	return modInput{texts: []string{s}, key: []string{s}, tokens: estimateTokens(len(s))}
}

// multimodalInput reads an array of parts as one input.
func multimodalInput(elems []json.RawMessage) (modInput, string) {
	var in modInput
	for i, e := range elems {
		var p modPart
		if oaKind(e) != "an object" || json.Unmarshal(e, &p) != nil {
			return modInput{}, fmt.Sprintf("Invalid type for 'input[%d]': expected an object, but got %s instead.", i, oaKind(e))
		}
		switch p.Type {
		case "text":
			if p.Text == nil {
				return modInput{}, fmt.Sprintf("Missing required parameter: 'input[%d].text'.", i)
			}
			in.texts = append(in.texts, *p.Text)
			in.key = append(in.key, *p.Text)
			in.tokens += estimateTokens(len(*p.Text))
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return modInput{}, fmt.Sprintf("Missing required parameter: 'input[%d].image_url.url'.", i)
			}
			in.key = append(in.key, p.ImageURL.URL)
			in.images++
			in.tokens += imageTokens
		case "":
			return modInput{}, fmt.Sprintf("Missing required parameter: 'input[%d].type'.", i)
		default:
			return modInput{}, fmt.Sprintf("Invalid value for 'input[%d].type': '%s'. Supported values are: 'text' and 'image_url'.", i, p.Type)
		}
	}
	return in, ""
}

// moderate is the verdict on one input by the named model.
func moderate(model string, in modInput) moderationResult {
	var res moderationResult
	sum := sha256.Sum256([]byte(model + "\x00" + strings.Join(in.key, "\x00")))
	g := &rng{state: binary.BigEndian.Uint64(sum[:8])}
	for i, name := range moderationCategories {
		res.CategoryScores[i] = float64(g.next()>>11) / float64(1<<53) * maxCleanScore
		types := make([]string, 0, 2)
		if len(in.texts) > 0 {
			types = append(types, "text")
		}
		if in.images > 0 && imageCategories[name] {
			types = append(types, "image")
		}
		res.CategoryAppliedInputTypes[i] = types
	}
	for _, t := range in.texts {
		if strings.Contains(strings.ToLower(t), guardrailWord) {
			res.Flagged = true
			res.Categories[catViolence] = true
			res.CategoryScores[catViolence] = flaggedScore
			break
		}
	}
	return res
}

// unrecognized is OpenAI's refusal of top-level fields it does not know,
// or "" when every field is known.
func unrecognized(fields map[string]json.RawMessage, known ...string) string {
	var extra []string
	for k := range fields {
		if !slices.Contains(known, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	switch len(extra) {
	case 0:
		return ""
	case 1:
		return "Unrecognized request argument supplied: " + extra[0]
	}
	return "Unrecognized request arguments supplied: " + strings.Join(extra, ", ")
}

// moderationFields are the top-level fields of a moderations request.
var moderationFields = []string{"model", "input"}

// modelFor answers a request whose fields were refused (msg) or that
// names no model with a 400, and one naming a model the simulator does not
// serve with a 404; otherwise it returns that model. False: it answered.
func (s *Server) modelFor(rw *recorder, model, msg string) (Model, bool) {
	d := openAI{s}
	switch {
	case msg != "":
		d.badRequest(rw, msg)
		return Model{}, false
	case model == "":
		d.badRequest(rw, "you must provide a model parameter")
		return Model{}, false
	}
	m, found := s.lookup(model)
	if !found {
		d.notFound(rw, model)
	}
	return m, found
}

// openAIObject reads the JSON object body of a request to one of OpenAI's
// newer endpoints (moderations, images, speech), records the call under
// its model (defaultModel when it names none and that model is
// configured) and refuses a top-level field not in known. It returns the
// fields, the model and the recording writer, or false when it answered.
func (s *Server) openAIObject(w http.ResponseWriter, r *http.Request, defaultModel string, known ...string) (map[string]json.RawMessage, string, *recorder, bool) {
	d := openAI{s}
	body, err := readBody(w, r)
	var fields map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(body, &fields)
	}
	if err != nil {
		c := s.begin("", r.URL.Path, false)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, "We could not parse the JSON body of your request. ("+errDecode(err)+")")
		return nil, "", nil, false
	}
	var model string
	if present(fields, "model") && json.Unmarshal(fields["model"], &model) != nil {
		c := s.begin("", r.URL.Path, false)
		d.badRequest(&recorder{ResponseWriter: w, c: c},
			fmt.Sprintf("Invalid type for 'model': expected a string, but got %s instead.", oaKind(fields["model"])))
		return nil, "", nil, false
	}
	if model == "" && defaultModel != "" {
		if _, ok := s.lookup(defaultModel); ok {
			model = defaultModel
		}
	}
	rw := &recorder{ResponseWriter: w, c: s.begin(model, r.URL.Path, false)}
	s.log.Debug("sim: request", "model", model, "path", r.URL.Path, "stream", false)
	if msg := unrecognized(fields, known...); msg != "" {
		d.badRequest(rw, msg)
		return nil, "", nil, false
	}
	return fields, model, rw, true
}

func (s *Server) handleModerations(w http.ResponseWriter, r *http.Request) {
	d := openAI{s}
	fields, model, rw, ok := s.openAIObject(w, r, defaultModerationModel, moderationFields...)
	if !ok {
		return
	}
	ins, msg := moderationInputs(fields["input"])
	m, ok := s.modelFor(rw, model, msg)
	if !ok {
		return
	}
	p := &prompt{}
	tokens := make([]int, len(ins))
	for i, in := range ins {
		for _, t := range in.texts {
			p.add(t)
		}
		p.images += in.images
		tokens[i] = in.tokens
	}
	if _, ok := s.embedTurn(rw, r, d, m, p, tokens); !ok {
		return
	}
	results := make([]moderationResult, len(ins))
	for i, in := range ins {
		results[i] = moderate(m.Name, in)
	}
	writeJSON(rw, http.StatusOK, map[string]any{
		"id": "modr-" + s.nextID(32), "model": m.Name, "results": results,
	}, map[string]string{"x-request-id": "req_" + s.nextID(24)})
}
