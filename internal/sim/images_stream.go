package sim

import (
	"encoding/base64"
	"fmt"
	"net/http"
)

// The streamed answer of OpenAI's image endpoints: a generation with
// "stream": true, or an edit with the form field stream=true, from a GPT
// image model (a DALL·E style model refuses stream). It is server-sent
// events, each an event line naming its type, one data line and a blank
// line, with no [DONE] after the last. For each of the n images, in
// order, come partial_images partial image events, then the image's
// completed event:
//
//	event: image_generation.partial_image
//	data: {"type":"image_generation.partial_image","b64_json":"iVBORw0K...","created_at":1767052800,
//	       "size":"1024x1024","quality":"medium","background":"auto","output_format":"png","partial_image_index":0}
//
//	event: image_generation.completed
//	data: {"type":"image_generation.completed","b64_json":"iVBORw0K...","created_at":1767052800,
//	       "size":"1024x1024","quality":"medium","background":"auto","output_format":"png",
//	       "usage":{"input_tokens":6,"input_tokens_details":{"text_tokens":6,"image_tokens":0},
//	       "output_tokens":1056,"total_tokens":1062}}
//
// (each data on one line). An edit streams image_edit.partial_image and
// image_edit.completed events with the same fields. A completed event's
// b64_json is exactly that image of the answer the same request gets
// without stream; a partial image is a PNG of the same image with only
// its top rows drawn (see partialImage). size, quality and background are
// the request's, or the defaults a whole answer reports (1024x1024,
// medium, auto); output_format is png, the only format drawn. Each
// completed event carries its image's share of the whole answer's usage
// (see imageUsage.share), so the shares sum to it.
//
// The events are paced as a chat stream's tokens (the first after
// FirstToken, then TokensPerSecond), and the mid-stream faults count
// them, partial and completed alike. The last completed event is the
// stream's terminator: missing_done leaves it out, and a fault after as
// many events as the stream has, or more, strikes before it.

// imageUsage is the usage of a GPT image answer, in OpenAI's field order.
type imageUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		TextTokens  int `json:"text_tokens"`
		ImageTokens int `json:"image_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens int `json:"output_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// newImageUsage bills text tokens of prompt and image tokens of input
// images in, and out tokens out.
func newImageUsage(text, images, out int) imageUsage {
	u := imageUsage{InputTokens: text + images, OutputTokens: out, TotalTokens: text + images + out}
	u.InputTokensDetails.TextTokens, u.InputTokensDetails.ImageTokens = text, images
	return u
}

// share is image i's share of u, the usage of an answer of n images, as
// the image's completed event reports it. The text, image and output
// tokens are each divided evenly among the n images, rounded down, and
// the last image gets the remainder too; its input and total tokens are
// the sums of its shares. So the n shares add up to u in every field.
func (u imageUsage) share(i, n int) imageUsage {
	part := func(total int) int {
		if i == n-1 {
			return total - total/n*(n-1)
		}
		return total / n
	}
	d := u.InputTokensDetails
	return newImageUsage(part(d.TextTokens), part(d.ImageTokens), part(u.OutputTokens))
}

// imageEvent is the data of an image stream's event; its type names the
// event too. A partial image has its index, a completed image its usage.
type imageEvent struct {
	Type              string      `json:"type"`
	B64JSON           string      `json:"b64_json"`
	CreatedAt         int64       `json:"created_at"`
	Size              string      `json:"size"`
	Quality           string      `json:"quality"`
	Background        string      `json:"background"`
	OutputFormat      string      `json:"output_format"`
	PartialImageIndex *int        `json:"partial_image_index,omitempty"`
	Usage             *imageUsage `json:"usage,omitempty"`
}

// imageEvents are the events of a streamed answer to req from model: for
// each image its req.partials partial images, then the image with its
// share of usage, the usage of the whole answer. kind is the events' type
// prefix (image_generation, image_edit), key inputsKey of an edit's
// inputs and created the answer's time.
func imageEvents(model string, req imageRequest, key, kind string, created int64, usage imageUsage) []imageEvent {
	base := imageEvent{CreatedAt: created, OutputFormat: imageFormat}
	base.Size, base.Quality, base.Background = req.shape()
	var evs []imageEvent
	for i := range req.n {
		for k := range req.partials {
			e := base
			e.Type = kind + ".partial_image"
			e.B64JSON = base64.StdEncoding.EncodeToString(partialImage(model, req.prompt, key, i, k, req.partials))
			e.PartialImageIndex = &k
			evs = append(evs, e)
		}
		e := base
		e.Type = kind + ".completed"
		e.B64JSON = base64.StdEncoding.EncodeToString(drawImage(model, req.prompt, key, i))
		u := usage.share(i, req.n)
		e.Usage = &u
		evs = append(evs, e)
	}
	return evs
}

// imageStream writes the events of an image stream, one a token; the last
// is the terminator.
type imageStream struct {
	*sse
	id     string       // the x-request-id
	events []imageEvent // every event, in order
	next   int          // events handed to token so far
}

var _ streamer = (*imageStream)(nil)

func (st *imageStream) start() error { return st.header(map[string]string{"x-request-id": st.id}) }

// token sends the next event (piece is its type), except the last: the
// terminator is held back for finish, so that it keeps its place in the
// pacing and a missing_done fault can leave it out.
func (st *imageStream) token(string) error {
	st.next++
	if st.next == len(st.events) {
		return nil
	}
	e := st.events[st.next-1]
	return st.event(e.Type, e)
}

// ping sends nothing: OpenAI's image streams have no keep-alive event.
func (st *imageStream) ping() error { return nil }

// malformed sends the next event (the terminator once every other has
// gone) cut off inside its image.
func (st *imageStream) malformed() error {
	e := st.events[min(st.next, len(st.events)-1)]
	return st.event(e.Type, fmt.Sprintf(`{"type":"%s","b64_json":"%s`, e.Type, e.B64JSON[:min(len(e.B64JSON), 16)]))
}

// fail sends an error event: OpenAI's in-band error, typed.
func (st *imageStream) fail() error {
	return st.event("error", map[string]any{"type": "error", "error": oaStreamError()["error"]})
}

// finish sends the terminator, the last completed event, unless it is to
// be left out.
func (st *imageStream) finish(terminator bool) error {
	if !terminator {
		return nil
	}
	e := st.events[len(st.events)-1]
	return st.event(e.Type, e)
}

// streamImages streams events (see imageEvents) to a request to m, paced
// as tokens. f is the request's fault, injected when it is a mid-stream
// one.
func (s *Server) streamImages(rw http.ResponseWriter, r *http.Request, m Model, f *Fault, events []imageEvent) {
	st := &imageStream{sse: newSSE(rw), id: "req_" + s.nextID(24), events: events}
	types := make([]string, len(events))
	for i, e := range events {
		types[i] = e.Type
	}
	s.streamEvents(rw, r, m, f, st, types)
}
