package server_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/logtest"
	"github.com/switchyard-gw/switchyard/internal/server"
)

// streamer answers with an endless stream of 16 KiB writes and reports
// the write error that ended it (nil if the client's request ended
// first) and how long the handler ran.
type streamer struct {
	ended chan error
}

func (s *streamer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	chunk := []byte("data: " + strings.Repeat("x", 16<<10) + "\n\n")
	for {
		if _, err := w.Write(chunk); err != nil {
			s.ended <- err
			return
		}
		if err := rc.Flush(); err != nil {
			s.ended <- err
			return
		}
		select {
		case <-r.Context().Done():
			s.ended <- nil
			return
		default:
		}
	}
}

// dialStream sends a GET and reads the status line.
func dialStream(t *testing.T, base string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprint(conn, "GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestSendTimeoutCutsAStalledClient: a client that reads the status line
// and then nothing has its writes failed once one has made no progress
// for SendTimeout, so its handler ends (and with it the upstream call and
// any slot it held), with a log line; before, it ran until the client
// hung up (audit AO, AO3).
func TestSendTimeoutCutsAStalledClient(t *testing.T) {
	const limit = 300 * time.Millisecond
	h := &streamer{ended: make(chan error, 1)}
	logs := &logtest.Buffer{}
	r := start(t, server.Options{API: h, Logger: slog.New(slog.NewJSONHandler(logs, nil)), SendTimeout: limit})
	conn := dialStream(t, r.base)
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	if status, err := bufio.NewReaderSize(conn, 16).ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line: got %q, %v", status, err)
	}
	began := time.Now()
	select {
	case err := <-h.ended:
		if err == nil {
			t.Fatal("the handler ended without a failed write")
		}
		if took := time.Since(began); took < limit {
			t.Errorf("the writes were cut after %v, before the send timeout of %v", took, limit)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stalled client's writes were never cut")
	}
	if !strings.Contains(logs.String(), `"msg":"client stopped reading; ending its response"`) {
		t.Errorf("no log line for the cut:\n%s", logs.String())
	}
}

// TestSendTimeoutSparesSlowReaders: a client that reads slowly but keeps
// reading is not cut, though the whole answer takes longer than the send
// timeout and the handler's writes are blocked most of the time.
func TestSendTimeoutSparesSlowReaders(t *testing.T) {
	const limit = 2 * time.Second
	h := &streamer{ended: make(chan error, 1)}
	r := start(t, server.Options{API: h, SendTimeout: limit})
	conn := dialStream(t, r.base)
	// Read 16 KiB at a time with a pause between reads, for twice the
	// send timeout: the server writes far faster, so its writes wait on
	// this reader nearly all the time.
	buf := make([]byte, 16<<10)
	total := 0
	began := time.Now()
	for time.Since(began) < 2*limit {
		n, err := io.ReadFull(conn, buf)
		if err != nil {
			t.Fatalf("after %d bytes in %v: %v (the slow reader was cut)", total, time.Since(began), err)
		}
		total += n
		time.Sleep(10 * time.Millisecond) // the client's reading pace, not a wait for the server
	}
	conn.Close()
	<-h.ended // ended by the hang-up
}
