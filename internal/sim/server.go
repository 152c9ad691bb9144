package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds request bodies.
const maxBody = 32 << 20

// shutdownGrace is how long Run lets in-flight answers finish on shutdown.
const shutdownGrace = 5 * time.Second

// Call is one request the server saw.
type Call struct {
	// Time is when the request arrived, on the server's clock.
	Time time.Time
	// Path is the URL path, e.g. /v1/chat/completions.
	Path string
	// Stream is the request's "stream" flag (for speech, stream_format
	// "sse"), whether or not the answer streams.
	Stream bool
	// Status is the HTTP status sent; 0 when no response was sent (reset,
	// hang) or it is still being prepared.
	Status int
	// Fault is the fault injected into this call, or "".
	Fault FaultType
}

// Server is the simulated provider. It is safe for concurrent use; its
// config can be swapped while it serves.
type Server struct {
	now          func() time.Time
	log          *slog.Logger
	pingInterval time.Duration
	seq          atomic.Uint64 // response id counter

	mu     sync.Mutex
	models map[string]Model
	order  []string // model names in config order, for /v1/models
	state  map[string]*modelState

	stored storedResponses // Responses API objects, for GET and previous_response_id
	cache  promptCache     // prompts seen, for prompt caching
	images imageFiles      // images answered by URL, for GET
	videos videoStore      // Videos API jobs, for GET, content, remix and list

	conversations conversationStore // Conversations API objects, for their endpoints and the Responses API
	chats         chatStore         // chat completions made with store: true, for their endpoints
}

// modelState is what the server remembers about one model name.
type modelState struct {
	calls     []Call
	dropped   int       // calls forgotten from the front, to bound memory
	hits      []int     // matching calls seen per fault, reset by SetConfig
	downSince time.Time // first request after the config was set
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock used for Call times, "created" fields and the
// "down" fault. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLogger sets the logger. The default discards. Prompt text is never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithPingInterval sets how often an Anthropic stream sends a ping while
// it waits for the next token. The default is 5s.
func WithPingInterval(d time.Duration) Option { return func(s *Server) { s.pingInterval = d } }

// New returns a server for cfg. Zero model fields get their defaults; call
// Config.Validate first to reject a bad config.
func New(cfg Config, opts ...Option) *Server {
	s := &Server{
		now:          time.Now,
		log:          slog.New(slog.DiscardHandler),
		pingInterval: 5 * time.Second,
		state:        map[string]*modelState{},
	}
	for _, o := range opts {
		o(s)
	}
	s.SetConfig(cfg)
	return s
}

// SetConfig replaces the served models and resets fault state (Times
// counters and "down" start times). Recorded calls are kept.
func (s *Server) SetConfig(cfg Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models = map[string]Model{}
	s.order = s.order[:0]
	for _, m := range cfg.Models {
		if _, dup := s.models[m.Name]; dup {
			continue
		}
		s.models[m.Name] = m.withDefaults()
		s.order = append(s.order, m.Name)
	}
	for _, st := range s.state {
		st.hits = nil
		st.downSince = time.Time{}
	}
}

// Reset forgets recorded calls and fault state.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = map[string]*modelState{}
}

// Calls returns a copy of the calls made for a model name, oldest first.
// Requests whose model could not be read are recorded under "".
func (s *Server) Calls(model string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state[model]
	if st == nil {
		return nil
	}
	return append([]Call(nil), st.calls...)
}

