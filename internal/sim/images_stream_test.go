package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"
)

// imageFrames reads an image stream to its end and returns its events,
// failing the test on a frame that is not an event line, one data line and
// a blank line, and on decodable data whose type is not the event's name.
// err is the read error.
func imageFrames(t *testing.T, body io.Reader) ([]event, error) {
	t.Helper()
	blocks, err := streamBlocks(t, body)
	var out []event
	for _, blk := range blocks {
		lines := strings.Split(blk, "\n")
		name, okName := strings.CutPrefix(lines[0], "event: ")
		data, okData := "", false
		if len(lines) == 2 {
			data, okData = strings.CutPrefix(lines[1], "data: ")
		}
		if !okName || !okData {
			t.Errorf("got frame %q, want an event line and one data line", blk)
			continue
		}
		var m struct{ Type string }
		if json.Unmarshal([]byte(data), &m) == nil && m.Type != name {
			t.Errorf("got event %s with data of type %q", name, m.Type)
		}
		out = append(out, event{name: name, data: data})
	}
	return out, err
}

// namesOf lists the events' names, "?" for one whose data is no JSON.
func namesOf(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.name
		if !json.Valid([]byte(e.data)) {
			out[i] = "?"
		}
	}
	return out
}

// streamGeneration posts a generation with stream true, through c (with
// its X-Sim-Fault header, if any), and returns the response (body closed)
// and, when it is a 200, its events.
func streamGeneration(t *testing.T, ctx context.Context, c *http.Client, url string, body map[string]any) (*http.Response, []event, error) {
	t.Helper()
	resp := post(t, ctx, c, url+"/v1/images/generations", with(body, "stream", true))
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, nil
	}
	evs, err := imageFrames(t, resp.Body)
	return resp, evs, err
}

// streamEdit posts an edit of parts with stream=true and returns the
// response (body closed) and, when it is a 200, its events.
func streamEdit(t *testing.T, ctx context.Context, c *http.Client, url string, parts ...formPart) (*http.Response, []event, error) {
	t.Helper()
	resp := postParts(t, ctx, c, url+"/v1/images/edits", append(parts, formPart{name: "stream", value: "true"})...)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, nil
	}
	evs, err := imageFrames(t, resp.Body)
	return resp, evs, err
}

// editParts are the form parts of an edit of editPNG by model, with extra
// text fields as name, value pairs.
func editParts(model, prompt string, fields ...string) []formPart {
	parts := []formPart{{name: "model", value: model}, {name: "prompt", value: prompt}, {"image", string(editPNG), true}}
	for i := 0; i+1 < len(fields); i += 2 {
		parts = append(parts, formPart{name: fields[i], value: fields[i+1]})
	}
	return parts
}

// imagePattern is the event names of a stream of n images with partials
// partial images each; kind is image_generation or image_edit.
func imagePattern(kind string, n, partials int) []string {
	var out []string
	for range n {
		out = append(out, repeated(kind+".partial_image", partials, kind+".completed")...)
	}
	return out
}

