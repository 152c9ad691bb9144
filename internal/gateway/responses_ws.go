package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/wirejson"
)

// The Responses API's WebSocket mode (GET /v1/responses, upgraded): one
// connection carries many responses, each asked for by a response.create
// event whose body is a POST /v1/responses body. The gateway serves each
// as a request of its own, through the same path as POST /v1/responses
// (streamed): routed, admitted, failed over, translated for any provider,
// cached and recorded, with a usage record and request id per response.
// Its stream events go out as WebSocket messages, and a refusal as an
// error event carrying the status an HTTP request would have got. So no
// upstream needs to speak WebSocket mode, and nothing about a turn
// differs from the same request over HTTP.
//
// Responses with the same stream_id (a lane; none is a lane too) run one
// after another in the order asked; different lanes run at once, and
// every event of a lane's response carries its stream_id.
//
// As OpenAI keeps a connection's responses in the connection, a response
// asked for with store false (or a warm-up, generate false, which runs no
// model) is kept in the connection too (its input and
// output items): a later response.create naming it in
// previous_response_id is sent as the self-contained request a stateless
// client would have made (that conversation, then its own input), which
// any deployment of the route can serve and none has to remember.
const (
	// maxWSLanes bounds the lanes of one connection.
	maxWSLanes = 32
	// maxWSQueued bounds the responses waiting in one lane.
	maxWSQueued = 16
	// maxWSKept and maxWSKeptBytes bound the store-false responses a
	// connection keeps (the newest).
	maxWSKept      = 16
	maxWSKeptBytes = 16 << 20
)

// maxWSKeptTotal bounds what all connections of the process keep: a
// response past it is served but not kept (a follow-up naming it gets the
// not-found answer of an unknown response). A variable for tests.
var maxWSKeptTotal int64 = 256 << 20

// ServeResponsesWebSocket serves GET /v1/responses: the WebSocket mode.
// The connection is authenticated by its handshake; a GET that is not a
// WebSocket handshake is a 405, as before the mode existed (in
// Anthropic's format for an Anthropic client, as every 405).
func (g *Gateway) ServeResponsesWebSocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Allow", "POST")
		d := openAIDialect
		if AnthropicClient(r) {
			d = anthropicDialect
		}
		d.writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", anthropicType: "invalid_request_error",
			message: "GET on /v1/responses is the Responses API's WebSocket mode (connect with a WebSocket); create responses with POST"})
		return
	}
	x, r := g.start(r, openAIDialect, "switchyard.responses.websocket")
	keyFromProtocol(r) // a browser's key, as for the Realtime API
	entered := false
	defer func() {
		g.finish(r.Context(), x)
		if entered {
			g.sessions.leave()
		}
	}()
	rt, _, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	if ae := handshakeError(w, r); ae != nil {
		g.fail(w, x, ae)
		return
	}
	// Opening a connection counts as a request against the key's and
	// tenant's rate limits (each response on it does too).
	if !g.admitFree(r.Context(), w, x, rt) {
		return
	}
	origins := rt.cfg.Server.WebSocketOrigins
	if !originAllowed(r, origins) {
		g.fail(w, x, &apiError{status: http.StatusForbidden, code: "origin_not_allowed", anthropicType: "permission_error",
			message: "pages of origin " + strconv.Quote(truncate(r.Header.Get("Origin"), 200)) + " may not connect here (server.websocket_origins)"})
		return
	}
	if entered = g.sessions.enter(); !entered {
		g.fail(w, x, &apiError{status: http.StatusServiceUnavailable, code: "shutting_down", anthropicType: "api_error", message: "the gateway is shutting down"})
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	// A browser that offered subprotocols (its key's among them) fails a
	// handshake that selects none: select another it offered, else its
	// key's, which tells the page nothing it did not send.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: origins, Subprotocols: selectProtocol(r)})
	if err != nil {
		x.status, x.errKind = http.StatusBadRequest, "websocket_handshake"
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(rt.cfg.Server.MaxBodyBytes)
	x.status = http.StatusSwitchingProtocols
	if m := g.metrics; m != nil {
		m.ResponsesSockets.Inc()
		defer m.ResponsesSockets.Dec()
	}
	c := &wsConn{g: g, conn: conn, header: turnHeader(r.Header), lanes: map[string]chan wsTurn{}, idle: rt.cfg.Server.IdleTimeout.D()}
	c.run(r.Context())
}

// admitFree admits a request that costs nothing (a WebSocket-mode
// connection, a warm-up) against the caller's rate limits, settled at
// once; a refusal is answered on w.
func (g *Gateway) admitFree(ctx context.Context, w http.ResponseWriter, x *exchange, rt *runtime) bool {
	adm, err := rt.guard.Admit(ctx, x.who, "", 0, 0)
	if err != nil {
		g.deny(ctx, w, x, err)
		return false
	}
	adm.Settle(0, 0, 0)
	return true
}

// turnHeader is the handshake's header as each response's request gets
// it: the client's own headers (routing hints, OpenAI-Beta, trace
// context), without the handshake's.
func turnHeader(h http.Header) http.Header {
	out := h.Clone()
	for _, k := range []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Content-Length"} {
		out.Del(k)
	}
	out.Set("Content-Type", "application/json")
	return out
}

