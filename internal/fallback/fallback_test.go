package fallback

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSwitch(t *testing.T) {
	now := time.Unix(0, 0)
	var logs bytes.Buffer
	s := New("ratelimit", time.Second, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logs, nil)))
	if !s.Try() || s.Active() {
		t.Fatal("new switch: want the backend tried and no fallback")
	}
	s.Down(errors.New("boom"))
	s.Down(errors.New("boom again"))
	if !s.Active() {
		t.Fatal("after Down: want the fallback active")
	}
	if s.Try() {
		t.Error("within the probe interval: got a probe, want none")
	}
	now = now.Add(time.Second)
	if !s.Try() {
		t.Error("after the interval: want one probe")
	}
	if s.Try() {
		t.Error("second call after the interval: want no second probe")
	}
	s.Up()
	if s.Active() || !s.Try() {
		t.Error("after Up: want the backend used again")
	}
	if got := strings.Count(logs.String(), "redis unavailable"); got != 1 {
		t.Errorf("down log lines: got %d, want 1 per transition", got)
	}
	if got := strings.Count(logs.String(), "available again"); got != 1 {
		t.Errorf("up log lines: got %d, want 1", got)
	}
}
