package openaiapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// dialect is this package under the shared checks of dialecttest.
var dialect = dialecttest.Dialect{
	Name:      llm.DialectOpenAI,
	ParseChat: ParseChat,
	BadRequest: func(err error) (string, string, bool) {
		var bre *BadRequestError
		if !errors.As(err, &bre) {
			return "", "", false
		}
		return bre.Param, bre.Message, true
	},
	WriteResponse: WriteResponse,
	KindStatus:    KindStatus,
	WriteErrorFor: WriteErrorFor,
	DecodeError: func(body []byte) error {
		var e openai.Error
		return json.Unmarshal(body, &struct{ Error *openai.Error }{&e})
	},
	NewStreamWriter: func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) dialecttest.StreamWriter {
		sw := NewStreamWriter(w, req, src)
		sw.gen = testSource()
		return sw
	},
}

// testSource is a fixed clock and id source.
func testSource() source {
	return source{
		now:   func() time.Time { return time.Unix(1700000000, 0) },
		newID: func(prefix string) string { return prefix + "test" },
	}
}