// wsConn is one WebSocket-mode connection.
type wsConn struct {
	g      *Gateway
	conn   *websocket.Conn
	header http.Header

	wg    sync.WaitGroup
	lanes map[string]chan wsTurn // read loop only

	mu        sync.Mutex
	kept      map[string][]byte // store-false response id → its conversation
	keptOrder []string          // oldest first
	keptBytes int

	// idle ends a connection with no event from the client and no
	// response in progress for this long (server.idle_timeout; 0: never).
	idle     time.Duration
	last     atomic.Int64 // unix nanoseconds of the last client event or finished response
	inFlight atomic.Int32 // responses queued or running
	queued   atomic.Int64 // bytes of the responses queued and not yet run
}

// maxWSQueuedBytes bounds the bytes of the responses one connection has
// waiting to run, and maxWSQueuedTotal those of every connection: a
// response waiting has not been admitted, so no limit of the key holds
// it. Variables for tests.
var (
	maxWSQueuedBytes int64 = 64 << 20
	maxWSQueuedTotal int64 = 256 << 20
)

// enqueue counts n more bytes waiting on c, or says why they may not wait.
func (c *wsConn) enqueue(n int64) string {
	if c.queued.Add(n) > maxWSQueuedBytes {
		c.queued.Add(-n)
		return "the responses waiting on this connection may hold at most " + strconv.FormatInt(maxWSQueuedBytes>>20, 10) + " MiB"
	}
	if c.g.wsQueued.Add(n) > maxWSQueuedTotal {
		c.g.wsQueued.Add(-n)
		c.queued.Add(-n)
		return "the gateway holds as many waiting responses as it may; send this one when one of yours has run"
	}
	return ""
}

// dequeue counts n bytes no longer waiting on c.
func (c *wsConn) dequeue(n int64) {
	c.queued.Add(-n)
	c.g.wsQueued.Add(-n)
}

// expand rewrites a turn that continues a response kept in the connection
// into one carrying that response's conversation, and says which response
// it continued ("" when it did not rewrite it).
func (c *wsConn) expand(body []byte) ([]byte, string) {
	prev := gjson.GetBytes(body, "previous_response_id").Str
	if prev == "" {
		return body, ""
	}
	c.mu.Lock()
	conv, ok := c.kept[prev]
	c.mu.Unlock()
	if !ok {
		return body, ""
	}
	out, err := sjson.DeleteBytes(body, "previous_response_id")
	if err == nil {
		out, err = sjson.SetRawBytes(out, "input", joinArrays(conv, inputItems(body)))
	}
	if err != nil {
		return body, ""
	}
	return out, prev
}

// continuedKey carries the response a WebSocket-mode turn continued, which
// expand removed from its body, to the request serving it: its response
// object still names it.
type continuedKey struct{}

