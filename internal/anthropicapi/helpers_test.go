package anthropicapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/switchyard-gw/switchyard/internal/dialecttest"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// dialect is this package under the shared checks of dialecttest.
var dialect = dialecttest.Dialect{
	Name:      llm.DialectAnthropic,
	ParseChat: ParseChat,
	BadRequest: func(err error) (string, string, bool) {
		var bre *BadRequestError
		if !errors.As(err, &bre) {
			return "", "", false
		}
		return bre.Param, bre.Message, true
	},
	MinMaxTokens:  1,
	WriteResponse: WriteResponse,
	KindStatus:    KindStatus,
	WriteErrorFor: WriteErrorFor,
	DecodeError: func(body []byte) error {
		var e anthropic.ErrorResponse
		return json.Unmarshal(body, &e)
	},
	NewStreamWriter: func(w http.ResponseWriter, req *llm.Request, src llm.Dialect) dialecttest.StreamWriter {
		sw := NewStreamWriter(w, req, src)
		sw.ids = testIDs
		return sw
	},
}

// testIDs is a fixed id source.
func testIDs(prefix string) string { return prefix + "test" }
