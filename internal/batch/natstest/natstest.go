// Package natstest connects tests to the NATS server (with JetStream) on
// loopback: it skips a test when none is running (fails under
// SWITCHYARD_TEST_SERVICES=require) and gives each test a stream name of
// its own, deleted afterwards.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// URL is where the tests expect NATS.
const URL = "nats://127.0.0.1:4222"

// Stream returns a fresh stream name for this test, or skips it.
func Stream(tb testing.TB) string {
	tb.Helper()
	nc, err := nats.Connect(URL, nats.Timeout(2*time.Second), nats.MaxReconnects(0))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var js jetstream.JetStream
		if js, err = jetstream.New(nc); err == nil {
			_, err = js.AccountInfo(ctx)
		}
	}
	if err != nil {
		if nc != nil {
			nc.Close()
		}
		if os.Getenv("SWITCHYARD_TEST_SERVICES") == "require" {
			tb.Fatalf("NATS JetStream at %s: %v (SWITCHYARD_TEST_SERVICES=require)", URL, err)
		}
		tb.Skipf("NATS JetStream at %s unreachable, skipping: %v", URL, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	stream := "SWTEST_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		js, err := jetstream.New(nc)
		if err == nil {
			_ = js.DeleteStream(ctx, stream)
		}
	})
	return stream
}