// keep remembers a store-false response's conversation: the input it was
// asked with (its continued conversation included), then its output.
func (c *wsConn) keep(id string, body, output []byte) {
	conv := joinArrays(inputItems(body), output)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kept == nil {
		c.kept = map[string][]byte{}
	}
	old, replaced := c.kept[id]
	if c.g.wsKept.Add(int64(len(conv)-len(old))) > maxWSKeptTotal {
		c.g.wsKept.Add(int64(len(old) - len(conv)))
		c.g.log.Warn("responses websocket: a store-false response is not kept: every connection's kept responses fill the process's share", "limit_bytes", maxWSKeptTotal)
		return
	}
	if replaced {
		c.keptBytes -= len(old)
	} else {
		c.keptOrder = append(c.keptOrder, id)
	}
	c.kept[id] = conv
	c.keptBytes += len(conv)
	for len(c.keptOrder) > 1 && (len(c.keptOrder) > maxWSKept || c.keptBytes > maxWSKeptBytes) {
		n := len(c.kept[c.keptOrder[0]])
		c.keptBytes -= n
		c.g.wsKept.Add(-int64(n))
		delete(c.kept, c.keptOrder[0])
		c.keptOrder = c.keptOrder[1:]
	}
}

// forgetAll drops what the connection keeps, when it ends.
func (c *wsConn) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.g.wsKept.Add(-int64(c.keptBytes))
	c.kept, c.keptOrder, c.keptBytes = nil, nil, 0
}

func (c *wsConn) run(ctx context.Context) {
	// A response cut by a shutdown has ErrShuttingDown for its context's
	// cause, so it is recorded as the shutdown's (as over HTTP), not as
	// a client that went away.
	ctx, cancelCause := context.WithCancelCause(ctx)
	cancel := func() { cancelCause(nil) }
	defer cancel()
	defer c.forgetAll()
	c.active()
	read := make(chan error, 1)
	go func() { read <- c.read(ctx) }()
	var idle <-chan time.Time
	if c.idle > 0 {
		t := time.NewTicker(max(c.idle/4, 10*time.Millisecond))
		defer t.Stop()
		idle = t.C
	}
wait:
	for {
		select {
		case <-read:
			// The client closed (or broke) the connection: the responses
			// in progress are of no use to anyone now.
			cancel()
			c.conn.Close(websocket.StatusNormalClosure, "")
			break wait
		case <-c.g.sessions.closing:
			cancelCause(ErrShuttingDown)
			c.conn.Close(websocket.StatusGoingAway, "the gateway is shutting down")
			<-read
			break wait
		case <-idle:
			if c.inFlight.Load() > 0 || time.Since(time.Unix(0, c.last.Load())) < c.idle {
				continue
			}
			cancel()
			c.conn.Close(websocket.StatusNormalClosure, "idle for longer than server.idle_timeout")
			<-read
			break wait
		}
	}
	// Every response asked for has its usage recorded before the
	// connection counts as ended.
	c.wg.Wait()
}

// active notes that the connection is in use now (an event came, a
// response ended), for the idle timeout.
func (c *wsConn) active() { c.last.Store(time.Now().UnixNano()) }

