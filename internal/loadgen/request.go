package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tidwall/gjson"
)

// Error kinds counted in Result.ErrorKinds.
const (
	KindDropped     = "dropped"      // open loop: not sent, in-flight cap reached
	KindTimeout     = "timeout"      // the request's Timeout ended it
	KindTransport   = "transport"    // connect, write or read failure
	KindBadBody     = "bad_body"     // 200 with an answer that is not a chat completion
	KindMissingDone = "missing_done" // stream ended without data: [DONE]
	KindStreamError = "stream_error" // in-band {"error": ...} event

	// kindCutOff marks a request in flight when the run's context ended
	// (Ctrl-C): counted in Result.CutOff, not as an error of the server.
	kindCutOff = "cut_off"
)

// outcome is one request's result. Latency is measured from due, the
// scheduled send time.
type outcome struct {
	latency time.Duration
	ttft    time.Duration // streams only; 0 when no token arrived
	bytes   int64
	kind    string // empty on success
	detail  string // the error's text, for transport and timeout failures
}

func failed(err error) outcome { return outcome{kind: errKind(err), detail: err.Error()} }

func (r *runner) do(run context.Context, due time.Time) (o outcome) {
	defer func() {
		// A request the run's end cut off (the operator's interrupt) did
		// not time out or fail: the server is not to blame for it.
		if run.Err() != nil && (o.kind == KindTimeout || o.kind == KindTransport || o.kind == KindMissingDone) {
			o.kind, o.detail = kindCutOff, ""
		}
	}()
	ctx, cancel := context.WithTimeout(run, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return outcome{kind: KindTransport, detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if r.opts.Stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	if r.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.opts.APIKey)
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		o := failed(err)
		o.latency = r.opts.Now().Sub(due)
		return o
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		n, err := io.Copy(io.Discard, resp.Body)
		o = outcome{bytes: n, kind: fmt.Sprintf("status_%d", resp.StatusCode)}
		if err != nil {
			o = failed(err)
		}
	case r.opts.Stream:
		o = r.readStream(resp.Body, due)
	default:
		o = readJSON(resp.Body)
	}
	o.latency = r.opts.Now().Sub(due)
	return o
}

// readJSON reads a non-streaming answer and checks that it is a chat
// completion (it has choices).
func readJSON(body io.Reader) outcome {
	data, err := io.ReadAll(body)
	o := outcome{bytes: int64(len(data))}
	switch {
	case err != nil:
		o.kind, o.detail = errKind(err), err.Error()
	case !gjson.GetBytes(data, "choices").IsArray():
		o.kind = KindBadBody
	}
	return o
}

var (
	dataPrefix = []byte("data:")
	doneData   = []byte("[DONE]")
)

// readStream reads an OpenAI SSE stream to its end. The time to first
// token is taken at the first event with content or tool-call deltas.
func (r *runner) readStream(body io.Reader, due time.Time) outcome {
	var o outcome
	br := bufio.NewReaderSize(body, 16<<10)
	done := false
	for {
		line, err := br.ReadSlice('\n')
		o.bytes += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: skip the rest of it. Token
			// events are short, so this only loses nothing we measure.
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				o.bytes += int64(len(line))
			}
			continue
		}
		if data, ok := bytes.CutPrefix(line, dataPrefix); ok {
			data = bytes.TrimSpace(data)
			switch {
			case done:
				// Anything after [DONE] is ignored.
			case bytes.Equal(data, doneData):
				done = true
			case o.ttft == 0 && hasToken(data):
				o.ttft = r.opts.Now().Sub(due)
			case gjson.GetBytes(data, "error").Exists():
				if o.kind == "" {
					o.kind = KindStreamError
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				o.kind, o.detail = errKind(err), err.Error()
				return o
			}
			break
		}
	}
	if !done && o.kind == "" {
		o.kind = KindMissingDone
	}
	return o
}

// hasToken reports whether a chunk carries generated content.
func hasToken(data []byte) bool {
	d := gjson.GetBytes(data, "choices.0.delta")
	return d.Get("content").String() != "" || d.Get("tool_calls").Exists() || d.Get("reasoning_content").String() != ""
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	}
	return KindTransport
}