// wantImageStream checks the events of a stream against the whole answer
// to the same request: names in the pattern of n images with partials
// partial images each, the fields of each event (shape: size, quality,
// background), each completed image the answer's, each partial a PNG
// showing part of it, and the completed events' usage adding up to the
// answer's.
func wantImageStream(t *testing.T, evs []event, kind string, n, partials int, whole map[string]any, shape [3]string) {
	t.Helper()
	if got, want := namesOf(evs), imagePattern(kind, n, partials); !slices.Equal(got, want) {
		t.Fatalf("got events %v, want %v", got, want)
	}
	var created any
	sum := map[string]float64{}
	image, partial := 0, 0
	var partials64 [][]byte
	for _, e := range evs {
		m := eventOf(t, e.data)
		if created == nil {
			created = m["created_at"]
		}
		if c, _ := m["created_at"].(float64); c <= 0 || m["created_at"] != created {
			t.Errorf("got created_at %v, want one time for every event", m["created_at"])
		}
		if m["size"] != shape[0] || m["quality"] != shape[1] || m["background"] != shape[2] || m["output_format"] != "png" || len(m) != 8 {
			t.Errorf("got event %.200s, want 8 fields, size %s, quality %s, background %s, output_format png", e.data, shape[0], shape[1], shape[2])
		}
		b, err := base64.StdEncoding.DecodeString(m["b64_json"].(string))
		if err != nil {
			t.Fatalf("got b64_json %q: %v", m["b64_json"], err)
		}
		final := get(whole, "data", image, "b64_json")
		if strings.HasSuffix(e.name, ".partial_image") {
			if m["partial_image_index"] != float64(partial) {
				t.Errorf("got partial_image_index %v, want %d", m["partial_image_index"], partial)
			}
			wantPartial(t, b, final.(string))
			partials64 = append(partials64, b)
			partial++
			continue
		}
		if m["b64_json"] != final {
			t.Errorf("image %d: got other bytes than the whole answer's", image)
		}
		u := m["usage"].(map[string]any)
		in, out, total := u["input_tokens"].(float64), u["output_tokens"].(float64), u["total_tokens"].(float64)
		text, img := get(u, "input_tokens_details", "text_tokens").(float64), get(u, "input_tokens_details", "image_tokens").(float64)
		if in != text+img || total != in+out || len(u) != 4 {
			t.Errorf("image %d: got usage %v, want input the sum of its details, total the sum of input and output", image, u)
		}
		sum["input_tokens"] += in
		sum["output_tokens"] += out
		sum["total_tokens"] += total
		sum["text_tokens"] += text
		sum["image_tokens"] += img
		image, partial = image+1, 0
	}
	wu := whole["usage"].(map[string]any)
	want := map[string]float64{
		"input_tokens": wu["input_tokens"].(float64), "output_tokens": wu["output_tokens"].(float64), "total_tokens": wu["total_tokens"].(float64),
		"text_tokens": get(wu, "input_tokens_details", "text_tokens").(float64), "image_tokens": get(wu, "input_tokens_details", "image_tokens").(float64),
	}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("got usage adding up to %v, want the whole answer's %v", sum, want)
	}
	for i := 1; i < len(partials64); i++ {
		if bytes.Equal(partials64[i], partials64[i-1]) {
			t.Errorf("partial %d: got the bytes of the one before", i)
		}
	}
}

