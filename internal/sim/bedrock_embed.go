package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Bedrock's InvokeModel for embedding models: the body is the model's own
// JSON, chosen by the model id. Amazon Titan Text Embeddings (a name
// holding "titan-embed"; v2 when it holds "titan-embed-text-v2") and
// Cohere Embed (a name holding "cohere.embed"; v4 when it holds
// "embed-v4") are served; any other model refuses the request. Refusals
// are worded as Bedrock words its request-schema checks: "Malformed input
// request: <violation>, please reformat your input and try again.".

// brEmbedFamily is the request body an embedding model takes.
type brEmbedFamily int

const (
	notEmbedding brEmbedFamily = iota
	titanV1
	titanV2
	cohereV3
	cohereV4
)

// embedFamily is the body the model named name takes.
func embedFamily(name string) brEmbedFamily {
	switch {
	case strings.Contains(name, "titan-embed-text-v2"):
		return titanV2
	case strings.Contains(name, "titan-embed"):
		return titanV1
	case strings.Contains(name, "cohere.embed") && strings.Contains(name, "embed-v4"):
		return cohereV4
	case strings.Contains(name, "cohere.embed"):
		return cohereV3
	}
	return notEmbedding
}

// cohereMaxInputs is the most texts (or images, or inputs) of one Cohere
// request.
const cohereMaxInputs = 96

// brEmbedInput is one thing to embed: its text (an image's data URI for an
// image) and its input tokens.
type brEmbedInput struct {
	text   string
	tokens int
	images int
}

// brEmbedRequest is a parsed InvokeModel body of an embedding model.
type brEmbedRequest interface {
	// inputs are the things to embed, one vector each.
	inputs() []brEmbedInput
	// dims is the length of the vectors, given the model's default.
	dims(def int) int
	// answer is the response body, given one vector per input.
	answer(d bedrockAPI, in []brEmbedInput, vecs [][]float32) any
}

// handleBedrockInvoke answers POST /model/{modelId}/invoke for embedding
// models. The body is read before anything is answered: the AWS SDK
// closes a request body the server has not read to its end yet when the
// answer comes first, and its connection with it.
func (s *Server) handleBedrockInvoke(w http.ResponseWriter, r *http.Request) {
	d := bedrockAPI{s: s, arrived: time.Now()}
	model := r.PathValue("modelId")
	body, readErr := readBody(w, r)
	c := s.begin(model, r.URL.Path, false)
	rw := &recorder{ResponseWriter: w, c: c}
	s.log.Debug("sim: request", "model", model, "path", r.URL.Path, "stream", false)
	if !bedrockAuthorized(r) {
		d.writeError(rw, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.", 0)
		return
	}
	if readErr != nil {
		d.badRequest(rw, "Unable to read the request body.")
		return
	}
	m, ok := s.lookup(model)
	if !ok {
		d.notFound(rw, model)
		return
	}
	req, msg := parseEmbedInvoke(m.Name, body)
	if msg != "" {
		d.badRequest(rw, msg)
		return
	}
	in := req.inputs()
	p := &prompt{}
	for _, x := range in {
		p.add(x.text)
		p.images += x.images
	}
	tokens := make([]int, len(in))
	for i, x := range in {
		tokens[i] = x.tokens
	}
	total, ok := s.embedTurn(rw, r, d, m, p, tokens)
	if !ok {
		return
	}
	dims := req.dims(m.EmbeddingDims)
	vecs := make([][]float32, len(in))
	for i, x := range in {
		vecs[i] = embedVector(m, x, dims)
	}
	writeJSON(rw, http.StatusOK, req.answer(d, in, vecs), map[string]string{
		"X-Amzn-Bedrock-Input-Token-Count":  strconv.Itoa(total),
		"X-Amzn-Bedrock-Invocation-Latency": strconv.FormatInt(time.Since(d.arrived).Milliseconds(), 10),
		"x-amzn-RequestId":                  d.requestID(),
	})
}

// embedVector is the vector of one input, as the OpenAI endpoint embeds
// the same text for a model of the same name; an image is the vector of
// its bytes.
func embedVector(m Model, x brEmbedInput, dims int) []float32 {
	if m.EmbedWords && x.images == 0 {
		return embedWords(m.Name, x.text, dims)
	}
	return embed(m.Name, x.text, dims)
}

// parseEmbedInvoke decodes the InvokeModel body of the embedding model
// named name, or returns the message of a 400.
func parseEmbedInvoke(name string, body []byte) (brEmbedRequest, string) {
	switch fam := embedFamily(name); fam {
	case titanV1, titanV2:
		return parseTitan(fam, body)
	case cohereV3, cohereV4:
		return parseCohere(fam, body)
	}
	return nil, malformed(fmt.Sprintf("the model %s is not an embedding model and does not support this request body", name))
}

// malformed is Bedrock's wording of a body its schema check refuses.
func malformed(violation string) string {
	return "Malformed input request: " + violation + ", please reformat your input and try again."
}

// checkKeys decodes body as a JSON object and refuses a key not in
// allowed, reported in sorted order so the message is stable.
func checkKeys(body []byte, allowed []string) (map[string]json.RawMessage, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, malformed("#: expected type: JSONObject, found: " + jsonKind(te.Value))
		}
		return nil, malformed(errDecode(err))
	}
	if fields == nil {
		return nil, malformed("#: expected type: JSONObject, found: Null")
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, malformed(fmt.Sprintf("extraneous key [%s] is not permitted", k))
		}
	}
	return fields, ""
}

