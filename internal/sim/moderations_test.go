package sim

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

// modModel is a fast moderation model for tests, under the default name.
var modModel = Model{Name: defaultModerationModel, ContextWindow: 200}

// modVerdict is a result decoded generically, to walk every category.
type modVerdict struct {
	Flagged      bool                `json:"flagged"`
	Categories   map[string]bool     `json:"categories"`
	Scores       map[string]float64  `json:"category_scores"`
	AppliedTypes map[string][]string `json:"category_applied_input_types"`
}

// verdicts checks the SDK decoded every field of every result, with no
// field it does not know, and returns the results decoded generically.
func verdicts(t *testing.T, res *openai.ModerationNewResponse) []modVerdict {
	t.Helper()
	if !strings.HasPrefix(res.ID, "modr-") || len(res.ID) != len("modr-")+32 {
		t.Errorf("got id %q, want modr- and 32 hex digits", res.ID)
	}
	if len(res.JSON.ExtraFields) != 0 {
		t.Errorf("got unexpected fields %v", res.JSON.ExtraFields)
	}
	out := make([]modVerdict, len(res.Results))
	for i, r := range res.Results {
		if !r.JSON.Flagged.Valid() || !r.JSON.Categories.Valid() || !r.JSON.CategoryScores.Valid() || !r.JSON.CategoryAppliedInputTypes.Valid() {
			t.Errorf("result %d: got %s, want every field", i, r.RawJSON())
		}
		for _, extra := range []int{len(r.JSON.ExtraFields), len(r.Categories.JSON.ExtraFields), len(r.CategoryScores.JSON.ExtraFields), len(r.CategoryAppliedInputTypes.JSON.ExtraFields)} {
			if extra != 0 {
				t.Errorf("result %d: got unexpected fields in %s", i, r.RawJSON())
			}
		}
		if err := json.Unmarshal([]byte(r.RawJSON()), &out[i]); err != nil {
			t.Fatal(err)
		}
		v := out[i]
		if len(v.Categories) != numModerationCategories || len(v.Scores) != numModerationCategories || len(v.AppliedTypes) != numModerationCategories {
			t.Errorf("result %d: got %s, want %d categories in each object", i, r.RawJSON(), numModerationCategories)
		}
		for _, c := range moderationCategories {
			if types, ok := v.AppliedTypes[c]; !ok || types == nil {
				t.Errorf("result %d: got applied input types %v for %s, want an array", i, types, c)
			}
		}
	}
	return out
}

// wantClean checks a result flags nothing and scores every category low.
func wantClean(t *testing.T, i int, v modVerdict) {
	t.Helper()
	if v.Flagged {
		t.Errorf("result %d: flagged, want clean", i)
	}
	for c, flagged := range v.Categories {
		if flagged || v.Scores[c] < 0 || v.Scores[c] >= maxCleanScore {
			t.Errorf("result %d: got %s %v score %v, want false below %v", i, c, flagged, v.Scores[c], maxCleanScore)
		}
	}
}

// wantViolence checks a result flags violence alone, at flaggedScore.
func wantViolence(t *testing.T, i int, v modVerdict) {
	t.Helper()
	if !v.Flagged || !v.Categories["violence"] || v.Scores["violence"] != flaggedScore {
		t.Errorf("result %d: got flagged %v violence %v score %v, want true, true, %v", i, v.Flagged, v.Categories["violence"], v.Scores["violence"], flaggedScore)
	}
	for c, flagged := range v.Categories {
		if c != "violence" && (flagged || v.Scores[c] >= maxCleanScore) {
			t.Errorf("result %d: got %s %v score %v, want false below %v", i, c, flagged, v.Scores[c], maxCleanScore)
		}
	}
}

func modString(model, text string) openai.ModerationNewParams {
	return openai.ModerationNewParams{Model: model, Input: openai.ModerationNewParamsInputUnion{OfString: openai.String(text)}}
}

