package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// pacedGap is the pause between two frames of pacedUpstream's stream
// (SWITCHYARD_BENCH_GAP, a Go duration; 200µs by default): long enough
// for each frame to arrive in a read of its own, as a model's tokens do
// and as bench/run.sh's simulator sends them (it flushes every event).
func pacedGap(b *testing.B) time.Duration {
	gap := 200 * time.Microsecond
	if s := os.Getenv("SWITCHYARD_BENCH_GAP"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		gap = d
	}
	return gap
}

// pacedUpstream answers every request with benchStream, one frame per
// write and flush, gap apart.
func pacedUpstream(b *testing.B, gap time.Duration) *httptest.Server {
	b.Helper()
	frames := bytes.SplitAfter(benchStream, []byte("\n\n"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for _, f := range frames {
			if len(f) == 0 {
				continue
			}
			w.Write(f)
			rc.Flush()
			time.Sleep(gap)
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkGatewayPaced is GatewayOverhead/stream with an upstream that
// sends its frames one at a time (see pacedGap), so that the gateway waits
// for the network before each frame as it does in bench/run.sh: its ns/op
// is mostly the pauses, so compare CPU (a profile, or instructions under
// callgrind) and allocations. FloorPaced is the floor on the same upstream.
func BenchmarkGatewayPaced(b *testing.B) {
	drive(b, switchyard(b, pacedUpstream(b, pacedGap(b)).URL), "auto", true)
}

func BenchmarkFloorPaced(b *testing.B) {
	drive(b, floor(b, pacedUpstream(b, pacedGap(b)).URL), "bench", true)
}
