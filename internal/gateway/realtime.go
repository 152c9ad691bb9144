package gateway

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/openaiapi"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/reqid"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// A Realtime API session (GET /v1/realtime) is one client request: it is
// authenticated, routed and admitted like any other, then a deployment
// with capabilities.realtime is dialled through the executor (failing over
// until one accepts) and only then is the client's WebSocket accepted, so
// every refusal before that is an HTTP error in OpenAI's format. From
// there frames are relayed as they come, both ways, unchanged; the
// gateway reads only each upstream event's type, a text delta's length
// (in case its response is cut), and the usage of each response.done,
// which it prices and charges against the caller's budgets as the session
// goes. The session's key is checked again before each response (see
// session.recheck). The session's usage record, log line and metrics
// are written when it ends.

// upstreamReadLimit bounds one upstream frame (a response.done carrying a
// long conversation item, or a large audio delta).
const upstreamReadLimit = provider.MaxResponseBody

// maxKeptFrameBuffer bounds the buffer a relay direction keeps between
// frames.
const maxKeptFrameBuffer = 1 << 20

// Budgeted is an Admission that can charge the caller's budgets while its
// request runs: a Realtime session charges each response as it is done.
// Extend charges costUSD, or fails (a *Denied) when a budget cannot take
// it; Settle then charges the rest of the request's cost.
type Budgeted interface {
	Extend(ctx context.Context, costUSD float64) error
}

// sessions tracks the Realtime sessions in progress, whose connections
// net/http no longer tracks once they are hijacked, so shutdown can end
// them and wait for their accounting.
type sessions struct {
	mu      sync.Mutex
	wg      sync.WaitGroup
	closing chan struct{} // closed when shutdown starts
	closed  bool
}

func newSessions() *sessions { return &sessions{closing: make(chan struct{})} }

// enter counts a new session in, unless shutdown has started.
func (s *sessions) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *sessions) leave() { s.wg.Done() }

// CloseSessions ends every Realtime session (the client gets close code
// 1001, going away) and refuses new ones, then waits until their usage is
// recorded or ctx ends. The server calls it when it shuts down.
func (g *Gateway) CloseSessions(ctx context.Context) error {
	s := g.sessions
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func servesRealtime(p provider.Provider) bool { _, ok := p.(provider.RealtimeDialer); return ok }

// Subprotocols a browser's Realtime client offers: the API key (browsers
// cannot set headers on a WebSocket) and the beta protocol.
const (
	keyProtocol  = "openai-insecure-api-key."
	betaProtocol = "openai-beta.realtime-v1"
)

// keyFromProtocol moves the API key a browser offers as a subprotocol
// (openai-insecure-api-key.KEY: a browser cannot set a WebSocket's
// headers) into r's Authorization header, unless r has a key header
// already or the key is a Realtime client secret (read elsewhere).
func keyFromProtocol(r *http.Request) {
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
		return
	}
	for _, p := range websocketProtocols(r) {
		if key, ok := strings.CutPrefix(p, keyProtocol); ok && !strings.HasPrefix(key, clientSecretPrefix) {
			r.Header.Set("Authorization", "Bearer "+key)
			return
		}
	}
}

