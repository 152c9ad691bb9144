package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// dialect is one wire format's side of a chat exchange: its errors, its
// JSON answer and its stream.
type dialect interface {
	badRequest(w http.ResponseWriter, msg string)
	notFound(w http.ResponseWriter, model string)
	statusError(w http.ResponseWriter, status int, retryAfter time.Duration)
	contextError(w http.ResponseWriter, input, maxTokens, window int)
	policyError(w http.ResponseWriter)
	respond(w http.ResponseWriter, x *exchange, rep reply)
	newStream(w http.ResponseWriter, x *exchange, rep reply) streamer
}

// streamer writes one dialect's stream events; every method flushes.
type streamer interface {
	start() error // headers and opening events, before the first token
	token(piece string) error
	ping() error
	malformed() error
	fail() error                  // in-band error event; the stream ends after it
	finish(terminator bool) error // closing events, with or without the terminator
}

// exchange is one chat request being answered.
type exchange struct {
	s       *Server
	model   Model
	p       *prompt
	id      string
	created int64
	input   int // input tokens
	cached  int // of which read from the prompt cache
	written int // of which written to the prompt cache (Anthropic)
	// reasoning is the output tokens spent reasoning (OpenAI) or thinking
	// (Anthropic), on top of the answer's.
	reasoning int
	usage     bool
}

// recorder records the status of a response on its Call as soon as the
// header is written.
type recorder struct {
	http.ResponseWriter
	c     call
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.wrote = true
		r.c.setStatus(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// readBody reads the whole request body, bounded.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

// chat answers a parsed chat request of either dialect.
func (s *Server) chat(w http.ResponseWriter, r *http.Request, d dialect, name string, p *prompt, stream bool) {
	c := s.begin(name, r.URL.Path, stream)
	rw := &recorder{ResponseWriter: w, c: c}
	s.log.Debug("sim: request", "model", name, "path", r.URL.Path, "stream", stream)
	m, ok := s.lookup(name)
	if !ok {
		d.notFound(rw, name)
		return
	}
	if msg := reasoningProblem(d, m, p); msg != "" {
		d.badRequest(rw, msg)
		return
	}
	f, err := s.pickFault(r, m, stream)
	if err != nil {
		d.badRequest(rw, err.Error())
		return
	}
	if f != nil {
		c.update(func(k *Call) { k.Fault = f.Type })
		s.log.Debug("sim: fault", "model", name, "fault", string(f.Type), "path", r.URL.Path)
		if s.preFault(rw, r, d, f, p, m) {
			return
		}
	}
	in := p.inputTokens()
	if in+p.maxTokens > m.ContextWindow {
		d.contextError(rw, in, p.maxTokens, m.ContextWindow)
		return
	}
	ctx := r.Context()
	if sleep(ctx, m.Latency) != nil {
		return
	}
	ttft := m.FirstToken
	if f != nil && f.Type == FaultSlowFirstToken {
		ttft += f.Delay
	}
	rep := guarded(p, generate(m, p))
	x := &exchange{s: s, model: m, p: p, created: s.now().Unix(), input: in, usage: p.includeUsage}
	x.cached, x.written = s.cacheTokens(d, m, p, in)
	x.reasoning = reasoningTokens(d, m, p)
	if !stream {
		if sleep(ctx, ttft+time.Duration(len(rep.tokens)-1)*gap(m)) != nil {
			return
		}
		d.respond(rw, x, rep)
		return
	}
	var mid *Fault
	if f != nil && f.Type.midStream() {
		mid = f
	}
	s.stream(ctx, rw, d.newStream(rw, x, rep), rep, ttft, gap(m), mid)
}

// gap is the time between two tokens of m.
func gap(m Model) time.Duration {
	if m.TokensPerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / m.TokensPerSecond)
}

// preFault applies a fault that replaces the answer, and reports whether it did.
func (s *Server) preFault(w http.ResponseWriter, r *http.Request, d dialect, f *Fault, p *prompt, m Model) bool {
	switch f.Type {
	case FaultStatus:
		st := f.Status
		if st == 0 {
			st = http.StatusInternalServerError
		}
		d.statusError(w, st, f.RetryAfter)
	case FaultDown:
		d.statusError(w, http.StatusServiceUnavailable, 0)
	case FaultContextLength:
		max := p.maxTokens
		if max == 0 {
			max = m.OutputTokens
		}
		in := p.inputTokens()
		if in <= m.ContextWindow {
			in = m.ContextWindow + 1
		}
		d.contextError(w, in, max, m.ContextWindow)
	case FaultContentPolicy:
		d.policyError(w)
	case FaultReset:
		reset(w)
	case FaultHang:
		hang(r.Context())
	default:
		return false
	}
	return true
}

// reset closes the client's connection with a TCP RST, before any header.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// stream paces the reply's tokens out through st, injecting a mid-stream fault.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, st streamer, rep reply, ttft, every time.Duration, f *Fault) {
	wait := func(d time.Duration) error {
		for d > 0 {
			step := min(d, s.pingInterval)
			if err := sleep(ctx, step); err != nil {
				return err
			}
			if d -= step; d > 0 {
				if err := st.ping(); err != nil {
					return err
				}
			}
		}
		return ctx.Err()
	}
	if st.start() != nil {
		return
	}
	for i := 0; ; i++ {
		if f != nil && i == min(f.After, len(rep.tokens)) {
			switch f.Type {
			case FaultStall:
				hang(ctx)
				return
			case FaultCut:
				panic(http.ErrAbortHandler)
			case FaultStreamError:
				_ = st.fail()
				return
			case FaultMalformed:
				if st.malformed() != nil {
					return
				}
			}
		}
		if i == len(rep.tokens) {
			break
		}
		d := every
		if i == 0 {
			d = ttft
		}
		if wait(d) != nil || st.token(rep.tokens[i]) != nil {
			return
		}
	}
	_ = st.finish(f == nil || f.Type != FaultMissingDone)
}