// wantPartial checks a partial image: a valid PNG of the simulator's size
// that is not the final image (b64) but shows its colour at the top and
// nothing at the bottom.
func wantPartial(t *testing.T, b []byte, final string) {
	t.Helper()
	whole, _ := base64.StdEncoding.DecodeString(final)
	if bytes.Equal(b, whole) {
		t.Errorf("got a partial image equal to the final one")
	}
	if decodePNG(t, b) != decodePNG(t, whole) {
		t.Errorf("got a partial image whose top is not the final image's colour")
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, a := img.At(imageSide-1, imageSide-1).RGBA(); a != 0 {
		t.Errorf("got a partial image with its bottom drawn")
	}
}

func TestImageGenerationStream(t *testing.T) {
	s, url, c, _ := imageSim(t)
	ctx := t.Context()
	body := map[string]any{"model": "sim-image", "prompt": "a green signal at night", "n": 2, "partial_images": 2,
		"size": "1536x1024", "quality": "high", "background": "transparent"}
	whole := decode(t, post(t, ctx, c, url+"/v1/images/generations", body))

	resp, evs, err := streamGeneration(t, ctx, c, url, body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %v, want a 200 stream", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("got Content-Type %q, want text/event-stream; charset=utf-8", ct)
	}
	if id := resp.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("got x-request-id %q, want req_...", id)
	}
	wantImageStream(t, evs, "image_generation", 2, 2, whole, [3]string{"1536x1024", "high", "transparent"})
	calls := s.Calls("sim-image")
	if c := calls[len(calls)-1]; !c.Stream || c.Status != http.StatusOK || c.Path != "/v1/images/generations" || c.Fault != "" {
		t.Errorf("got call %+v, want a streamed 200", c)
	}

	t.Run("defaults", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"model": "sim-image", "prompt": "a yard"},
			{"model": "sim-image", "prompt": "a yard", "size": "auto", "quality": "auto", "output_format": "webp", "partial_images": 0},
		} {
			whole := decode(t, post(t, ctx, c, url+"/v1/images/generations", body))
			_, evs, err := streamGeneration(t, ctx, c, url, body)
			if err != nil {
				t.Fatal(err)
			}
			wantImageStream(t, evs, "image_generation", 1, 0, whole, [3]string{defaultImageSize, defaultQuality, defaultBackground})
		}
	})

	t.Run("three images share the usage", func(t *testing.T) {
		body := map[string]any{"model": "sim-image", "prompt": "a long goods train at dawn", "n": 3, "partial_images": 1} // 7 text tokens
		whole := decode(t, post(t, ctx, c, url+"/v1/images/generations", body))
		_, evs, err := streamGeneration(t, ctx, c, url, body)
		if err != nil {
			t.Fatal(err)
		}
		wantImageStream(t, evs, "image_generation", 3, 1, whole, [3]string{defaultImageSize, defaultQuality, defaultBackground})
		var text []float64
		for _, e := range evs {
			if u := get(eventOf(t, e.data), "usage", "input_tokens_details", "text_tokens"); u != nil {
				text = append(text, u.(float64))
			}
		}
		if want := []float64{2, 2, 3}; !slices.Equal(text, want) {
			t.Errorf("got text tokens %v, want %v: even shares, the remainder to the last", text, want)
		}
	})

	t.Run("partial_images without stream", func(t *testing.T) {
		plain := decode(t, post(t, ctx, c, url+"/v1/images/generations", map[string]any{"model": "sim-image", "prompt": "a yard"}))
		got := decode(t, post(t, ctx, c, url+"/v1/images/generations", map[string]any{"model": "sim-image", "prompt": "a yard", "partial_images": 3, "stream": false}))
		delete(plain, "created")
		delete(got, "created")
		if !reflect.DeepEqual(got, plain) {
			t.Errorf("got %v, want the answer without partial_images %v", got, plain)
		}
	})
}

