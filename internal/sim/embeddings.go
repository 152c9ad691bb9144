package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"unicode"
)

// embedRequest is an OpenAI embeddings request.
type embedRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     int             `json:"dimensions"`
}

// embedInputs returns each input's text and token count. Input may be a
// string, an array of strings, an array of token ids or an array of those.
func embedInputs(raw json.RawMessage) ([]string, []int, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, []int{estimateTokens(len(one))}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		toks := make([]int, len(many))
		for i, s := range many {
			toks[i] = estimateTokens(len(s))
		}
		return many, toks, len(many) > 0
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil {
		return []string{fmt.Sprint(ids)}, []int{len(ids)}, len(ids) > 0
	}
	var idss [][]int
	if json.Unmarshal(raw, &idss) == nil {
		texts := make([]string, len(idss))
		toks := make([]int, len(idss))
		for i, ids := range idss {
			texts[i], toks[i] = fmt.Sprint(ids), len(ids)
		}
		return texts, toks, len(idss) > 0
	}
	return nil, nil, false
}

// embed returns the deterministic unit vector of text.
func embed(model, text string, dims int) []float32 {
	sum := sha256.Sum256([]byte(model + "\x00" + text))
	g := &rng{state: binary.BigEndian.Uint64(sum[:8])}
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x := float64(g.next()>>11)/float64(1<<53)*2 - 1
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	d := openAI{s}
	body, err := readBody(w, r)
	var req embedRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		c := s.begin("", r.URL.Path, false)
		d.badRequest(&recorder{ResponseWriter: w, c: c}, "We could not parse the JSON body of your request. ("+errDecode(err)+")")
		return
	}
	c := s.begin(req.Model, r.URL.Path, false)
	rw := &recorder{ResponseWriter: w, c: c}
	texts, toks, ok := embedInputs(req.Input)
	switch {
	case req.Model == "":
		d.badRequest(rw, "you must provide a model parameter")
		return
	case !ok:
		d.badRequest(rw, "'input' : input must be a string, an array of strings, or an array of token arrays, and must not be empty")
		return
	}
	m, found := s.lookup(req.Model)
	if !found {
		d.notFound(rw, req.Model)
		return
	}
	p := &prompt{}
	for _, t := range texts {
		p.add(t)
	}
	total, ok := s.embedTurn(rw, r, d, m, p, toks)
	if !ok {
		return
	}
	dims := m.EmbeddingDims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	data := make([]any, len(texts))
	for i, t := range texts {
		v := embed(m.Name, t, dims)
		if m.EmbedWords {
			v = embedWords(m.Name, t, dims)
		}
		var out any = v
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			out = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": out}
	}
	writeJSON(rw, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": m.Name,
		"usage": map[string]int{"prompt_tokens": total, "total_tokens": total},
	}, map[string]string{"x-request-id": "req_" + s.nextID(24)})
}

// embedTurn is what every embeddings call (OpenAI's, Bedrock's) goes
// through before its answer: an injected fault, each input's length
// (tokens) against the context window, and the model's latency. It
// returns the inputs' total tokens, and false when it answered instead
// (or the client left).
func (s *Server) embedTurn(rw *recorder, r *http.Request, d dialect, m Model, p *prompt, tokens []int) (int, bool) {
	total, _, ok := s.uploadTurn(rw, r, d, m, p, tokens, false)
	return total, ok
}

// uploadTurn is embedTurn for a request that may stream its answer (speech,
// transcriptions). With stream set, mid-stream faults match too, and a
// slow_first_token fault delays the stream's first event rather than its
// headers. It also returns the fault picked, for the stream to inject.
func (s *Server) uploadTurn(rw *recorder, r *http.Request, d dialect, m Model, p *prompt, tokens []int, stream bool) (int, *Fault, bool) {
	f, err := s.pickFault(r, m, stream)
	if err != nil {
		d.badRequest(rw, err.Error())
		return 0, nil, false
	}
	if f != nil {
		rw.c.update(func(k *Call) { k.Fault = f.Type })
		s.log.Debug("sim: fault", "model", m.Name, "fault", string(f.Type), "path", r.URL.Path)
		if s.preFault(rw, r, d, f, p, m) {
			return 0, nil, false
		}
	}
	total := 0
	for _, t := range tokens {
		total += t
		if t > m.ContextWindow {
			d.contextError(rw, t, 0, m.ContextWindow)
			return 0, nil, false
		}
	}
	delay := m.Latency
	if f != nil && f.Type == FaultSlowFirstToken && !stream {
		delay += f.Delay
	}
	return total, f, sleep(r.Context(), delay) == nil
}

// embedWords is the bag-of-words unit vector of text: the normalised sum of
// embed(model, word) over its lower-cased letter-and-digit words.
func embedWords(model, text string, dims int) []float32 {
	sum := make([]float64, dims)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		for i, x := range embed(model, w, dims) {
			sum[i] += float64(x)
		}
	}
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	v := make([]float32, dims)
	if norm == 0 {
		return embed(model, text, dims) // no words: a vector of the bytes
	}
	norm = math.Sqrt(norm)
	for i, x := range sum {
		v[i] = float32(x / norm)
	}
	return v
}