func modParts(model string, parts ...openai.ModerationMultiModalInputUnionParam) openai.ModerationNewParams {
	return openai.ModerationNewParams{Model: model, Input: openai.ModerationNewParamsInputUnion{OfModerationMultiModalArray: parts}}
}

func modImage(url string) openai.ModerationMultiModalInputUnionParam {
	return openai.ModerationMultiModalInputParamOfImageURL(openai.ModerationImageURLInputImageURLParam{URL: url})
}

const pngURL = "data:image/png;base64,iVBORw0KGgo="

func TestModerationsSDK(t *testing.T) {
	s, oa, _ := sdkClients(t, Config{Models: []Model{modModel, testModel("m")}})
	ctx := t.Context()

	t.Run("string", func(t *testing.T) {
		var hr *http.Response
		res, err := oa.Moderations.New(ctx, modString(defaultModerationModel, "a calm day at the yard"), oaoption.WithResponseInto(&hr))
		if err != nil {
			t.Fatal(err)
		}
		if res.Model != defaultModerationModel || len(res.Results) != 1 {
			t.Fatalf("got model %q, %d results; want %s, 1", res.Model, len(res.Results), defaultModerationModel)
		}
		if id := hr.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
			t.Errorf("got x-request-id %q, want req_...", id)
		}
		v := verdicts(t, res)[0]
		wantClean(t, 0, v)
		for c, types := range v.AppliedTypes {
			if !slices.Equal(types, []string{"text"}) {
				t.Errorf("got applied input types %v for %s, want [text]", types, c)
			}
		}
		if r := res.Results[0]; r.Flagged || r.Categories.Violence || r.CategoryScores.Violence != v.Scores["violence"] {
			t.Errorf("got SDK result %+v, want it to agree with %s", r, r.RawJSON())
		}
	})

	t.Run("array of strings", func(t *testing.T) {
		texts := []string{"first of all", "this is Forbidden territory", "last one"}
		res, err := oa.Moderations.New(ctx, openai.ModerationNewParams{
			Model: defaultModerationModel,
			Input: openai.ModerationNewParamsInputUnion{OfStringArray: texts},
		})
		if err != nil {
			t.Fatal(err)
		}
		vs := verdicts(t, res)
		if len(vs) != len(texts) {
			t.Fatalf("got %d results, want %d", len(vs), len(texts))
		}
		wantClean(t, 0, vs[0])
		wantViolence(t, 1, vs[1])
		wantClean(t, 2, vs[2])
		if r := res.Results[1]; !r.Flagged || !r.Categories.Violence || r.CategoryScores.Violence != flaggedScore || r.Categories.ViolenceGraphic {
			t.Errorf("got SDK result %+v, want violence alone", r.Categories)
		}
		for i, text := range texts {
			one, err := oa.Moderations.New(ctx, modString(defaultModerationModel, text))
			if err != nil {
				t.Fatal(err)
			}
			if got := verdicts(t, one)[0]; !equalVerdicts(got, vs[i]) {
				t.Errorf("result %d: got %+v alone, %+v in an array; want the same", i, got, vs[i])
			}
		}
	})

	t.Run("multimodal", func(t *testing.T) {
		res, err := oa.Moderations.New(ctx, modParts(defaultModerationModel,
			openai.ModerationMultiModalInputParamOfText("what is in this picture?"), modImage(pngURL)))
		if err != nil {
			t.Fatal(err)
		}
		vs := verdicts(t, res)
		if len(vs) != 1 {
			t.Fatalf("got %d results, want 1 for a multimodal input", len(vs))
		}
		wantClean(t, 0, vs[0])
		for c, types := range vs[0].AppliedTypes {
			want := []string{"text"}
			if imageCategories[c] {
				want = []string{"text", "image"}
			}
			if !slices.Equal(types, want) {
				t.Errorf("got applied input types %v for %s, want %v", types, c, want)
			}
		}
		if got := res.Results[0].CategoryAppliedInputTypes.Sexual; !slices.Equal(got, []string{"text", "image"}) {
			t.Errorf("got SDK sexual types %v, want [text image]", got)
		}

		res, err = oa.Moderations.New(ctx, modParts(defaultModerationModel, modImage(pngURL)))
		if err != nil {
			t.Fatal(err)
		}
		for c, types := range verdicts(t, res)[0].AppliedTypes {
			want := []string{}
			if imageCategories[c] {
				want = []string{"image"}
			}
			if !slices.Equal(types, want) {
				t.Errorf("image alone: got applied input types %v for %s, want %v", types, c, want)
			}
		}

		res, err = oa.Moderations.New(ctx, modParts(defaultModerationModel,
			openai.ModerationMultiModalInputParamOfText("forbidden"), modImage(pngURL)))
		if err != nil {
			t.Fatal(err)
		}
		wantViolence(t, 0, verdicts(t, res)[0])
	})

	t.Run("deterministic", func(t *testing.T) {
		score := func(model string, p openai.ModerationNewParams) modVerdict {
			t.Helper()
			p.Model = model
			res, err := oa.Moderations.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return verdicts(t, res)[0]
		}
		hello := modString("", "hello there")
		a, b := score(defaultModerationModel, hello), score(defaultModerationModel, hello)
		if !equalVerdicts(a, b) {
			t.Errorf("got %v then %v, want the same scores", a.Scores, b.Scores)
		}
		if part := score(defaultModerationModel, modParts("", openai.ModerationMultiModalInputParamOfText("hello there"))); !equalVerdicts(a, part) {
			t.Errorf("got %v for a text part, %v for the string; want the same", part.Scores, a.Scores)
		}
		if other := score(defaultModerationModel, modString("", "hello here")); equalVerdicts(a, other) {
			t.Errorf("got the same scores %v for another text", a.Scores)
		}
		if other := score("m", hello); equalVerdicts(a, other) {
			t.Errorf("got the same scores %v from another model", a.Scores)
		}
		distinct := map[float64]bool{}
		for _, x := range a.Scores {
			distinct[x] = true
		}
		if len(distinct) < numModerationCategories-1 {
			t.Errorf("got scores %v, want them to differ between categories", a.Scores)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			params openai.ModerationNewParams
			opts   []oaoption.RequestOption
			status int
			code   string
			msg    string
		}{
			{"unknown model", modString("nope", "hi"), nil, 404, "model_not_found", "The model `nope` does not exist"},
			{"empty input", modString(defaultModerationModel, ""), nil, 400, "", "Invalid 'input': string too short"},
			{"empty array", openai.ModerationNewParams{Model: defaultModerationModel,
				Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{}}}, nil, 400, "", ""},
			{"unknown field", modString(defaultModerationModel, "hi"), []oaoption.RequestOption{oaoption.WithJSONSet("temperature", 0.5)},
				400, "", "Unrecognized request argument supplied: temperature"},
			{"context window", modString(defaultModerationModel, strings.Repeat("long ", 200)), nil, 400, "context_length_exceeded", "maximum context length is 200 tokens"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := oa.Moderations.New(ctx, tt.params, tt.opts...)
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("got %v, want *openai.Error", err)
				}
				if apiErr.StatusCode != tt.status || apiErr.Code != tt.code || apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, tt.msg) {
					t.Errorf("got %d %q %q %q, want %d %q invalid_request_error containing %q", apiErr.StatusCode, apiErr.Code, apiErr.Type, apiErr.Message, tt.status, tt.code, tt.msg)
				}
			})
		}
	})

	t.Run("fault", func(t *testing.T) {
		wantInjected429(t, s, defaultModerationModel, "/v1/moderations", func() error {
			_, err := oa.Moderations.New(ctx, modString(defaultModerationModel, "hi"), oaoption.WithHeader("X-Sim-Fault", "status;status=429"))
			return err
		})
	})

	for i, c := range s.Calls(defaultModerationModel) {
		if c.Path != "/v1/moderations" || c.Status == 0 {
			t.Errorf("call %d: got %+v, want /v1/moderations with a status", i, c)
		}
	}
}