// sse writes server-sent events and flushes each one.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sse {
	return &sse{w: w, rc: http.NewResponseController(w)}
}

// header sends the stream's headers.
func (e *sse) header(extra map[string]string) error {
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	for k, v := range extra {
		h.Set(k, v)
	}
	e.w.WriteHeader(http.StatusOK)
	return e.rc.Flush()
}

// event writes one event; name is omitted when empty. data is JSON-encoded
// unless it is already []byte.
func (e *sse) event(name string, data any) error {
	var b []byte
	switch v := data.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return fmt.Errorf("sim: encode event: %w", err)
		}
	}
	var buf []byte
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := e.w.Write(buf); err != nil {
		return err
	}
	return e.rc.Flush()
}

// writeJSON sends v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any, headers map[string]string) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(b)))
	for k, v := range headers {
		h.Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// retryAfterSeconds renders a Retry-After value in whole seconds, rounded up.
func retryAfterSeconds(d time.Duration) string {
	return fmt.Sprint(int64((d + time.Second - 1) / time.Second))
}

// errDecode explains a JSON decoding failure without echoing the body.
func errDecode(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s: expected %s", te.Field, te.Type)
	}
	return "invalid JSON"
}

// adaptiveBudget is the budget the simulator reads adaptive thinking
// ({"type":"adaptive"}) as.
const adaptiveBudget = 1024

// defaultThinkingTokens is the length of the simulator's thinking block
// when the model does not say.
const defaultThinkingTokens = 16

// reasoningProblem is the 400 a request's reasoning parameters get from
// model m, as the real APIs word it, or "".
func reasoningProblem(d dialect, m Model, p *prompt) string {
	switch d.(type) {
	case anthropicAPI:
		if p.thinkBudget > 0 && !m.Reasoning {
			return fmt.Sprintf("'%s' does not support thinking.", m.Name)
		}
		return ""
	case bedrockAPI:
		if p.thinkBudget > 0 && !m.Reasoning {
			return brModelErrors + "thinking: Extra inputs are not permitted"
		}
		return ""
	}
	switch {
	case p.effort != "" && !m.Reasoning:
		return "Unsupported parameter: 'reasoning_effort' is not supported with this model."
	case !m.Reasoning:
		return ""
	case p.effort != "" && effortTokens(p.effort) < 0:
		return fmt.Sprintf("Invalid value: '%s'. Supported values are: 'minimal', 'low', 'medium', and 'high'.", p.effort)
	case p.maxTokensParam:
		return "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
	case p.temperature != nil && *p.temperature != 1:
		return fmt.Sprintf("Unsupported value: 'temperature' does not support %g with this model. Only the default (1) value is supported.", *p.temperature)
	}
	return ""
}

// reasoningTokens is what model m spends reasoning on the request.
func reasoningTokens(d dialect, m Model, p *prompt) int {
	switch d.(type) {
	case anthropicAPI, bedrockAPI:
		if p.thinkBudget > 0 {
			return m.ThinkingTokens
		}
	case openAI, chatAPI, responsesAPI:
		if m.Reasoning {
			return max(effortTokens(p.effort), 0)
		}
	}
	return 0
}

// effortTokens is the reasoning tokens of an effort (medium when unset),
// or -1 for an unknown effort.
func effortTokens(effort string) int {
	switch effort {
	case "minimal":
		return 0
	case "low":
		return 8
	case "", "medium":
		return 16
	case "high":
		return 32
	}
	return -1
}