// present reports whether the object has key k with a value other than null.
func present(fields map[string]json.RawMessage, k string) bool {
	v, ok := fields[k]
	return ok && strings.TrimSpace(string(v)) != "null"
}

// decodeTyped decodes body into v, wording a type mismatch as Bedrock's
// schema check does.
func decodeTyped(body []byte, v any) string {
	err := json.Unmarshal(body, v)
	if err == nil {
		return ""
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return malformed(fmt.Sprintf("#/%s: expected type: %s, found: %s", strings.ReplaceAll(te.Field, ".", "/"), schemaType(te.Type), jsonKind(te.Value)))
	}
	return malformed(errDecode(err))
}

// jsonKind names a JSON value's kind (as encoding/json reports it) in the
// schema checker's words.
func jsonKind(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "Number"
	case v == "string":
		return "String"
	case v == "bool":
		return "Boolean"
	case v == "array":
		return "JSONArray"
	case v == "object":
		return "JSONObject"
	}
	return v
}

// schemaType names the JSON type a Go type decodes from.
func schemaType(t reflect.Type) string {
	if t == nil {
		return "unknown"
	}
	switch t.Kind() {
	case reflect.String:
		return "String"
	case reflect.Bool:
		return "Boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "Integer"
	case reflect.Float64, reflect.Float32:
		return "Number"
	case reflect.Slice, reflect.Array:
		return "JSONArray"
	case reflect.Map, reflect.Struct:
		return "JSONObject"
	case reflect.Pointer:
		return schemaType(t.Elem())
	}
	return t.String()
}

// notEnum words a value outside its enum.
func notEnum(path string, v any) string {
	return malformed(fmt.Sprintf("#/%s: %v is not a valid enum value", path, v))
}

// checkEnums refuses an element of list outside allowed.
func checkEnums(path string, list, allowed []string) string {
	for i, v := range list {
		if !slices.Contains(allowed, v) {
			return notEnum(fmt.Sprintf("%s/%d", path, i), v)
		}
	}
	return ""
}

// titanRequest is an Amazon Titan Text Embeddings body.
type titanRequest struct {
	InputText      *string  `json:"inputText"`
	Dimensions     *int     `json:"dimensions"`
	Normalize      *bool    `json:"normalize"`
	EmbeddingTypes []string `json:"embeddingTypes"`
	v2             bool
}