// read takes the client's events until the connection ends. Each
// response.create is queued in its lane; anything else is answered with
// an error event.
func (c *wsConn) read(ctx context.Context) error {
	defer func() {
		for _, q := range c.lanes {
			close(q)
		}
	}()
	// Events are read (and errors sent) with a context that cannot be
	// cancelled: the WebSocket library drops a connection whose read's
	// context ends, before run could close it with a code (1001 at
	// shutdown). run ends the loop by closing the connection.
	io := context.WithoutCancel(ctx)
	for {
		typ, data, err := c.conn.Read(io)
		if err != nil {
			return err
		}
		c.active()
		if typ != websocket.MessageText || !wirejson.Valid(data) || !gjson.ParseBytes(data).IsObject() {
			c.sendError(io, "", http.StatusBadRequest, "invalid_request_error", "invalid_event", "", "an event must be a JSON object in a text message")
			continue
		}
		ev := gjson.ParseBytes(data)
		lane := ev.Get("stream_id").Str
		switch t := ev.Get("type").Str; t {
		case "response.create":
		case "response.steer":
			c.sendError(io, lane, http.StatusBadRequest, "invalid_request_error", "unsupported_event", "type",
				"response.steer is not served by this gateway: send the input with the next response.create")
			continue
		default:
			c.sendError(io, lane, http.StatusBadRequest, "invalid_request_error", "invalid_event", "type",
				"unknown event type "+strconv.Quote(truncate(t, 100))+"; send response.create")
			continue
		}
		if s := ev.Get("stream_id"); s.Exists() && !validLane(s) {
			c.sendError(io, "", http.StatusBadRequest, "invalid_request_error", "invalid_value", "stream_id",
				"stream_id must be 1-256 ASCII letters, digits, '_', '-' or '.'")
			continue
		}
		body, warm, msg, param := turnBody(data)
		if msg != "" {
			c.sendError(io, lane, http.StatusBadRequest, "invalid_request_error", "invalid_value", param, msg)
			continue
		}
		q, ok := c.lanes[lane]
		if !ok {
			if len(c.lanes) >= maxWSLanes {
				c.sendError(io, lane, http.StatusBadRequest, "invalid_request_error", "too_many_lanes", "stream_id",
					"a connection has at most "+strconv.Itoa(maxWSLanes)+" stream_ids")
				continue
			}
			q = make(chan wsTurn, maxWSQueued)
			c.lanes[lane] = q
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				for t := range q {
					c.dequeue(int64(len(t.body)))
					switch {
					case ctx.Err() != nil: // the connection ended before its turn
					case t.warm:
						c.warmUp(ctx, lane, t.body)
					default:
						c.turn(ctx, lane, t.body)
					}
					c.active()
					c.inFlight.Add(-1)
				}
			}()
		}
		if why := c.enqueue(int64(len(body))); why != "" {
			c.sendError(io, lane, http.StatusTooManyRequests, "rate_limit_error", "too_many_queued", "", why)
			continue
		}
		c.inFlight.Add(1)
		select {
		case q <- wsTurn{body: body, warm: warm}:
		default:
			c.inFlight.Add(-1)
			c.dequeue(int64(len(body)))
			c.sendError(io, lane, http.StatusTooManyRequests, "rate_limit_error", "too_many_queued", "",
				"this stream_id already has "+strconv.Itoa(maxWSQueued)+" responses waiting")
		}
	}
}

// validLane reports whether a stream_id is one the API accepts.
func validLane(s gjson.Result) bool {
	if s.Type != gjson.String || len(s.Str) == 0 || len(s.Str) > 256 {
		return false
	}
	for i := 0; i < len(s.Str); i++ {
		ch := s.Str[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '.') {
			return false
		}
	}
	return true
}

// wsTurn is a response asked for: its POST /v1/responses body, and
// whether it is a warm-up (generate: false).
type wsTurn struct {
	body []byte
	warm bool
}

// turnBody is the POST /v1/responses body of a response.create event:
// without the event's own fields, streamed; warm when the event asks for
// a warm-up. A field the mode does not take is named in msg (with its
// param).
func turnBody(event []byte) (body []byte, warm bool, msg, param string) {
	if gjson.GetBytes(event, "background").Bool() {
		return nil, false, "background is not supported over WebSocket", "background"
	}
	warm = gjson.GetBytes(event, "generate").Type == gjson.False
	body = event
	for _, f := range []string{"type", "stream_id", "generate", "stream"} {
		body, _ = sjson.DeleteBytes(body, f)
	}
	body, _ = sjson.SetBytes(body, "stream", true)
	return body, warm, "", ""
}