func equalVerdicts(a, b modVerdict) bool {
	if a.Flagged != b.Flagged || len(a.Scores) != len(b.Scores) {
		return false
	}
	for c, x := range a.Scores {
		if b.Scores[c] != x || a.Categories[c] != b.Categories[c] || !slices.Equal(a.AppliedTypes[c], b.AppliedTypes[c]) {
			return false
		}
	}
	return true
}

func TestModerationsConfigFault(t *testing.T) {
	m := modModel
	m.Faults = []Fault{{Type: FaultStatus, Status: 503, Times: 1}}
	s, oa, _ := sdkClients(t, Config{Models: []Model{m}})
	_, err := oa.Moderations.New(t.Context(), modString(defaultModerationModel, "hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %v, want a 503", err)
	}
	if _, err := oa.Moderations.New(t.Context(), modString(defaultModerationModel, "hi")); err != nil {
		t.Fatalf("second call: %v, want the fault used up", err)
	}
	calls := s.Calls(defaultModerationModel)
	if len(calls) != 2 || calls[0].Fault != FaultStatus || calls[0].Status != 503 || calls[1].Fault != "" || calls[1].Status != http.StatusOK {
		t.Errorf("got calls %+v, want a 503 fault then a 200", calls)
	}
}

func TestModerationsRaw(t *testing.T) {
	s, url, c := startSim(t, DefaultConfig())
	ctx := t.Context()
	endpoint := url + "/v1/moderations"

	t.Run("default model", func(t *testing.T) {
		resp := post(t, ctx, c, endpoint, map[string]any{"input": "no model named"})
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("x-request-id"), "req_") {
			t.Errorf("got %d, x-request-id %q; want 200 and an id", resp.StatusCode, resp.Header.Get("x-request-id"))
		}
		body := decode(t, resp)
		if body["model"] != defaultModerationModel || len(get(body, "results").([]any)) != 1 {
			t.Errorf("got %v, want one result from %s", body, defaultModerationModel)
		}
		if calls := s.Calls(defaultModerationModel); len(calls) != 1 || calls[0].Status != http.StatusOK {
			t.Errorf("got calls %+v, want one 200", calls)
		}
	})

	t.Run("categories in order", func(t *testing.T) {
		resp := post(t, ctx, c, endpoint, map[string]any{"model": defaultModerationModel, "input": "x"})
		defer resp.Body.Close()
		var raw struct {
			Results []map[string]json.RawMessage `json:"results"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || len(raw.Results) != 1 {
			t.Fatalf("got %+v, %v; want one result", raw, err)
		}
		want := `{"sexual":false,"sexual/minors":false,"harassment":false,"harassment/threatening":false,"hate":false,"hate/threatening":false,"illicit":false,"illicit/violent":false,"self-harm":false,"self-harm/intent":false,"self-harm/instructions":false,"violence":false,"violence/graphic":false}`
		if got := string(raw.Results[0]["categories"]); got != want {
			t.Errorf("got categories %s, want %s", got, want)
		}
		if moderationCategories[catViolence] != "violence" {
			t.Errorf("got category %d %q, want violence", catViolence, moderationCategories[catViolence])
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		tests := []struct {
			name string
			body any
			msg  string
		}{
			{"malformed", []byte(`{"input": "x"`), "We could not parse the JSON body of your request."},
			{"not an object", []byte(`["x"]`), "We could not parse the JSON body of your request."},
			{"model not a string", map[string]any{"model": 3, "input": "x"}, "Invalid type for 'model': expected a string, but got an integer instead."},
			{"missing input", map[string]any{"model": defaultModerationModel}, "Missing required parameter: 'input'."},
			{"null input", map[string]any{"model": defaultModerationModel, "input": nil}, "Missing required parameter: 'input'."},
			{"empty string", map[string]any{"input": ""}, "Invalid 'input': string too short. Expected a string with minimum length 1, but got an empty string instead."},
			{"empty array", map[string]any{"input": []any{}}, "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead."},
			{"number", map[string]any{"input": 7}, "Invalid type for 'input': expected one of a string, an array of strings, or an array of objects, but got an integer instead."},
			{"object", map[string]any{"input": map[string]any{"text": "x"}}, "but got an object instead."},
			{"array of numbers", map[string]any{"input": []any{1, 2}}, "Invalid type for 'input[0]': expected a string or an object, but got an integer instead."},
			{"mixed array", map[string]any{"input": []any{"x", map[string]any{"type": "text", "text": "y"}}}, "Invalid type for 'input[1]': expected a string, but got an object instead."},
			{"mixed parts", map[string]any{"input": []any{map[string]any{"type": "text", "text": "y"}, "x"}}, "Invalid type for 'input[1]': expected an object, but got a string instead."},
			{"unknown part", map[string]any{"input": []any{map[string]any{"type": "audio"}}}, "Invalid value for 'input[0].type': 'audio'. Supported values are: 'text' and 'image_url'."},
			{"part without type", map[string]any{"input": []any{map[string]any{"text": "y"}}}, "Missing required parameter: 'input[0].type'."},
			{"text part without text", map[string]any{"input": []any{map[string]any{"type": "text"}}}, "Missing required parameter: 'input[0].text'."},
			{"image without url", map[string]any{"input": []any{map[string]any{"type": "text", "text": "y"}, map[string]any{"type": "image_url", "image_url": map[string]any{}}}}, "Missing required parameter: 'input[1].image_url.url'."},
			{"unknown field", map[string]any{"input": "x", "user": "u"}, "Unrecognized request argument supplied: user"},
			{"unknown fields", map[string]any{"input": "x", "user": "u", "stream": true}, "Unrecognized request arguments supplied: stream, user"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := post(t, ctx, c, endpoint, tt.body)
				body := decode(t, resp)
				msg, _ := get(body, "error", "message").(string)
				if resp.StatusCode != http.StatusBadRequest || get(body, "error", "type") != "invalid_request_error" || !strings.HasPrefix(msg, tt.msg) && !strings.HasSuffix(msg, tt.msg) {
					t.Errorf("got %d %v, want 400 invalid_request_error %q", resp.StatusCode, body, tt.msg)
				}
			})
		}
	})

	t.Run("no default model", func(t *testing.T) {
		_, url, c := startSim(t, Config{Models: []Model{testModel("m")}})
		resp := post(t, ctx, c, url+"/v1/moderations", map[string]any{"input": "x"})
		body := decode(t, resp)
		if resp.StatusCode != http.StatusBadRequest || get(body, "error", "message") != "you must provide a model parameter" {
			t.Errorf("got %d %v, want 400 you must provide a model parameter", resp.StatusCode, body)
		}
	})
}

// wantInjected429 checks that call, sent with an injected 429 fault,
// fails as a 429 rate_limit_exceeded and is recorded once for model as a
// status fault on path.
func wantInjected429(t *testing.T, s *Server, model, path string, call func() error) {
	t.Helper()
	before := len(s.Calls(model))
	err := call()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("got %v, want a 429 rate_limit_exceeded", err)
	}
	calls := s.Calls(model)
	if len(calls) != before+1 {
		t.Fatalf("got %d calls, want %d", len(calls), before+1)
	}
	if c := calls[len(calls)-1]; c.Fault != FaultStatus || c.Status != http.StatusTooManyRequests || c.Path != path || c.Stream {
		t.Errorf("got call %+v, want a 429 status fault on %s", c, path)
	}
}