// ServeRealtime serves GET /v1/realtime, OpenAI's Realtime API.
func (g *Gateway) ServeRealtime(w http.ResponseWriter, r *http.Request) {
	x, r := g.start(r, openAIDialect, "switchyard.realtime")
	// A session counts for shutdown until it is accounted for: leave
	// after finish, so the drain waits for the usage record.
	entered := false
	defer func() {
		g.finish(r.Context(), x)
		if entered {
			g.sessions.leave()
		}
	}()
	x.streamed = true
	// A client secret stands for the key that made it.
	var secret *clientSecret
	var staticKey *[32]byte
	if token := clientSecretOf(r); token != "" {
		if rt := g.rt.Load(); rt != nil {
			cs, p, hash, err := g.clientSecretPrincipal(r.Context(), rt, token)
			if err != nil {
				g.deny(r.Context(), w, x, err)
				return
			}
			r, secret, staticKey = r.WithContext(WithPrincipal(r.Context(), p)), &cs, hash
		}
	}
	beta := r.Header.Get("OpenAI-Beta")
	keyFromProtocol(r)
	for _, p := range websocketProtocols(r) {
		if p == betaProtocol && beta == "" {
			beta = "realtime=v1"
		}
	}
	rt, _, ok := g.authenticated(w, r, x)
	if !ok {
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		g.fail(w, x, &apiError{status: http.StatusUpgradeRequired, code: "websocket_required", anthropicType: "invalid_request_error",
			message: "the Realtime API is a WebSocket: connect with ws:// or wss:// (an OpenAI SDK's realtime client)"})
		return
	}
	if ae := handshakeError(w, r); ae != nil {
		g.fail(w, x, ae)
		return
	}
	origins := rt.cfg.Server.WebSocketOrigins
	if !originAllowed(r, origins) {
		g.fail(w, x, &apiError{status: http.StatusForbidden, code: "origin_not_allowed", anthropicType: "permission_error",
			message: "pages of origin " + strconv.Quote(truncate(r.Header.Get("Origin"), 200)) + " may not open a Realtime session here (server.websocket_origins)"})
		return
	}
	// Azure's clients name the deployment instead of the model.
	q := r.URL.Query()
	req := relayed{model: cmp.Or(q.Get("model"), q.Get("deployment")), capability: config.CapRealtime, serves: servesRealtime, what: "the Realtime API"}
	if secret != nil && secret.Model != "" {
		if req.model != "" && req.model != secret.Model {
			g.failErr(w, x, badField("model", "this client secret is for model "+strconv.Quote(secret.Model)))
			return
		}
		req.model = secret.Model
	}
	if req.model == "" {
		if req.model = rt.firstWith(req.capability, nil); req.model == "" {
			g.fail(w, x, &apiError{status: http.StatusBadRequest, code: "no_capable_deployment", anthropicType: "invalid_request_error",
				message: "no deployment serves the Realtime API (capabilities.realtime); name a model"})
			return
		}
	}
	plan, ae := rt.passthroughPlan(x, req)
	if ae != nil {
		g.fail(w, x, ae)
		return
	}
	// A session's cost is unknown until its responses are done: it is
	// admitted against rate limits and an unexhausted budget, and holds
	// its concurrency slot while open; each response is charged as it
	// ends.
	if !g.admit(w, r, x, rt, 0, 0) {
		return
	}
	if entered = g.sessions.enter(); !entered {
		g.fail(w, x, &apiError{status: http.StatusServiceUnavailable, code: "shutting_down", anthropicType: "api_error", message: "the gateway is shutting down"})
		return
	}
	up, trace, err := g.exec.Realtime(r.Context(), plan, &provider.RealtimeRequest{Query: q, Beta: beta})
	x.trace = trace
	g.setRouteHeaders(w, x)
	if err != nil {
		g.failErr(w, x, err)
		return
	}
	defer up.CloseNow()
	up.SetReadLimit(upstreamReadLimit)
	if d, ok := rt.deployments[trace.Deployment]; ok {
		x.model = d.cfg.Model
	}
	// The server's read deadline for the request would cut the session.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	client, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"realtime"}, OriginPatterns: origins})
	if err != nil {
		// Accept answered the client (a bad handshake, or another origin).
		x.status, x.errKind = http.StatusBadRequest, "websocket_handshake"
		up.Close(websocket.StatusNormalClosure, "")
		return
	}
	defer client.CloseNow()
	client.SetReadLimit(rt.cfg.Server.MaxBodyBytes)
	x.status = http.StatusOK
	if m := g.metrics; m != nil {
		m.Realtime.Inc()
		defer m.Realtime.Dec()
	}
	s := &session{g: g, x: x, rt: rt, deployment: trace.Deployment, client: client, up: up, header: r.Header.Clone()}
	if secret != nil {
		s.secret, s.keyID, s.staticKey = true, secret.KeyID, staticKey
		// The settings the client secret was made with are sent before
		// any of the client's events, and the client sees the session
		// created with them (settle), as OpenAI applies them.
		if settings := g.clientSecretSettings(r.Context(), *secret); settings != nil {
			s.settling = up.Write(r.Context(), websocket.MessageText, sessionUpdate(settings)) == nil
		}
	}
	s.run(r.Context())
}

