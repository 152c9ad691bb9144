package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/auth"
)

// RefuseBrowsers wraps next, the client API, for a gateway that takes
// requests without a key while open reports so: what only a web page
// could send is refused, since such a page could otherwise spend the
// gateway's provider accounts or read its stored objects. A request
// carrying no key gets a 403 when it comes from a page of another origin
// (its Origin is neither the request's host nor in
// server.websocket_origins: a page may post a form, or fetch with a
// text/plain body, with no preflight), or when its Host is neither an IP
// address nor localhost (DNS rebinding: a page whose name now points at
// the loopback address reads what it gets). A gateway with keys is left
// alone: a page cannot send a key without a preflight, which the gateway
// does not answer. The refusal is accounted for as any request's is.
func (g *Gateway) RefuseBrowsers(next http.Handler, open func() bool) http.Handler {
	if open == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open() || carriesKey(r) {
			next.ServeHTTP(w, r)
			return
		}
		var origins []string
		if rt := g.rt.Load(); rt != nil {
			origins = rt.cfg.Server.WebSocketOrigins
		}
		var ae *apiError
		switch {
		case !originAllowed(r, origins):
			ae = &apiError{status: http.StatusForbidden, code: "origin_not_allowed", anthropicType: "permission_error",
				message: "pages of origin " + strconv.Quote(truncate(r.Header.Get("Origin"), 200)) +
					" may not call this gateway, which takes requests without a key (server.websocket_origins lists the origins that may)"}
		case !localHost(r.Host):
			ae = &apiError{status: http.StatusForbidden, code: "host_not_allowed", anthropicType: "permission_error",
				message: "this gateway takes requests without a key, so only at an IP address or localhost, not at host " +
					strconv.Quote(truncate(r.Host, 200)) + " (configure client keys to serve it under a name)"}
		default:
			next.ServeHTTP(w, r)
			return
		}
		d := openAIDialect
		if strings.HasPrefix(r.URL.Path, "/v1/messages") || AnthropicClient(r) {
			d = anthropicDialect
		}
		x, r := g.start(r, d, "switchyard.refused")
		defer g.finish(r.Context(), x)
		g.fail(w, x, ae)
	})
}

// carriesKey reports whether r carries an API key: a header's, or a
// browser WebSocket's key subprotocol.
func carriesKey(r *http.Request) bool {
	if _, ok := auth.FromHeader(r.Header); ok {
		return true
	}
	for _, p := range websocketProtocols(r) {
		if strings.HasPrefix(p, keyProtocol) {
			return true
		}
	}
	return false
}

// localHost reports whether hostport names this machine by an IP address
// or as localhost (or a name under .localhost); an empty Host (HTTP/1.0)
// names nothing else either.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	_, err := netip.ParseAddr(host) // no allocation, unlike net.ParseIP
	return err == nil
}