func TestImageGenerationStreamRefused(t *testing.T) {
	s, url, c, _ := imageSim(t)
	ctx := t.Context()
	endpoint := url + "/v1/images/generations"
	for _, tt := range []struct {
		name   string
		body   map[string]any
		param  any
		msg    string
		stream bool // recorded
	}{
		{"dall-e", map[string]any{"model": "sim-dalle", "prompt": "x", "stream": true}, "stream", "stream is only supported for gpt-image models.", true},
		{"too many partials", map[string]any{"model": "sim-image", "prompt": "x", "stream": true, "partial_images": 4}, "partial_images",
			"Invalid 'partial_images': integer above maximum value. Expected a value <= 3, but got 4 instead.", true},
		{"negative partials", map[string]any{"model": "sim-image", "prompt": "x", "stream": true, "partial_images": -1}, "partial_images",
			"Invalid 'partial_images': integer below minimum value. Expected a value >= 0, but got -1 instead.", true},
		{"decimal partials", map[string]any{"model": "sim-image", "prompt": "x", "stream": true, "partial_images": 1.5}, "partial_images",
			"Invalid type for 'partial_images': expected an integer, but got a decimal instead.", true},
		{"string partials", map[string]any{"model": "sim-image", "prompt": "x", "stream": true, "partial_images": "2"}, "partial_images",
			"Invalid type for 'partial_images': expected an integer, but got a string instead.", true},
		{"bad partials without stream", map[string]any{"model": "sim-image", "prompt": "x", "partial_images": 9}, "partial_images",
			"Invalid 'partial_images': integer above maximum value. Expected a value <= 3, but got 9 instead.", false},
		{"stream not a boolean", map[string]any{"model": "sim-image", "prompt": "x", "stream": "yes"}, nil,
			"Invalid type for 'stream': expected a boolean, but got a string instead.", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, ctx, c, endpoint, tt.body)
			body := decode(t, resp)
			if resp.StatusCode != http.StatusBadRequest || get(body, "error", "type") != "invalid_request_error" ||
				get(body, "error", "param") != tt.param || get(body, "error", "message") != tt.msg {
				t.Errorf("got %d %v, want a 400 on param %v: %q", resp.StatusCode, body, tt.param, tt.msg)
			}
			model, _ := tt.body["model"].(string)
			calls := s.Calls(model)
			if c := calls[len(calls)-1]; c.Stream != tt.stream || c.Status != http.StatusBadRequest {
				t.Errorf("got call %+v, want a 400 with stream %v", c, tt.stream)
			}
		})
	}

	t.Run("dall-e without stream", func(t *testing.T) {
		resp := post(t, ctx, c, endpoint, map[string]any{"model": "sim-dalle", "prompt": "x", "stream": false, "partial_images": 1})
		if body := decode(t, resp); resp.StatusCode != http.StatusOK || len(body["data"].([]any)) != 1 {
			t.Errorf("got %d %v, want a whole answer", resp.StatusCode, body)
		}
	})
}

func TestImageEditStream(t *testing.T) {
	s, url, c, _ := imageSim(t)
	ctx := t.Context()
	endpoint := url + "/v1/images/edits"
	parts := append(editParts("sim-image", "paint it blue", "n", "3", "partial_images", "1", "quality", "low"), formPart{"image[]", string(editJPEG), true})
	whole := decode(t, postParts(t, ctx, c, endpoint, parts...))

	resp, evs, err := streamEdit(t, ctx, c, url, parts...)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %v, want a 200 stream", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("got Content-Type %q, want text/event-stream; charset=utf-8", ct)
	}
	wantImageStream(t, evs, "image_edit", 3, 1, whole, [3]string{defaultImageSize, "low", defaultBackground})
	var image []float64
	for _, e := range evs {
		if u := get(eventOf(t, e.data), "usage", "input_tokens_details", "image_tokens"); u != nil {
			image = append(image, u.(float64))
		}
	}
	if want := []float64{56, 56, 58}; !slices.Equal(image, want) { // 2 input images: 170 image tokens
		t.Errorf("got image tokens %v, want %v", image, want)
	}
	calls := s.Calls("sim-image")
	if c := calls[len(calls)-1]; !c.Stream || c.Status != http.StatusOK || c.Path != "/v1/images/edits" {
		t.Errorf("got call %+v, want a streamed 200", c)
	}

	t.Run("TRUE, no partials", func(t *testing.T) {
		parts := editParts("sim-image", "paint it red", "stream", "TRUE")
		whole := decode(t, postParts(t, ctx, c, endpoint, parts[:3]...))
		resp := postParts(t, ctx, c, endpoint, parts...)
		defer resp.Body.Close()
		evs, err := imageFrames(t, resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		wantImageStream(t, evs, "image_edit", 1, 0, whole, [3]string{defaultImageSize, defaultQuality, defaultBackground})
	})

	t.Run("stream false", func(t *testing.T) {
		resp := postParts(t, ctx, c, endpoint, editParts("sim-image", "paint it red", "stream", "false", "partial_images", "2")...)
		if body := decode(t, resp); resp.StatusCode != http.StatusOK || len(body["data"].([]any)) != 1 {
			t.Errorf("got %d %v, want a whole answer", resp.StatusCode, body)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			parts []formPart
			param any
			msg   string
		}{
			{"dall-e", editParts("sim-dalle", "x", "stream", "true"), "stream", "stream is only supported for gpt-image models."},
			{"too many partials", editParts("sim-image", "x", "stream", "true", "partial_images", "5"), "partial_images",
				"Invalid 'partial_images': integer above maximum value. Expected a value <= 3, but got 5 instead."},
			{"partials not a number", editParts("sim-image", "x", "stream", "true", "partial_images", "two"), "partial_images",
				"Invalid type for 'partial_images': expected an integer, but got a string instead."},
			{"stream not a boolean", editParts("sim-image", "x", "stream", "maybe"), nil,
				"Invalid type for 'stream': expected a boolean, but got 'maybe' instead."},
		} {
			resp := postParts(t, ctx, c, endpoint, tt.parts...)
			body := decode(t, resp)
			if resp.StatusCode != http.StatusBadRequest || get(body, "error", "param") != tt.param || get(body, "error", "message") != tt.msg {
				t.Errorf("%s: got %d %v, want a 400 on param %v: %q", tt.name, resp.StatusCode, body, tt.param, tt.msg)
			}
		}
	})
}