// originAllowed reports whether a browser page of the request's origin
// may open a session: one of the gateway's own host, or of a host the
// patterns match (as the WebSocket handshake checks it, which would
// refuse it only after the upstream was dialled). A request without an
// Origin is not a browser's.
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// handshakeError checks a WebSocket handshake (whose Upgrade header the
// caller checked) as websocket.Accept will, and returns its refusal in
// the API's format, else nil. Accept would answer in plain text, and on
// the Realtime API only after a deployment was dialled.
func handshakeError(w http.ResponseWriter, r *http.Request) *apiError {
	required := func(message string) *apiError {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		return &apiError{status: http.StatusUpgradeRequired, code: "websocket_required", anthropicType: "invalid_request_error", message: message}
	}
	invalid := func(message string) *apiError {
		return &apiError{status: http.StatusBadRequest, code: "invalid_websocket_handshake", anthropicType: "invalid_request_error", message: message}
	}
	if !r.ProtoAtLeast(1, 1) {
		return required("a WebSocket handshake needs HTTP/1.1, not " + strconv.Quote(truncate(r.Proto, 20)))
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return required("a WebSocket handshake needs the header Connection: Upgrade")
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		// RFC 6455 4.4: 426 with the versions the server speaks.
		w.Header().Set("Sec-WebSocket-Version", "13")
		return &apiError{status: http.StatusUpgradeRequired, code: "invalid_websocket_handshake", anthropicType: "invalid_request_error",
			message: "unsupported WebSocket version " + strconv.Quote(truncate(v, 20)) + " (Sec-WebSocket-Version): only 13 is supported"}
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return invalid("a WebSocket handshake needs exactly one Sec-WebSocket-Key header, got " + strconv.Itoa(len(keys)))
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return invalid("the Sec-WebSocket-Key " + strconv.Quote(truncate(keys[0], 64)) + " is not 16 bytes in base64")
	}
	return nil
}