// parseTitan decodes a Titan body: inputText only for v1; dimensions,
// normalize and embeddingTypes too for v2.
func parseTitan(fam brEmbedFamily, body []byte) (*titanRequest, string) {
	allowed := []string{"inputText"}
	if fam == titanV2 {
		allowed = append(allowed, "dimensions", "normalize", "embeddingTypes")
	}
	fields, msg := checkKeys(body, allowed)
	if msg != "" {
		return nil, msg
	}
	if !present(fields, "inputText") {
		return nil, malformed("#: required key [inputText] not found")
	}
	req := &titanRequest{v2: fam == titanV2}
	if msg := decodeTyped(body, req); msg != "" {
		return nil, msg
	}
	switch {
	case *req.InputText == "":
		return nil, malformed("#/inputText: expected minLength: 1, actual: 0")
	case req.Dimensions != nil && !slices.Contains([]int{256, 512, 1024}, *req.Dimensions):
		return nil, notEnum("dimensions", *req.Dimensions)
	case req.EmbeddingTypes != nil && len(req.EmbeddingTypes) == 0:
		return nil, malformed("#/embeddingTypes: expected minimum item count: 1, found: 0")
	}
	if msg := checkEnums("embeddingTypes", req.EmbeddingTypes, []string{"float", "binary"}); msg != "" {
		return nil, msg
	}
	return req, ""
}

func (req *titanRequest) inputs() []brEmbedInput {
	return []brEmbedInput{{text: *req.InputText, tokens: estimateTokens(len(*req.InputText))}}
}

func (req *titanRequest) dims(def int) int {
	if req.Dimensions != nil {
		return *req.Dimensions
	}
	return def
}

// answer is {"embedding", "inputTextTokenCount"} and, for v2, always
// "embeddingsByType" with the types asked for (float by default).
// normalize is not applied: the simulator's vectors are unit vectors.
func (req *titanRequest) answer(_ bedrockAPI, in []brEmbedInput, vecs [][]float32) any {
	out := map[string]any{"embedding": vecs[0], "inputTextTokenCount": in[0].tokens}
	if !req.v2 {
		return out
	}
	types := req.EmbeddingTypes
	if len(types) == 0 {
		types = []string{"float"}
	}
	byType := map[string]any{}
	for _, t := range types {
		switch t {
		case "float":
			byType["float"] = vecs[0]
		case "binary":
			bits := make([]int, len(vecs[0]))
			for i, x := range vecs[0] {
				if x > 0 {
					bits[i] = 1
				}
			}
			byType["binary"] = bits
		}
	}
	out["embeddingsByType"] = byType
	return out
}

// cohereRequest is a Cohere Embed body.
type cohereRequest struct {
	Texts  []string `json:"texts"`
	Images []string `json:"images"`
	Inputs []struct {
		Content []struct {
			Type     string          `json:"type"`
			Text     string          `json:"text"`
			ImageURL json.RawMessage `json:"image_url"`
		} `json:"content"`
	} `json:"inputs"`
	InputType       *string  `json:"input_type"`
	Truncate        *string  `json:"truncate"`
	EmbeddingTypes  []string `json:"embedding_types"`
	OutputDimension *int     `json:"output_dimension"`
	MaxTokens       *int     `json:"max_tokens"`
}

// parseCohere decodes a Cohere Embed body: exactly one of texts or images
// (v4: or inputs), 1 to 96 of them, and input_type; v4 also takes
// output_dimension and max_tokens.
func parseCohere(fam brEmbedFamily, body []byte) (*cohereRequest, string) {
	allowed := []string{"texts", "images", "input_type", "truncate", "embedding_types"}
	truncates := []string{"NONE", "START", "END"}
	inputTypes := []string{"search_document", "search_query", "classification", "clustering", "image"}
	sources := []string{"texts", "images"}
	if fam == cohereV4 {
		allowed = append(allowed, "inputs", "output_dimension", "max_tokens")
		truncates = []string{"NONE", "LEFT", "RIGHT"}
		inputTypes = inputTypes[:4]
		sources = append(sources, "inputs")
	}
	fields, msg := checkKeys(body, allowed)
	if msg != "" {
		return nil, msg
	}
	if !present(fields, "input_type") {
		return nil, malformed("#: required key [input_type] not found")
	}
	var given []string
	for _, k := range sources {
		if present(fields, k) {
			given = append(given, k)
		}
	}
	switch {
	case len(given) == 0:
		return nil, malformed("#: required key [texts] not found")
	case len(given) > 1:
		return nil, malformed(fmt.Sprintf("#: only one of [%s] may be given", strings.Join(sources, ", ")))
	}
	req := &cohereRequest{}
	if msg := decodeTyped(body, req); msg != "" {
		return nil, msg
	}
	limit := cohereMaxInputs
	if given[0] == "images" && fam == cohereV3 {
		limit = 1 // v3 takes one image a call
	}
	n := len(req.Texts) + len(req.Images) + len(req.Inputs)
	switch {
	case n < 1:
		return nil, malformed(fmt.Sprintf("#/%s: expected minimum item count: 1, found: 0", given[0]))
	case n > limit:
		return nil, malformed(fmt.Sprintf("#/%s: expected maximum item count: %d, found: %d", given[0], limit, n))
	case !slices.Contains(inputTypes, *req.InputType):
		return nil, notEnum("input_type", *req.InputType)
	case req.Truncate != nil && !slices.Contains(truncates, *req.Truncate):
		return nil, notEnum("truncate", *req.Truncate)
	case req.OutputDimension != nil && !slices.Contains([]int{256, 512, 1024, 1536}, *req.OutputDimension):
		return nil, notEnum("output_dimension", *req.OutputDimension)
	case req.MaxTokens != nil && *req.MaxTokens < 1:
		return nil, malformed(fmt.Sprintf("#/max_tokens: %d is not greater or equal to 1", *req.MaxTokens))
	case req.EmbeddingTypes != nil && len(req.EmbeddingTypes) == 0:
		return nil, malformed("#/embedding_types: expected minimum item count: 1, found: 0")
	}
	if msg := checkEnums("embedding_types", req.EmbeddingTypes, []string{"float", "int8", "uint8", "binary", "ubinary"}); msg != "" {
		return nil, msg
	}
	return req, ""
}