func TestImageStreamPacing(t *testing.T) {
	m := Model{Name: "slow-image", ContextWindow: 1000, FirstToken: 40 * time.Millisecond, TokensPerSecond: 100}
	_, url, c, _ := imageSim(t, m)
	for _, tt := range []struct {
		partials, events int
		least            time.Duration // first event, then 10ms each
	}{{2, 3, 60 * time.Millisecond}, {0, 1, 40 * time.Millisecond}} {
		start := time.Now()
		_, evs, err := streamGeneration(t, t.Context(), c, url, map[string]any{"model": m.Name, "prompt": "x", "partial_images": tt.partials})
		if err != nil || len(evs) != tt.events {
			t.Fatalf("got %d events, %v; want %d", len(evs), err, tt.events)
		}
		if got := time.Since(start); got < tt.least {
			t.Errorf("%d partials: stream took %v, want >= %v", tt.partials, got, tt.least)
		}
	}
}

// imageStreams are the two image streams, each as a function sending one
// request of two images with a partial image each (four events: partial,
// completed, partial, completed) with the given X-Sim-Fault header (empty
// for none).
func imageStreams(c *http.Client, url string) []struct {
	name, kind string
	send       func(t *testing.T, ctx context.Context, fault string) (*http.Response, []event, error)
} {
	return []struct {
		name, kind string
		send       func(t *testing.T, ctx context.Context, fault string) (*http.Response, []event, error)
	}{
		{"generation", "image_generation", func(t *testing.T, ctx context.Context, fault string) (*http.Response, []event, error) {
			t.Helper()
			return streamGeneration(t, ctx, faultClient(c, fault), url, map[string]any{"model": "sim-image", "prompt": "x", "n": 2, "partial_images": 1})
		}},
		{"edit", "image_edit", func(t *testing.T, ctx context.Context, fault string) (*http.Response, []event, error) {
			t.Helper()
			return streamEdit(t, ctx, faultClient(c, fault), url, editParts("sim-image", "x", "n", "2", "partial_images", "1")...)
		}},
	}
}