// headerHasToken reports whether one of h's name headers lists token
// (comma-separated, case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// websocketProtocols lists the subprotocols a handshake offers.
func websocketProtocols(r *http.Request) []string {
	var out []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// session relays one Realtime API session.
type session struct {
	g          *Gateway
	x          *exchange
	rt         *runtime
	deployment string
	client, up *websocket.Conn
	// The session's key, checked again before each response: the
	// handshake's headers, or (secret) the key id of the client secret
	// it opened with, or for a static key's secret the key's digest.
	header    http.Header
	secret    bool
	keyID     string
	staticKey *[32]byte

	// Written by the upstream pump only; read after it has returned.
	// open holds the responses created and not yet done, by id, each
	// with the text (or transcript) bytes it passed on already. Several
	// may run at once (out-of-band responses, conversation "none").
	open   map[string]int
	events int // upstream events relayed
	// settling is set while a client secret's settings are applied;
	// created holds the upstream's session.created meanwhile.
	settling bool
	created  []byte
}

// end is how one direction of the relay stopped.
type end struct {
	fromClient bool
	// status and reason are the close frame received; status is -1 when
	// the connection ended without one.
	status websocket.StatusCode
	reason string
	// writeFailed: the other side could not be written to.
	writeFailed bool
	// refused, when set, ends the session: a response's charge did not
	// fit the budget, or the key is no longer valid.
	refused *refusal
}

// refusal is why the gateway ends a session: the client is sent an error
// event, then close code 1008 (policy violation).
type refusal struct {
	typ, code, message string
	eventID            string // the client event refused, if one was
	reason             string // the close frame's
}

func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ends := make(chan end, 2)
	go func() { ends <- s.pump(ctx, s.client, s.up, true) }()
	go func() { ends <- s.pump(ctx, s.up, s.client, false) }()
	var first end
	select {
	case first = <-ends:
	case <-s.g.sessions.closing:
		s.client.Close(websocket.StatusGoingAway, "the gateway is shutting down")
		s.up.Close(websocket.StatusNormalClosure, "")
		cancel()
		<-ends
		<-ends
		s.unfinished("shutdown")
		return
	}
	switch {
	case first.refused != nil:
		// A response that overdrew was passed on (it has been spent); one
		// a refused key asked for was not. The session ends.
		f := first.refused
		s.sendError(ctx, f.typ, f.code, f.message, f.eventID)
		s.client.Close(websocket.StatusPolicyViolation, f.reason)
		s.up.Close(websocket.StatusNormalClosure, "")
		s.x.errKind = f.code
	case first.writeFailed:
		// The side written to is gone.
		s.client.CloseNow()
		s.up.CloseNow()
	case first.fromClient:
		// The client hung up: so does the gateway, with the client's code.
		s.up.Close(sendable(first.status), first.reason)
		s.client.CloseNow()
	case first.status >= 0:
		// The upstream closed the session with a code: pass it on.
		s.client.Close(sendable(first.status), first.reason)
		s.up.CloseNow()
	default:
		// The upstream connection broke: the client is told in its
		// protocol, then with 1011, never as a normal end.
		s.x.partial, s.x.errKind = true, provider.KindUnavailable.String()
		s.sendError(ctx, "server_error", "upstream_disconnected", "the upstream realtime session ended unexpectedly", "")
		s.client.Close(websocket.StatusInternalError, "upstream connection lost")
	}
	cancel()
	<-ends
	s.unfinished("session_closed")
}

// sendable is a close code that may be sent: the codes that only report
// a missing or broken close (1005, 1006, 1015) become a normal closure.
func sendable(c websocket.StatusCode) websocket.StatusCode {
	switch c {
	case -1, websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure, websocket.StatusTLSHandshake:
		return websocket.StatusNormalClosure
	}
	return c
}

// unfinished marks a session that ended with a response still running as
// partial: such a response's usage was never reported, so its output is
// estimated from the text it passed on.
func (s *session) unfinished(why string) {
	if len(s.open) > 0 {
		// What was passed on of them is billed, estimated from their
		// text.
		for _, n := range s.open {
			s.x.usage.OutputTokens += tokens.FromBytes(n)
		}
		s.x.usage.Estimated = true
		s.x.partial = true
		if s.x.errKind == "" {
			s.x.errKind = why
		}
	}
}