// warmUp answers a generate: false response.create: no model runs and
// nothing is charged; the request's input (after the conversation of a
// kept response it continues) is kept in the connection under a new
// response id, which later responses continue by previous_response_id,
// sending only their new input. Its events are a response.created and a
// response.completed with no output. The key is checked as for any
// response.
func (c *wsConn) warmUp(ctx context.Context, lane string, body []byte) {
	ctx = context.WithoutCancel(ctx) // as turnWriter writes
	if rt := c.g.rt.Load(); rt != nil {
		who, err := rt.guard.Authenticate(ctx, c.header)
		if err != nil {
			c.sendDenied(ctx, lane, err)
			return
		}
		// A warm-up costs nothing, but counts against the rate limits.
		adm, err := rt.guard.Admit(ctx, who, "", 0, 0)
		if err != nil {
			c.sendDenied(ctx, lane, err)
			return
		}
		adm.Settle(0, 0, 0)
	}
	body, _ = c.expand(body)
	req, err := openaiapi.ParseResponses(body)
	if err != nil {
		var bre *openaiapi.BadRequestError
		if errors.As(err, &bre) {
			c.sendError(ctx, lane, http.StatusBadRequest, "invalid_request_error", "invalid_value", bre.Param, bre.Message)
		}
		return
	}
	id := "resp_" + reqid.New()
	c.keep(id, body, []byte("[]"))
	resp := map[string]any{"id": id, "object": "response", "created_at": time.Now().Unix(), "model": req.Model,
		"status": "in_progress", "output": []any{}, "usage": nil}
	for i, typ := range []string{"response.created", "response.completed"} {
		if i == 1 {
			resp["status"] = "completed"
			resp["usage"] = map[string]any{"input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
				"input_tokens_details": map[string]int{"cached_tokens": 0}, "output_tokens_details": map[string]int{"reasoning_tokens": 0}}
		}
		ev := map[string]any{"type": typ, "sequence_number": i, "response": resp}
		if lane != "" {
			ev["stream_id"] = lane
		}
		b, err := json.Marshal(ev)
		if err != nil || c.conn.Write(ctx, websocket.MessageText, b) != nil {
			return
		}
	}
}

// sendDenied sends a guard's refusal as an error event, as a turn's
// refusal is sent (Gateway.deny): the status, type and code the same
// HTTP request would have got.
func (c *wsConn) sendDenied(ctx context.Context, lane string, err error) {
	var d *Denied
	if !errors.As(err, &d) {
		c.g.log.Error("guard failed", "request_id", reqid.From(ctx), "err", err)
		d = &Denied{Status: http.StatusServiceUnavailable, Code: "auth_unavailable", Type: "api_error", Message: "the gateway could not check the API key"}
	}
	tw := &turnWriter{ctx: ctx, c: c, lane: lane, header: http.Header{}}
	openAIResponsesDialect.writeError(tw, &apiError{status: d.Status, code: d.Code, anthropicType: d.Type, message: d.Message})
	tw.end()
}