// Handler returns the HTTP handler serving the OpenAI, Anthropic and Bedrock endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleOpenAIChat)
	mux.HandleFunc("GET /v1/chat/completions", s.handleChatList)
	mux.HandleFunc("GET /v1/chat/completions/{completion_id}", s.handleChatGet)
	mux.HandleFunc("POST /v1/chat/completions/{completion_id}", s.handleChatUpdate)
	mux.HandleFunc("DELETE /v1/chat/completions/{completion_id}", s.handleChatDelete)
	mux.HandleFunc("GET /v1/chat/completions/{completion_id}/messages", s.handleChatMessages)
	mux.HandleFunc("POST /v1/messages", s.handleAnthropic)
	mux.HandleFunc("POST /model/{modelId}/converse", s.handleConverse)
	mux.HandleFunc("POST /model/{modelId}/converse-stream", s.handleConverseStream)
	mux.HandleFunc("POST /model/{modelId}/count-tokens", s.handleBedrockCountTokens)
	mux.HandleFunc("POST /model/{modelId}/invoke", s.handleBedrockInvoke)
	mux.HandleFunc("POST /v1/messages/count_tokens", s.handleCountTokens)
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	mux.HandleFunc("POST /v1/moderations", s.handleModerations)
	mux.HandleFunc("POST /v1/images/generations", s.handleImageGenerations)
	mux.HandleFunc("POST /v1/images/edits", s.handleImageEdits)
	mux.HandleFunc("POST /v1/images/variations", s.handleImageVariations)
	mux.HandleFunc("GET /v1/images/files/{name}", s.handleImageFile)
	mux.HandleFunc("POST /v1/audio/speech", s.handleSpeech)
	mux.HandleFunc("POST /v1/audio/transcriptions", s.handleTranscriptions)
	mux.HandleFunc("POST /v1/audio/translations", s.handleTranslations)
	mux.HandleFunc("POST /v1/responses", s.handleResponses)
	mux.HandleFunc("POST /v1/responses/input_tokens", s.handleInputTokens)
	mux.HandleFunc("POST /v1/responses/compact", s.handleCompact)
	mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	mux.HandleFunc("GET /v1/responses/{id}", s.handleGetResponse)
	mux.HandleFunc("DELETE /v1/responses/{id}", s.handleDeleteResponse)
	mux.HandleFunc("GET /v1/responses/{id}/input_items", s.handleInputItems)
	mux.HandleFunc("POST /v1/responses/{id}/cancel", s.handleCancelResponse)
	mux.HandleFunc("GET /v1/realtime", s.handleRealtime)
	mux.HandleFunc("POST /v1/videos", s.handleVideoCreate)
	mux.HandleFunc("GET /v1/videos", s.handleVideoList)
	mux.HandleFunc("GET /v1/videos/{id}", s.handleVideoGet)
	mux.HandleFunc("DELETE /v1/videos/{id}", s.handleVideoDelete)
	mux.HandleFunc("GET /v1/videos/{id}/content", s.handleVideoContent)
	mux.HandleFunc("POST /v1/videos/{id}/remix", s.handleVideoRemix)
	mux.HandleFunc("POST /v1/conversations", s.handleConversationCreate)
	mux.HandleFunc("GET /v1/conversations/{conversation_id}", s.handleConversationGet)
	mux.HandleFunc("POST /v1/conversations/{conversation_id}", s.handleConversationUpdate)
	mux.HandleFunc("DELETE /v1/conversations/{conversation_id}", s.handleConversationDelete)
	mux.HandleFunc("GET /v1/conversations/{conversation_id}/items", s.handleConversationItemList)
	mux.HandleFunc("POST /v1/conversations/{conversation_id}/items", s.handleConversationItemAdd)
	mux.HandleFunc("GET /v1/conversations/{conversation_id}/items/{item_id}", s.handleConversationItemGet)
	mux.HandleFunc("DELETE /v1/conversations/{conversation_id}/items/{item_id}", s.handleConversationItemDelete)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /v1/models/{model}", s.handleModel)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeOpenAIError(w, http.StatusNotFound, oaError{
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
			Type:    "invalid_request_error",
		}, 0)
	})
	return mux
}

// call is a handle on a recorded Call, to set its outcome later.
type call struct {
	s     *Server
	model string
	idx   int
}

// begin records the arrival of a request.
func (s *Server) begin(model, path string, stream bool) call {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stateOf(model)
	if len(st.calls) >= maxCalls {
		// Keep the newest half: load tests send far more requests than any
		// test inspects, and the record must not grow without bound.
		n := copy(st.calls, st.calls[len(st.calls)/2:])
		st.dropped += len(st.calls) - n
		st.calls = st.calls[:n]
	}
	st.calls = append(st.calls, Call{Time: s.now(), Path: path, Stream: stream})
	return call{s: s, model: model, idx: st.dropped + len(st.calls) - 1}
}

// maxCalls bounds the calls recorded per model.
const maxCalls = 10000

func (s *Server) stateOf(model string) *modelState {
	st := s.state[model]
	if st == nil {
		st = &modelState{}
		s.state[model] = st
	}
	return st
}