// pump copies frames from src to dst until either fails. The upstream's
// are read for their type, and a response.done for its usage.
func (s *session) pump(ctx context.Context, src, dst *websocket.Conn, fromClient bool) end {
	// One buffer per direction, reused frame after frame; one that a
	// large frame grew is let go rather than held for the session.
	var buf bytes.Buffer
	// Frames are read and written without a cancellable context, which
	// would cost the library a timer per frame: run ends the relay by
	// closing the connections.
	io := context.WithoutCancel(ctx)
	for {
		if buf.Cap() > maxKeptFrameBuffer {
			buf = bytes.Buffer{}
		}
		buf.Reset()
		typ, rd, err := src.Reader(io)
		if err == nil {
			_, err = buf.ReadFrom(rd)
		}
		data := buf.Bytes()
		if err != nil {
			e := end{fromClient: fromClient, status: websocket.CloseStatus(err)}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				e.reason = ce.Reason
			}
			return e
		}
		var refused *refusal
		switch {
		case fromClient && typ == websocket.MessageText:
			// A response asked for by a key no longer valid is not passed
			// on: it would run, and be charged, after the key's refusal.
			if gjson.GetBytes(data, "type").Str == "response.create" {
				if refused = s.recheck(ctx); refused != nil {
					refused.eventID = gjson.GetBytes(data, "event_id").Str
					return end{fromClient: true, refused: refused}
				}
			}
		case typ == websocket.MessageText:
			if s.events++; s.events == 1 {
				s.x.ttft = s.g.now().Sub(s.x.start)
			}
			var pass bool
			if refused, pass = s.observe(ctx, data); !pass {
				return end{refused: refused}
			}
		}
		frames := [][]byte{data}
		if s.settling && !fromClient && typ == websocket.MessageText {
			frames = s.settle(data)
		}
		for _, f := range frames {
			if err := dst.Write(io, typ, f); err != nil {
				return end{fromClient: fromClient, writeFailed: true, status: -1}
			}
		}
		if refused != nil {
			return end{refused: refused}
		}
	}
}

// recheck checks the session's key again, as the guard knows it now,
// before a response runs: a key revoked (or rotated away), expired, or of
// a tenant since disabled is refused, as a new request with it is (at
// once on the replica whose admin API made the change, within
// auth.key_cache_ttl on the others). A check that cannot be made (the key
// store unreachable and the key not cached) lets the admitted session go
// on. A client secret made with a static key is refused once the config
// no longer has that key (removed by a reload), as the key itself is.
func (s *session) recheck(ctx context.Context) *refusal {
	rt := s.g.rt.Load()
	if rt == nil {
		return nil
	}
	var err error
	var who *Principal
	switch {
	case !s.secret:
		who, err = rt.guard.Authenticate(ctx, s.header)
	case s.keyID != "":
		if pr, ok := rt.guard.(principalResolver); ok {
			who, err = pr.Principal(ctx, s.keyID)
		}
	case s.staticKey != nil:
		if !staticKeyConfigured(rt, *s.staticKey) {
			err = errInvalidKey
		}
	}
	if err == nil && who != nil && s.x != nil && s.x.decision.Route != "" && !who.allows(s.x.decision.Route) {
		// The key may no longer use the session's model (its routes
		// were changed since the handshake).
		return &refusal{typ: openaiapi.TypePermission, code: "route_not_allowed",
			message: "this API key may not use model " + strconv.Quote(s.x.decision.Route) + " any more", reason: "route no longer allowed"}
	}
	var d *Denied
	if err == nil || !errors.As(err, &d) || d.Status >= http.StatusInternalServerError {
		return nil
	}
	typ := openaiapi.TypeAuthentication
	if d.Status == http.StatusForbidden {
		typ = openaiapi.TypePermission
	}
	return &refusal{typ: typ, code: d.Code, message: "the session's API key is not valid any more (" + d.Message + ")", reason: "API key no longer valid"}
}

// settle returns the upstream frames to pass on for data while a client
// secret's settings are applied: the session.created is held until the
// session.updated that answers the settings, and the client is sent one
// session.created (its event ID) carrying the updated session, as when
// OpenAI opens a session for a client secret. Any other event first (the
// settings refused with an error, or an answer to a client's event) ends
// the wait with both events passed on as they came.
func (s *session) settle(data []byte) [][]byte {
	switch gjson.GetBytes(data, "type").Str {
	case "session.created":
		if s.created == nil {
			s.created = bytes.Clone(data)
			return nil
		}
	case "session.updated":
		if sess := gjson.GetBytes(data, "session"); s.created != nil && sess.IsObject() {
			s.settling = false
			if merged, err := sjson.SetRawBytes(s.created, "session", []byte(sess.Raw)); err == nil {
				return [][]byte{merged}
			}
		}
	}
	s.settling = false
	if s.created != nil {
		return [][]byte{s.created, data}
	}
	return [][]byte{data}
}

