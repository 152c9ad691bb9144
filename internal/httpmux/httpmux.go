// Package httpmux holds what the API's and the admin API's ServeMux
// setups share: answering a known path's wrong methods, extension methods
// included, with a 405 and its Allow header (telling the server of the
// refusal, for its log), and telling the paths
// ServeMux would redirect to a cleaned form (which both answer in their
// own error format instead).
package httpmux

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Methods are the methods a path is registered for, each with a 405 when
// the path does not serve it. Any other method (an extension method,
// PROPFIND say) gets the same 405 when the mux is served with Serve.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}

// extension is the method Serve routes an extension method as, which
// HandleWrongMethods registers for every path.
const extension = "EXTENSION-METHOD"

// Allow is the Allow header of a path served for methods: in the usual
// order, with HEAD wherever GET is (ServeMux serves a GET pattern's HEAD
// requests).
func Allow(methods []string) string {
	var out []string
	for _, m := range Methods {
		if slices.Contains(methods, m) || m == "HEAD" && slices.Contains(methods, "GET") {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// Refusals is told of each request a handler of HandleWrongMethods
// refused (a 405 method_not_allowed), once it has answered, with when it
// began. Those handlers answer before any endpoint runs, so nothing else
// accounts for the request: the server that writes a log line for each
// client request sets one on its requests' context (WithRefusals).
type Refusals func(r *http.Request, status int, code string, start time.Time)

type refusalsKey struct{}

// WithRefusals returns ctx with f to tell of the refusals of the requests
// served in it (a server's base context: no request pays for it).
func WithRefusals(ctx context.Context, f Refusals) context.Context {
	return context.WithValue(ctx, refusalsKey{}, f)
}

// HandleWrongMethods registers on mux, for each of Methods that path is
// not served for and for any other method (see Serve), the handler
// refuse(allow) makes, allow being the path's Allow header; the refusal
// is told to the request context's Refusals, if any. Each method is
// registered on its own: a method-less pattern would conflict with a
// wildcard of another path (GET /v1/responses/{id} against
// /v1/responses/compact).
func HandleWrongMethods(mux *http.ServeMux, path string, methods []string, refuse func(allow string) http.HandlerFunc) {
	allow := Allow(methods)
	refused := refuse(allow)
	h := func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		refused(w, r)
		if f, ok := r.Context().Value(refusalsKey{}).(Refusals); ok {
			f(r, http.StatusMethodNotAllowed, "method_not_allowed", start)
		}
	}
	for _, m := range Methods {
		if !strings.Contains(", "+allow+", ", ", "+m+", ") {
			mux.HandleFunc(m+" "+path, h)
		}
	}
	mux.HandleFunc(extension+" "+path, h)
}

// Serve serves r with mux as mux.ServeHTTP does, except a request whose
// method is none of Methods: no pattern can name every method, and mux
// would answer it as an unknown path, so it is routed as a method that
// HandleWrongMethods registers for every path: a known path answers it
// with its 405 and Allow, any other path with mux's 404. The handler is
// given r itself (its message names r's method) but no path values.
// CONNECT, whose path mux does not clean, is left to mux.
func Serve(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || slices.Contains(Methods, r.Method) {
		mux.ServeHTTP(w, r)
		return
	}
	as := r.WithContext(r.Context()) // a copy, to route
	as.Method = extension
	h, _ := mux.Handler(as)
	h.ServeHTTP(w, r)
}

// Unclean reports whether ServeMux would redirect path to a cleaned one:
// it holds an empty, "." or ".." segment.
func Unclean(path string) bool {
	if strings.Contains(path, "//") {
		return true
	}
	for i := strings.Index(path, "/."); i >= 0; {
		rest := path[i+2:] // after "/.": a "." segment, or ".." one, ends here
		if rest == "" || rest[0] == '/' || rest == "." || strings.HasPrefix(rest, "./") {
			return true
		}
		j := strings.Index(rest, "/.")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return false
}
