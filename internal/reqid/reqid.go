// Package reqid assigns and carries request ids. The server middleware sets
// one per request; the gateway, logs and usage records read it.
//
// The id is always the gateway's own, never the client's: it is the usage
// ledger's primary key, so two requests must never share one. A client's own
// id (X-Client-Request-Id, as in the OpenAI API, or a client-sent
// X-Request-Id) rides along as the client id, for logs and traces, and is
// echoed in X-Client-Request-Id.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

type ctxKey struct{}

// ids is what the context carries: the gateway's id and the client's.
type ids struct{ own, client string }

// idsCtx is a context carrying ids under ctxKey: one allocation, where
// context.WithValue would make two (the boxed ids, then the context).
// Value hands out a pointer to v, which nobody writes after withIDs.
type idsCtx struct {
	context.Context
	v ids
}

func (c *idsCtx) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return &c.v
	}
	return c.Context.Value(key)
}

func withIDs(ctx context.Context, v ids) context.Context {
	return &idsCtx{Context: ctx, v: v}
}

// idsOf returns the ids ctx carries, or none.
func idsOf(ctx context.Context) ids {
	if v, ok := ctx.Value(ctxKey{}).(*ids); ok {
		return *v
	}
	return ids{}
}

const (
	// Header is the response header carrying the gateway's id.
	Header = "X-Request-Id"
	// ClientHeader is the request header a client names its own id in,
	// echoed in the response.
	ClientHeader = "X-Client-Request-Id"
)

// New returns a fresh id: 48 bits of the Unix time in milliseconds, then 48
// random bits, in hex. Ids made later sort later, so the usage ledger's
// primary-key index grows at its end instead of being written at random
// places (several times cheaper per insert in SQLite and PostgreSQL).
func New() string {
	var b [12]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return "req_" + hex.EncodeToString(b[:])
}

// From returns the gateway's id in ctx, or "".
func From(ctx context.Context) string {
	return idsOf(ctx).own
}

// With returns ctx carrying id as the gateway's id, for a request the
// gateway makes itself (a batch line), whose id must be stable so that
// running it again writes the same usage record.
func With(ctx context.Context, id string) context.Context {
	return withIDs(ctx, ids{own: id})
}

// Client returns the client's own id for the request in ctx, or "" when the
// client sent none (or one that was not plain).
func Client(ctx context.Context) string {
	return idsOf(ctx).client
}

// Plain reports whether a client-supplied string is short and plain (1 to
// 64 letters, digits, '-', '_' or '.'), so it is safe in logs and headers.
func Plain(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// AnthropicHeader is where Anthropic's API sends its request id.
const AnthropicHeader = "Request-Id"

// Middleware gives every request a new id, sent back in X-Request-Id (and
// Request-Id, for Anthropic's SDKs). A
// plain client id, from X-Client-Request-Id or else X-Request-Id, is kept
// beside it and echoed in X-Client-Request-Id; one that is not plain is
// dropped.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := ids{own: New()}
		client := r.Header.Get(ClientHeader)
		if client == "" {
			client = r.Header.Get(Header)
		}
		if Plain(client) {
			v.client = client
			w.Header().Set(ClientHeader, client)
		}
		// The same id under Anthropic's name, which its SDKs read
		// (request_id on a message, an error, a stream); one value
		// slice for both (the names are canonical constants).
		ids := []string{v.own}
		h := w.Header()
		h[Header], h[AnthropicHeader] = ids, ids
		next.ServeHTTP(w, r.WithContext(withIDs(r.Context(), v)))
	})
}