func TestImageStreamFaults(t *testing.T) {
	s, url, c, _ := imageSim(t)
	p, d := ".partial_image", ".completed"
	tests := []struct {
		name  string
		fault string
		want  []string // event names, as suffixes of the kind; "?" undecodable, "error" the error event
		err   error    // the read error
	}{
		{"cut", "cut;after=2", []string{p, d}, io.ErrUnexpectedEOF},
		{"cut before any event", "cut", nil, io.ErrUnexpectedEOF},
		{"cut after every event", "cut;after=4", []string{p, d, p}, io.ErrUnexpectedEOF},
		{"missing_done", "missing_done", []string{p, d, p}, nil},
		{"stream_error", "stream_error;after=1", []string{p, "error"}, nil},
		{"malformed", "malformed;after=1", []string{p, "?", d, p, d}, nil},
		{"stall", "stall;after=3", []string{p, d, p}, context.DeadlineExceeded},
	}
	for _, st := range imageStreams(c, url) {
		_, clean, err := st.send(t, t.Context(), "")
		if got, want := namesOf(clean), imagePattern(st.kind, 2, 1); err != nil || !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, %v; want %v", st.name, got, err, want)
		}
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
				defer cancel()
				resp, evs, err := st.send(t, ctx, tt.fault)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got status %d, want 200", resp.StatusCode)
				}
				var want []string
				for _, w := range tt.want {
					if strings.HasPrefix(w, ".") {
						w = st.kind + w
					}
					want = append(want, w)
				}
				if got := namesOf(evs); !slices.Equal(got, want) || !errors.Is(err, tt.err) {
					t.Errorf("got %v, %v; want %v, %v", got, err, want, tt.err)
				}
				switch tt.name {
				case "stream_error":
					if m := eventOf(t, evs[len(evs)-1].data); m["type"] != "error" || get(m, "error", "type") != "server_error" || get(m, "error", "message") == nil {
						t.Errorf("got error event %s, want OpenAI's server_error", evs[len(evs)-1].data)
					}
				case "malformed":
					if evs[1].name != st.kind+d {
						t.Errorf("got the undecodable event named %s, want it named as the event it stands before", evs[1].name)
					}
				case "missing_done":
					got, want := eventOf(t, evs[1].data), eventOf(t, clean[1].data)
					if got["b64_json"] != want["b64_json"] || !reflect.DeepEqual(got["usage"], want["usage"]) {
						t.Errorf("got the first completed event %.80s, want the clean stream's image and usage", evs[1].data)
					}
				}
			})
		}
	}
	faulted := 0
	for _, c := range s.Calls("sim-image") {
		if !c.Stream || c.Status != http.StatusOK {
			t.Errorf("got call %+v, want a streamed 200", c)
		}
		if c.Fault != "" {
			faulted++
		}
	}
	if faulted != 2*len(tests) {
		t.Errorf("got %d calls with a fault, want %d", faulted, 2*len(tests))
	}
}

func TestImageStreamFaultMatching(t *testing.T) {
	flaky := Model{Name: "flaky-image", ContextWindow: 1000, Faults: []Fault{{Type: FaultCut, After: 1, Times: 1}}}
	s, url, c, _ := imageSim(t, flaky)
	ctx := t.Context()
	body := map[string]any{"model": "flaky-image", "prompt": "x", "partial_images": 2}

	// Not streamed: served, and the fault's Times not used up.
	if resp := post(t, ctx, c, url+"/v1/images/generations", body); decode(t, resp)["data"] == nil {
		t.Errorf("got status %d, want a whole answer", resp.StatusCode)
	}
	if resp := postParts(t, ctx, c, url+"/v1/images/edits", editParts("flaky-image", "x")...); decode(t, resp)["data"] == nil {
		t.Errorf("edit: got status %d, want a whole answer", resp.StatusCode)
	}
	_, evs, err := streamGeneration(t, ctx, c, url, body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 1 {
		t.Errorf("got %d events, %v; want the stream cut after an event", len(evs), err)
	}
	_, evs, err = streamGeneration(t, ctx, c, url, body)
	if err != nil || len(evs) != 3 {
		t.Errorf("got %d events, %v; want the whole stream once Times is used up", len(evs), err)
	}
	var faults []FaultType
	for _, c := range s.Calls("flaky-image") {
		faults = append(faults, c.Fault)
	}
	if want := []FaultType{"", "", FaultCut, ""}; !slices.Equal(faults, want) {
		t.Errorf("got faults %q, want %q", faults, want)
	}

	t.Run("header on a whole answer is ignored", func(t *testing.T) {
		resp := post(t, ctx, faultClient(c, "cut"), url+"/v1/images/generations", map[string]any{"model": "sim-image", "prompt": "x"})
		if body := decode(t, resp); resp.StatusCode != http.StatusOK || body["data"] == nil {
			t.Errorf("got %d %v, want a whole answer", resp.StatusCode, body)
		}
	})

	t.Run("pre-answer faults", func(t *testing.T) {
		resp, _, _ := streamGeneration(t, ctx, faultClient(c, "status;status=429;retry_after=1s"), url, map[string]any{"model": "sim-image", "prompt": "x"})
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("generation: got %d, want a 429 with Retry-After", resp.StatusCode)
		}
		resp, _, _ = streamEdit(t, ctx, faultClient(c, "status;status=503"), url, editParts("sim-image", "x")...)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("edit: got %d, want a 503", resp.StatusCode)
		}
		calls := s.Calls("sim-image")
		if c := calls[len(calls)-1]; c.Fault != FaultStatus || !c.Stream || c.Status != http.StatusServiceUnavailable {
			t.Errorf("got call %+v, want a streamed 503 status fault", c)
		}
		start := time.Now()
		_, evs, err := streamGeneration(t, ctx, faultClient(c, "slow_first_token;delay=50ms"), url, map[string]any{"model": "sim-image", "prompt": "x"})
		if err != nil || len(evs) != 1 || time.Since(start) < 50*time.Millisecond {
			t.Errorf("got %d events in %v, %v; want the completed event after 50ms", len(evs), time.Since(start), err)
		}
	})
}