// update changes the recorded call, unless Reset dropped it.
func (c call) update(f func(*Call)) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	st := c.s.state[c.model]
	if st == nil {
		return
	}
	if i := c.idx - st.dropped; i >= 0 && i < len(st.calls) {
		f(&st.calls[i])
	}
}

func (c call) setStatus(code int) { c.update(func(k *Call) { k.Status = code }) }

// lookup returns the model by name.
func (s *Server) lookup(name string) (Model, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[name]
	return m, ok
}

// pickFault chooses the fault for a request: the X-Sim-Fault header first,
// then the model's faults in order. stream tells whether mid-stream faults
// can match.
func (s *Server) pickFault(r *http.Request, m Model, stream bool) (*Fault, error) {
	if h := r.Header.Get("X-Sim-Fault"); h != "" {
		f, err := parseFaultHeader(h)
		if err != nil || (f.Type.midStream() && !stream) {
			return nil, err
		}
		return &f, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stateOf(m.Name)
	if len(st.hits) != len(m.Faults) {
		st.hits = make([]int, len(m.Faults))
	}
	now := s.now()
	for i, f := range m.Faults {
		if f.Type == FaultDown {
			if st.downSince.IsZero() {
				st.downSince = now
			}
			if now.Sub(st.downSince) < f.For {
				return &f, nil
			}
			continue
		}
		if f.Type.midStream() && !stream {
			continue
		}
		if f.Times > 0 && st.hits[i] >= f.Times {
			continue
		}
		st.hits[i]++
		return &f, nil
	}
	return nil, nil
}

// parseFaultHeader reads "type" or "type;key=value;..." where keys are the
// Fault's YAML names (status, retry_after, delay, after, for).
func parseFaultHeader(h string) (Fault, error) {
	parts := strings.Split(h, ";")
	f := Fault{Type: FaultType(strings.TrimSpace(parts[0]))}
	if !faultTypes[f.Type] {
		return Fault{}, fmt.Errorf("sim: X-Sim-Fault: unknown fault type %q", f.Type)
	}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		var err error
		switch k {
		case "status":
			f.Status, err = strconv.Atoi(v)
		case "after":
			f.After, err = strconv.Atoi(v)
		case "retry_after":
			f.RetryAfter, err = time.ParseDuration(v)
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		case "for":
			f.For, err = time.ParseDuration(v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return Fault{}, fmt.Errorf("sim: X-Sim-Fault: %w", err)
		}
	}
	return f, nil
}

// nextID returns a fresh hex id of n characters.
func (s *Server) nextID(n int) string {
	id := fmt.Sprintf("%0*x", n, s.seq.Add(1))
	return id[len(id)-n:]
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hangKey carries, in each request's context, a context that is cancelled
// when the server stops, so hung handlers return on shutdown too.
type hangKey struct{}

// hang blocks until the client goes away or the server stops, then aborts
// the connection so that no response (or stream end) is sent.
func hang(ctx context.Context) {
	stop, _ := ctx.Value(hangKey{}).(context.Context)
	if stop == nil {
		stop = context.Background()
	}
	select {
	case <-ctx.Done():
	case <-stop.Done():
	}
	panic(http.ErrAbortHandler)
}

// Run serves the simulated provider on addr until ctx is done, then shuts
// down gracefully: in-flight answers get a few seconds, hung ones end at once.
func Run(ctx context.Context, addr string, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen: %w", err)
	}
	s := New(cfg, WithLogger(log))
	log.Info("sim: serving", "addr", ln.Addr().String(), "models", len(cfg.Models))
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done, then shuts down like Run. It
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hangCtx, stopHangs := context.WithCancel(context.Background())
	defer stopHangs()
	base := context.WithValue(context.Background(), hangKey{}, hangCtx)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sim: serve: %w", err)
	case <-ctx.Done():
	}
	stopHangs()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("sim: shutdown: %w", err), srv.Close())
	}
	<-errc
	return err
}

// Start serves cfg on 127.0.0.1 at a free port for in-process use (tests,
// demos). It returns the server, its base URL ("http://127.0.0.1:PORT";
// OpenAI clients append /v1) and a stop function that shuts it down and
// waits for it.
func Start(cfg Config, opts ...Option) (*Server, string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("sim: listen: %w", err)
	}
	s := New(cfg, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx, ln); err != nil {
			s.log.Warn("sim: stopped", "err", err)
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	return s, "http://" + ln.Addr().String(), stop, nil
}
