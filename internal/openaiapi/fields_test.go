package openaiapi

import (
	"errors"
	"strings"
	"testing"
)

// TestParseRefusesCaseVariants: a top-level key that differs only in case
// from a field the gateway reads ("Model", "STREAM") is a 400 naming it, on
// every JSON endpoint: an upstream that folds names (Go's encoding/json)
// would read it where the gateway read the exact one, and serve another
// model, stream or limit than the one routed, allowed and priced. Exact
// keys, and keys that match no field but for case, pass.
func TestParseRefusesCaseVariants(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	chat := func(body []byte) error { _, err := ParseChat(body); return err }
	completions := func(body []byte) error { _, err := ParseCompletions(body); return err }
	responses := func(body []byte) error { _, err := ParseResponses(body); return err }
	embeddings := func(body []byte) error { _, err := ParseEmbeddings(body); return err }
	images := func(body []byte) error { _, err := ParseImages(body); return err }
	moderations := func(body []byte) error { _, err := ParseModerations(body); return err }
	speech := func(body []byte) error { _, err := ParseSpeech(body); return err }
	video := func(body []byte) error { _, _, _, err := ParseVideo(body, "application/json"); return err }
	remix := func(body []byte) error { _, _, err := ParseVideoRemix(body, "video_1"); return err }
	tests := []struct {
		name  string
		parse func([]byte) error
		body  string
		key   string // the refused key; "" when the body is accepted
		want  string // the field it was taken for
	}{
		{"chat Model", chat, `{"model":"small","Model":"large",` + msgs + `}`, "Model", "model"},
		{"chat Model first", chat, `{"Model":"large","model":"small",` + msgs + `}`, "Model", "model"},
		{"chat Model alone", chat, `{"Model":"large",` + msgs + `}`, "Model", "model"},
		{"chat STREAM", chat, `{"model":"m","STREAM":true,` + msgs + `}`, "STREAM", "stream"},
		{"chat Stream_Options", chat, `{"model":"m","Stream_Options":{"include_usage":true},` + msgs + `}`, "Stream_Options", "stream_options"},
		{"chat MAX_TOKENS", chat, `{"model":"m","MAX_TOKENS":100000,` + msgs + `}`, "MAX_TOKENS", "max_tokens"},
		{"chat Messages", chat, `{"model":"m",` + msgs + `,"Messages":[]}`, "Messages", "messages"},
		{"chat Temperature", chat, `{"model":"m","Temperature":2,` + msgs + `}`, "Temperature", "temperature"},
		{"chat N", chat, `{"model":"m","N":8,` + msgs + `}`, "N", "n"},
		// Go folds the long s (U+017F) to s, as encoding/json does.
		{"chat long s", chat, `{"model":"m","ſtream":true,` + msgs + `}`, "ſtream", "stream"},
		{"chat escaped key", chat, `{"model":"m","\u004dodel":"large",` + msgs + `}`, "Model", "model"},
		{"chat exact keys", chat, `{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":5,"temperature":1,"seed":1,"Seed":2,"x_Model":1,` + msgs + `}`, "", ""},
		{"completions Prompt", completions, `{"model":"m","prompt":"x","Prompt":"y"}`, "Prompt", "prompt"},
		{"completions Max_Tokens", completions, `{"model":"m","prompt":"x","Max_Tokens":5}`, "Max_Tokens", "max_tokens"},
		{"completions exact", completions, `{"model":"m","prompt":"x","max_tokens":5,"echo":true}`, "", ""},
		{"responses Model", responses, `{"model":"m","Model":"large","input":"x"}`, "Model", "model"},
		{"responses Max_Output_Tokens", responses, `{"model":"m","input":"x","Max_Output_Tokens":5}`, "Max_Output_Tokens", "max_output_tokens"},
		{"responses Previous_Response_Id", responses, `{"model":"m","input":"x","Previous_Response_Id":"resp_1"}`, "Previous_Response_Id", "previous_response_id"},
		{"responses exact", responses, `{"model":"m","input":"x","max_output_tokens":5,"include":["reasoning.encrypted_content"]}`, "", ""},
		{"embeddings Model", embeddings, `{"model":"small","Model":"large","input":"x"}`, "Model", "model"},
		{"embeddings Dimensions", embeddings, `{"model":"e","input":"x","Dimensions":8}`, "Dimensions", "dimensions"},
		{"embeddings exact", embeddings, `{"model":"e","input":"x","dimensions":8,"user":"u"}`, "", ""},
		{"images Size", images, `{"model":"i","prompt":"x","Size":"1024x1024"}`, "Size", "size"},
		{"images exact", images, `{"model":"i","prompt":"x","size":"1024x1024","style":"vivid"}`, "", ""},
		{"moderations Model", moderations, `{"Model":"m","input":"x"}`, "Model", "model"},
		{"speech Stream_Format", speech, `{"model":"t","input":"x","Stream_Format":"sse"}`, "Stream_Format", "stream_format"},
		{"video Seconds", video, `{"model":"v","prompt":"x","Seconds":"12"}`, "Seconds", "seconds"},
		{"video remix Prompt", remix, `{"prompt":"x","PROMPT":"y"}`, "PROMPT", "prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse([]byte(tt.body))
			if tt.key == "" {
				if err != nil {
					t.Fatalf("got %v, want the body accepted", err)
				}
				return
			}
			var bre *BadRequestError
			if !errors.As(err, &bre) || bre.Param != tt.key || !strings.Contains(bre.Message, `did you mean "`+tt.want+`"?`) {
				t.Fatalf("got %v, want a bad request naming %q and %q", err, tt.key, tt.want)
			}
		})
	}
}