// observe reads one upstream event: a response's start and end, and the
// usage it reports when done, which is priced and charged to the caller's
// budgets. A refusal ends the session: after the event is passed on when
// pass is true (a response done whose charge did not fit the budget), at
// once when false (a response the upstream started, as its turn
// detection does, for a key no longer valid).
func (s *session) observe(ctx context.Context, data []byte) (refused *refusal, pass bool) {
	switch gjson.GetBytes(data, "type").Str {
	case "response.created":
		if refused := s.recheck(ctx); refused != nil {
			return refused, false
		}
		if s.open == nil {
			s.open = map[string]int{}
		}
		id := gjson.GetBytes(data, "response.id").Str
		if _, ok := s.open[id]; !ok {
			s.open[id] = 0
		}
		return nil, true
	case "response.output_text.delta", "response.output_audio_transcript.delta", "response.text.delta", "response.audio_transcript.delta":
		// Counted in case the response never reports its usage.
		r := gjson.GetManyBytes(data, "response_id", "delta")
		if id, ok := s.openResponse(r[0].Str); ok {
			s.open[id] += len(r[1].Str)
		}
		return nil, true
	case "response.done":
	default:
		return nil, true
	}
	if id, ok := s.openResponse(gjson.GetBytes(data, "response.id").Str); ok {
		delete(s.open, id)
	}
	u := gjson.GetBytes(data, "response.usage")
	if !u.Exists() {
		return nil, true // a failed response may report none
	}
	n := gjson.GetMany(u.Raw, "input_tokens", "output_tokens", "input_token_details.cached_tokens",
		"input_token_details.audio_tokens", "input_token_details.cached_tokens_details.audio_tokens", "output_token_details.audio_tokens")
	tok := func(i int) int { return llm.ReportedTokens(n[i].Int()) } // clamped like every adapter's
	usage := llm.Usage{InputTokens: tok(0), OutputTokens: tok(1), CachedInputTokens: tok(2)}
	extra := 0.0
	if d, ok := s.rt.deployments[s.deployment]; ok {
		extra = d.cfg.Price.AudioExtra(max(tok(3)-tok(4), 0), tok(5))
	}
	s.x.usage = s.x.usage.Add(usage)
	s.x.priorCost += extra
	b, ok := s.x.adm.(Budgeted)
	cost := s.rt.cost(s.deployment, usage) + extra
	if !ok || cost <= 0 {
		return nil, true
	}
	if err := b.Extend(ctx, cost); err != nil {
		f := &refusal{typ: openaiapi.TypeInvalidRequest, code: "budget_exceeded", message: "budget exceeded", reason: "budget exceeded"}
		var d *Denied
		if errors.As(err, &d) {
			f.message = d.Message
		}
		return f, true
	}
	return nil, true
}

// openResponse is the open response an event naming response id is of:
// that one, or the only one open when the event names none the session
// knows.
func (s *session) openResponse(id string) (string, bool) {
	if _, ok := s.open[id]; ok {
		return id, true
	}
	if len(s.open) == 1 {
		for only := range s.open {
			return only, true
		}
	}
	return "", false
}

// sendError sends the client an error event of the Realtime API; eventID
// names the client event it answers, if one.
func (s *session) sendError(ctx context.Context, typ, code, message, eventID string) {
	type apiErr struct {
		Type    string  `json:"type"`
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
		EventID *string `json:"event_id"`
	}
	e := apiErr{Type: typ, Code: code, Message: message}
	if eventID != "" {
		e.EventID = &eventID
	}
	ev, err := json.Marshal(struct {
		Type    string `json:"type"`
		EventID string `json:"event_id"`
		Error   apiErr `json:"error"`
	}{"error", "event_switchyard_" + reqid.From(ctx), e})
	if err == nil {
		_ = s.client.Write(ctx, websocket.MessageText, ev)
	}
}
