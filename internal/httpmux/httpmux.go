// Package httpmux holds what the API's and the admin API's ServeMux
// setups share: answering a known path's wrong methods with a 405 and its
// Allow header, and telling the paths ServeMux would redirect to a cleaned
// form (which both answer in their own error format instead).
package httpmux

import (
	"net/http"
	"slices"
	"strings"
)

// Methods are the methods a known path answers, with a 405 when it does
// not serve them; any other method is a 404.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}

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

// HandleWrongMethods registers on mux, for each of Methods that path is
// not served for, the handler refuse(allow) makes, allow being the path's
// Allow header. Each method is registered on its own: a method-less
// pattern would conflict with a wildcard of another path
// (GET /v1/responses/{id} against /v1/responses/compact).
func HandleWrongMethods(mux *http.ServeMux, path string, methods []string, refuse func(allow string) http.HandlerFunc) {
	allow := Allow(methods)
	h := refuse(allow)
	for _, m := range Methods {
		if !strings.Contains(", "+allow+", ", ", "+m+", ") {
			mux.HandleFunc(m+" "+path, h)
		}
	}
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