// inputs are the texts, the images (by their data URIs) or the
// interleaved inputs (their parts joined).
func (req *cohereRequest) inputs() []brEmbedInput {
	var out []brEmbedInput
	for _, t := range req.Texts {
		out = append(out, brEmbedInput{text: t, tokens: estimateTokens(len(t))})
	}
	for _, im := range req.Images {
		out = append(out, brEmbedInput{text: im, tokens: imageTokens, images: 1})
	}
	for _, x := range req.Inputs {
		var in brEmbedInput
		var parts []string
		for _, c := range x.Content {
			if c.Type == "image_url" {
				parts = append(parts, string(c.ImageURL))
				in.images++
				in.tokens += imageTokens
				continue
			}
			parts = append(parts, c.Text)
			in.tokens += estimateTokens(len(c.Text))
		}
		in.text = strings.Join(parts, "\x00")
		out = append(out, in)
	}
	return out
}

func (req *cohereRequest) dims(def int) int {
	if req.OutputDimension != nil {
		return *req.OutputDimension
	}
	return def
}

// answer is {"id", "embeddings", "response_type", "texts"}: embeddings a
// list of float vectors (embeddings_floats), or with embedding_types a map
// from each type asked for to its vectors (embeddings_by_type).
func (req *cohereRequest) answer(d bedrockAPI, _ []brEmbedInput, vecs [][]float32) any {
	texts := req.Texts
	if texts == nil {
		texts = []string{}
	}
	out := map[string]any{"id": d.requestID(), "texts": texts}
	if len(req.EmbeddingTypes) == 0 {
		out["embeddings"], out["response_type"] = vecs, "embeddings_floats"
		return out
	}
	byType := map[string]any{}
	for _, t := range req.EmbeddingTypes {
		if t == "float" {
			byType[t] = vecs
			continue
		}
		conv := make([][]int, len(vecs))
		for i, v := range vecs {
			conv[i] = quantize(t, v)
		}
		byType[t] = conv
	}
	out["embeddings"], out["response_type"] = byType, "embeddings_by_type"
	return out
}

// quantize is a unit vector as Cohere's integer embedding types: int8 and
// uint8 scale each value; binary and ubinary pack the signs eight to a
// byte (the last byte padded with zeros), signed or unsigned.
func quantize(typ string, v []float32) []int {
	switch typ {
	case "int8":
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(math.Round(float64(x) * 127))
		}
		return out
	case "uint8":
		out := make([]int, len(v))
		for i, x := range v {
			out[i] = int(math.Round((float64(x) + 1) * 127.5))
		}
		return out
	}
	out := make([]int, (len(v)+7)/8)
	for i, x := range v {
		if x > 0 {
			out[i/8] |= 1 << (7 - i%8)
		}
	}
	if typ == "binary" {
		for i, b := range out {
			out[i] = int(int8(uint8(b)))
		}
	}
	return out
}
