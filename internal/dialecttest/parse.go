package dialecttest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Features is the part of llm.Request that ParseChat fills, for comparison.
type Features struct {
	Model                     string
	Stream, IncludeUsage      bool
	MaxTokens                 int
	HasImages, HasTools, JSON bool
	NumMessages               int
	SystemText, LastUserText  string
	TextBytes                 int
	Metadata                  map[string]string
}

// FeaturesOf returns r's features.
func FeaturesOf(r *llm.Request) Features {
	return Features{r.Model, r.Stream, r.IncludeUsage, r.MaxTokens, r.HasImages, r.HasTools, r.JSONMode,
		r.NumMessages, r.SystemText, r.LastUserText, r.TextBytes, r.Metadata}
}

// FeaturesCase is a request body ParseChat accepts and the features it
// must read from it.
type FeaturesCase struct {
	Name string
	Body string
	Want Features
}

// ParseFeatures parses each case's body and checks the features, that the
// request is stamped with the dialect and that it keeps the body as Raw.
func ParseFeatures(t *testing.T, d Dialect, cases []FeaturesCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			req, err := d.ParseChat([]byte(tt.Body))
			if err != nil {
				t.Fatalf("ParseChat: got error %v, want nil", err)
			}
			if diff := cmp.Diff(tt.Want, FeaturesOf(req)); diff != "" {
				t.Errorf("features mismatch (-want +got):\n%s", diff)
			}
			if req.Dialect != d.Name || string(req.Raw) != tt.Body {
				t.Errorf("got dialect %q raw %d bytes, want %s and the body", req.Dialect, len(req.Raw), d.Name)
			}
		})
	}
}

// BadRequestCase is a request body ParseChat must reject, and the param
// its *BadRequestError must name (empty when the whole body is at fault).
type BadRequestCase struct {
	Name  string
	Body  string
	Param string
}

// ParseErrors checks that ParseChat rejects each case's body with a
// *BadRequestError naming the case's param and giving a reason.
func ParseErrors(t *testing.T, d Dialect, cases []BadRequestCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			_, err := d.ParseChat([]byte(tt.Body))
			param, message, ok := d.BadRequest(err)
			if !ok {
				t.Fatalf("got error %v, want *BadRequestError", err)
			}
			if param != tt.Param {
				t.Errorf("got param %q, want %q (message %q)", param, tt.Param, message)
			}
			if message == "" {
				t.Error("got empty message, want a reason")
			}
		})
	}
}

// DecodeCase is a request body ParseChat accepts and what decoding its
// whole Body must give.
type DecodeCase struct {
	Name string
	Body string
	// Param, when not empty, is the param of the *BadRequestError decoding
	// must fail with; Check is then not called.
	Param string
	// Check returns how the decoded body differs from the expected one
	// (-want +got), empty when it does not.
	Check func(b *llm.Body) string
}

// DecodeBody parses each case's body, which must pass ParseChat, decodes
// the full Body and checks the result or the error.
func DecodeBody(t *testing.T, d Dialect, cases []DecodeCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			req, err := d.ParseChat([]byte(tt.Body))
			if err != nil {
				t.Fatalf("ParseChat: got error %v, want nil", err)
			}
			b, err := req.Body()
			if tt.Param != "" {
				if param, _, ok := d.BadRequest(err); !ok || param != tt.Param {
					t.Fatalf("got error %v, want *BadRequestError at %q", err, tt.Param)
				}
				return
			}
			if err != nil {
				t.Fatalf("Body: got error %v, want nil", err)
			}
			if diff := tt.Check(b); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseChat fuzzes ParseChat from seeds: it must reject a body only
// with a *BadRequestError, accept one only with a model, messages and at
// least MinMaxTokens, and decoding an accepted body may fail only with a
// *BadRequestError.
func FuzzParseChat(f *testing.F, d Dialect, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := d.ParseChat(body)
		if err != nil {
			if _, _, ok := d.BadRequest(err); !ok {
				t.Fatalf("got error %T %v, want *BadRequestError", err, err)
			}
			return
		}
		if req.Model == "" || req.NumMessages == 0 || req.MaxTokens < d.MinMaxTokens {
			t.Fatalf("accepted request without model, messages or max_tokens %d or more: %+v", d.MinMaxTokens, FeaturesOf(req))
		}
		if _, err := req.Body(); err != nil {
			if _, _, ok := d.BadRequest(err); !ok {
				t.Fatalf("decode: got error %T %v, want *BadRequestError", err, err)
			}
		}
	})
}