func TestImageStreamSDK(t *testing.T) {
	_, _, _, oa := imageSim(t)
	ctx := t.Context()

	t.Run("generation", func(t *testing.T) {
		params := openai.ImageGenerateParams{Model: "sim-image", Prompt: "a tank engine", Quality: openai.ImageGenerateParamsQualityLow}
		whole, err := oa.Images.Generate(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		params.PartialImages = openai.Int(1)
		st := oa.Images.GenerateStreaming(ctx, params)
		defer st.Close()
		var types []string
		for st.Next() {
			ev := st.Current()
			types = append(types, ev.Type)
			switch ev.Type {
			case "image_generation.partial_image":
				pe := ev.AsImageGenerationPartialImage()
				if pe.PartialImageIndex != 0 || pe.Quality != "low" || len(pe.JSON.ExtraFields) != 0 {
					t.Errorf("got partial image %.200s, want index 0, quality low, no unknown fields", pe.RawJSON())
				}
				b, err := base64.StdEncoding.DecodeString(pe.B64JSON)
				if err != nil {
					t.Fatal(err)
				}
				decodePNG(t, b)
			case "image_generation.completed":
				ce := ev.AsImageGenerationCompleted()
				u, wu := ce.Usage, whole.Usage
				if ce.B64JSON != whole.Data[0].B64JSON || ce.OutputFormat != "png" || ce.Size != "1024x1024" || len(ce.JSON.ExtraFields) != 0 ||
					u.InputTokens != wu.InputTokens || u.OutputTokens != wu.OutputTokens || u.TotalTokens != wu.TotalTokens ||
					u.InputTokensDetails.TextTokens != wu.InputTokensDetails.TextTokens || !u.InputTokensDetails.JSON.ImageTokens.Valid() {
					t.Errorf("got completed %.200s, want the whole answer's image and usage %s", ce.RawJSON(), wu.RawJSON())
				}
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if want := []string{"image_generation.partial_image", "image_generation.completed"}; !slices.Equal(types, want) {
			t.Errorf("got events %v, want %v", types, want)
		}
	})

	t.Run("edit", func(t *testing.T) {
		params := openai.ImageEditParams{Model: "sim-image", Prompt: "add steam", Image: oneImage(editPNG)}
		whole := edit(t, oa, params)
		params.Image, params.PartialImages = oneImage(editPNG), openai.Int(1)
		st := oa.Images.EditStreaming(ctx, params)
		defer st.Close()
		var types []string
		for st.Next() {
			ev := st.Current()
			types = append(types, ev.Type)
			if ev.Type == "image_edit.completed" {
				ce := ev.AsImageEditCompleted()
				if ce.B64JSON != whole.Data[0].B64JSON || ce.Usage.InputTokens != whole.Usage.InputTokens ||
					ce.Usage.InputTokensDetails.ImageTokens != imageTokens || len(ce.JSON.ExtraFields) != 0 {
					t.Errorf("got completed %.200s, want the whole answer's image and usage", ce.RawJSON())
				}
			}
			if ev.Type == "image_edit.partial_image" && ev.AsImageEditPartialImage().PartialImageIndex != 0 {
				t.Errorf("got partial image %.200s, want index 0", ev.RawJSON())
			}
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if want := []string{"image_edit.partial_image", "image_edit.completed"}; !slices.Equal(types, want) {
			t.Errorf("got events %v, want %v", types, want)
		}
	})

	t.Run("stream_error surfaces as an error", func(t *testing.T) {
		st := oa.Images.GenerateStreaming(ctx, openai.ImageGenerateParams{Model: "sim-image", Prompt: "x", PartialImages: openai.Int(2)},
			oaoption.WithHeader("X-Sim-Fault", "stream_error;after=1"))
		defer st.Close()
		n := 0
		for st.Next() {
			n++
		}
		if err := st.Err(); n != 1 || err == nil || !strings.Contains(err.Error(), "server_error") {
			t.Errorf("got %d events and %v, want one partial image then the in-band error", n, err)
		}
	})
}

func TestImageUsageShare(t *testing.T) {
	for _, tt := range []struct {
		text, images, out, n int
	}{{7, 0, 3 * imageOutputTokens, 3}, {2, 170, 2 * imageOutputTokens, 2}, {5, 85, imageOutputTokens, 1}, {1, 0, 10, 4}} {
		u := newImageUsage(tt.text, tt.images, tt.out)
		var sum imageUsage
		for i := range tt.n {
			sh := u.share(i, tt.n)
			d := sh.InputTokensDetails
			if sh.InputTokens != d.TextTokens+d.ImageTokens || sh.TotalTokens != sh.InputTokens+sh.OutputTokens {
				t.Errorf("%+v: share %d = %+v, want input and total the sums of their parts", tt, i, sh)
			}
			if i < tt.n-1 && (d.TextTokens != tt.text/tt.n || sh.OutputTokens != tt.out/tt.n) {
				t.Errorf("%+v: share %d = %+v, want an even share rounded down", tt, i, sh)
			}
			sum.InputTokens += sh.InputTokens
			sum.OutputTokens += sh.OutputTokens
			sum.TotalTokens += sh.TotalTokens
			sum.InputTokensDetails.TextTokens += d.TextTokens
			sum.InputTokensDetails.ImageTokens += d.ImageTokens
		}
		if sum != u {
			t.Errorf("%+v: shares add up to %+v, want %+v", tt, sum, u)
		}
	}
}

func TestPartialImage(t *testing.T) {
	final := drawImage("m", "p", "", 0)
	for partials := 1; partials <= maxPartialImages; partials++ {
		rows := -1
		for k := range partials {
			b := partialImage("m", "p", "", 0, k, partials)
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil || bytes.Equal(b, final) {
				t.Fatalf("partial %d of %d: %v, or equal to the final image", k, partials, err)
			}
			n := 0
			for y := range imageSide {
				if _, _, _, a := img.At(0, y).RGBA(); a != 0 {
					n++
				}
			}
			if n <= rows || n == 0 || n == imageSide {
				t.Errorf("partial %d of %d: %d rows drawn, want more than the partial before (%d) and fewer than %d", k, partials, n, rows, imageSide)
			}
			rows = n
		}
	}
}