// turn serves one response as a request of its own (its own request id
// and usage record), with the handshake's headers, and sends its events.
func (c *wsConn) turn(ctx context.Context, lane string, body []byte) {
	body, prev := c.expand(body)
	// Each turn is authenticated again by the handshake's headers (the
	// guard caches keys): a key revoked while the connection is open asks
	// for nothing more.
	rctx := reqid.With(ctx, reqid.New())
	if prev != "" {
		rctx = context.WithValue(rctx, continuedKey{}, prev)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, "/v1/responses", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header = c.header.Clone()
	req.ContentLength = int64(len(body))
	// Messages are written with a context that cannot be cancelled, which
	// would cost the WebSocket library a timer per message (as in the
	// Realtime relay): the connection ends writes by being closed.
	tw := &turnWriter{ctx: context.WithoutCancel(ctx), c: c, lane: lane, header: http.Header{}, keep: gjson.GetBytes(body, "store").Type == gjson.False}
	c.g.ServeOpenAIResponses(tw, req)
	tw.end()
	if tw.doneID != "" {
		c.keep(tw.doneID, body, tw.output)
	}
}

// sendError sends an error event of the WebSocket mode: the error as an
// HTTP request would have got it, with that request's status.
func (c *wsConn) sendError(ctx context.Context, lane string, status int, typ, code, param, message string) {
	type wsError struct {
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
	}
	ev := struct {
		Type     string  `json:"type"`
		Status   int     `json:"status"`
		StreamID string  `json:"stream_id,omitempty"`
		Error    wsError `json:"error"`
	}{Type: "error", Status: status, StreamID: lane, Error: wsError{Type: typ, Message: message}}
	if code != "" {
		ev.Error.Code = &code
	}
	if param != "" {
		ev.Error.Param = &param
	}
	if b, err := json.Marshal(ev); err == nil {
		_ = c.conn.Write(ctx, websocket.MessageText, b)
	}
}

// errSocketGone stops a response whose connection can no longer be
// written: the gateway handles it as a client that went away.
var errSocketGone = errors.New("gateway: the WebSocket connection is gone")

// turnWriter is the http.ResponseWriter a turn is served to: a stream's
// server-sent events become WebSocket messages as they come; any other
// answer (a refusal) is kept and sent as an error event at the end.
type turnWriter struct {
	ctx    context.Context
	c      *wsConn
	lane   string
	header http.Header
	status int
	stream bool
	buf    []byte
	gone   bool
	// keep: the response is to be kept in the connection; doneID and
	// output are its id and output items once it completed.
	keep   bool
	doneID string
	output []byte
}

func (t *turnWriter) Header() http.Header { return t.header }

func (t *turnWriter) WriteHeader(status int) {
	if t.status != 0 {
		return
	}
	t.status = status
	t.stream = status == http.StatusOK && strings.HasPrefix(t.header.Get("Content-Type"), "text/event-stream")
}

func (t *turnWriter) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.WriteHeader(http.StatusOK)
	}
	if t.gone {
		return 0, errSocketGone
	}
	t.buf = append(t.buf, p...)
	if t.stream {
		t.events()
	}
	if t.gone {
		return 0, errSocketGone
	}
	return len(p), nil
}

// Flush: every event is sent as soon as it is complete.
func (t *turnWriter) Flush() {}

// events sends the complete events in the buffer: each one's data
// (an SSE frame's data lines), with the lane's stream_id added.
func (t *turnWriter) events() {
	for {
		i := bytes.Index(t.buf, []byte("\n\n"))
		if i < 0 {
			return
		}
		var data []byte
		for line := range bytes.SplitSeq(t.buf[:i], []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				data = append(data, bytes.TrimPrefix(v, []byte(" "))...)
			}
		}
		t.buf = t.buf[:copy(t.buf, t.buf[i+2:])]
		if len(data) == 0 || string(data) == "[DONE]" {
			continue
		}
		if typ := gjson.GetBytes(data, "type").Str; t.keep && (typ == "response.completed" || typ == "response.incomplete") {
			// An incomplete response (cut at max_output_tokens) is a
			// response too: it can be continued.
			r := gjson.GetBytes(data, "response")
			if out := r.Get("output"); validResponseID(r.Get("id").Str) && out.IsArray() {
				t.doneID, t.output = r.Get("id").Str, []byte(out.Raw)
			}
		}
		if t.lane != "" {
			data, _ = sjson.SetBytes(data, "stream_id", t.lane)
		}
		if err := t.c.conn.Write(t.ctx, websocket.MessageText, data); err != nil {
			t.gone = true
			return
		}
	}
}

// end sends what a turn answered other than a stream: a refusal as an
// error event, with its status.
func (t *turnWriter) end() {
	if t.stream || t.gone || t.status == 0 {
		return
	}
	e := gjson.GetBytes(t.buf, "error")
	if t.status == http.StatusOK || !e.IsObject() {
		t.c.sendError(t.ctx, t.lane, http.StatusBadGateway, "server_error", "invalid_response", "", "the response could not be streamed")
		return
	}
	t.c.sendError(t.ctx, t.lane, t.status, e.Get("type").Str, e.Get("code").Str, e.Get("param").Str, e.Get("message").Str)
}

// selectProtocol is the subprotocol a handshake selects from those the
// client offered: the first that is not a key's, else the first; none
// when it offered none.
func selectProtocol(r *http.Request) []string {
	offered := websocketProtocols(r)
	for _, p := range offered {
		if !strings.HasPrefix(p, keyProtocol) {
			return []string{p}
		}
	}
	return offered[:min(len(offered), 1)]
}
