package redisbacked_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/redisbacked"
	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// refusal stands for a store's own error type (ratelimit.Error,
// budget.Error): Redis answered and said no.
type refusal struct{}

func (*refusal) Error() string { return "refused" }

func TestTry(t *testing.T) {
	errDown := errors.New("dial tcp: connection refused")
	refused := &refusal{}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name         string
		ctx          context.Context
		res          string
		err          error
		wantRes      string
		wantOK       bool
		wantErr      error
		wantFallback bool
	}{
		{name: "success stands", ctx: context.Background(), res: "ticket", wantRes: "ticket", wantOK: true},
		{name: "refusal stands", ctx: context.Background(), err: fmt.Errorf("store: %w", refused), wantOK: true, wantErr: refused},
		{name: "failure after the caller gave up stands", ctx: cancelled, res: "partial", err: errDown, wantOK: true, wantErr: errDown},
		{name: "redis failure falls back", ctx: context.Background(), res: "partial", err: errDown, wantFallback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := redisbacked.New("test", nil, "p:", redisbacked.Options{})
			res, ok, err := redisbacked.Try[string, *refusal](tt.ctx, b, func() (string, error) { return tt.res, tt.err })
			if res != tt.wantRes || ok != tt.wantOK || !errors.Is(err, tt.wantErr) {
				t.Errorf("got (%q, %v, %v), want (%q, %v, %v)", res, ok, err, tt.wantRes, tt.wantOK, tt.wantErr)
			}
			if got := b.Fallback(); got != tt.wantFallback {
				t.Errorf("fallback: got %v, want %v", got, tt.wantFallback)
			}
		})
	}
}

// TestTryProbes: while in fallback, Redis is tried once per probe interval,
// and the first success leaves the fallback. (A probe pings the real Redis
// before the call; the calls here stand for the store's.)
func TestTryProbes(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b := redisbacked.New("test", redistest.NewClient(t, redistest.Addr), "p:", redisbacked.Options{Now: func() time.Time { return now }, ProbeInterval: time.Second})
	calls := 0
	try := func(err error) bool {
		_, ok, _ := redisbacked.Try[int, *refusal](context.Background(), b, func() (int, error) {
			calls++
			return 0, err
		})
		return ok
	}
	if try(errors.New("down")) || !b.Fallback() {
		t.Fatalf("failure: got ok or no fallback, want fallback")
	}
	if try(nil) || calls != 1 {
		t.Fatalf("before the probe is due: got ok or %d calls, want no call", calls)
	}
	now = now.Add(time.Second)
	if !try(nil) || calls != 2 || b.Fallback() {
		t.Fatalf("probe: got %d calls, fallback %v; want 2 calls and redis again", calls, b.Fallback())
	}
}

func TestNewID(t *testing.T) {
	b := redisbacked.New("test", nil, "p:", redisbacked.Options{InstanceID: "i"})
	if got, want := b.NewID()+" "+b.NewID(), "i:1 i:2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	a, c := redisbacked.New("test", nil, "p:", redisbacked.Options{}), redisbacked.New("test", nil, "p:", redisbacked.Options{})
	if a.InstanceID == c.InstanceID || len(a.InstanceID) != 16 {
		t.Errorf("default instance ids: got %q and %q, want two different 16-hex-digit ids", a.InstanceID, c.InstanceID)
	}
	if !strings.HasPrefix(a.NewID(), a.InstanceID+":") {
		t.Errorf("got %q, want the instance id %q first", a.NewID(), a.InstanceID)
	}
}

func TestDefaults(t *testing.T) {
	b := redisbacked.New("test", nil, "p:", redisbacked.Options{Replicas: -2, ProbeInterval: -1, SettleTimeout: -1})
	if b.Replicas != 1 || b.ProbeInterval != time.Second || b.SettleTimeout != 2*time.Second || b.Now == nil || b.Logger == nil {
		t.Errorf("got %+v, want Replicas 1, ProbeInterval 1s, SettleTimeout 2s, a clock and a logger", b.Options)
	}
}

// TestRunMakesDeferredWritesAtShutdown: a write deferred while Redis
// failed is made once more as Run stops, and one that still fails is
// logged as lost (found by audit P: spend a replica counted during an
// outage vanished with it, and the other replicas admitted against a
// total short of it).
func TestRunMakesDeferredWritesAtShutdown(t *testing.T) {
	var logs strings.Builder
	b := redisbacked.New("budget", nil, "p:", redisbacked.Options{ProbeInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var made []string
	b.Defer(func(context.Context) error { made = append(made, "spend"); return nil })
	b.Defer(func(context.Context) error { made = append(made, "hold"); return errors.New("connection refused") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Run(ctx)
	if got := strings.Join(made, ","); got != "spend,hold" {
		t.Errorf("made %q at shutdown, want spend,hold", got)
	}
	if !strings.Contains(logs.String(), "deferred redis writes lost at shutdown") || !strings.Contains(logs.String(), "writes=1") {
		t.Errorf("logs %q, want the one lost write logged", logs.String())
	}
}

// TestRecoverBeforeLeavingFallback: a probe that finds Redis answering
// runs the OnRecover hook (registering the fallback's reservations) before
// the call and leaving the fallback; while the hook fails, the fallback
// stays in force and the call is not made (found by audit AE, AE3).
func TestRecoverBeforeLeavingFallback(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b := redisbacked.New("test", redistest.NewClient(t, redistest.Addr), "p:", redisbacked.Options{Now: func() time.Time { return now }, ProbeInterval: time.Second})
	var order []string
	hookErr := errors.New("connection refused")
	b.OnRecover(func(context.Context) error { order = append(order, "register"); return hookErr })
	try := func(err error) bool {
		_, ok, _ := redisbacked.Try[int, *refusal](context.Background(), b, func() (int, error) {
			order = append(order, "call")
			return 0, err
		})
		return ok
	}
	if try(errors.New("down")) || !b.Fallback() {
		t.Fatal("failure: want fallback")
	}
	order = append(order, "local")
	b.Local() // in fallback: no register
	now = now.Add(time.Second)
	if try(nil) || !b.Fallback() {
		t.Fatal("probe with the hook failing: got ok or no fallback, want the fallback kept")
	}
	hookErr = nil
	now = now.Add(time.Second)
	if !try(nil) || b.Fallback() {
		t.Fatal("probe with the hook succeeding: want redis again")
	}
	order = append(order, "local")
	b.Local() // redis back: registered at once
	if got, want := strings.Join(order, ","), "call,local,register,register,register,call,local,register"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestProbeNeedsRedisToAnswer: a probe while Redis stays unreachable does
// not leave the fallback, even when the OnRecover hook has nothing to
// register (and so makes no Redis call): it used to, so every probe of an
// outage ended it, and the stores started their fallback afresh each
// time (a full share of each rate limit every ProbeInterval).
func TestProbeNeedsRedisToAnswer(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b := redisbacked.New("test", redistest.NewClient(t, redistest.ClosedAddr(t)), "p:", redisbacked.Options{Now: func() time.Time { return now }, ProbeInterval: time.Second})
	hooks := 0
	b.OnRecover(func(context.Context) error { hooks++; return nil })
	calls := 0
	try := func() bool {
		_, ok, _ := redisbacked.Try[int, *refusal](context.Background(), b, func() (int, error) {
			calls++
			return 0, errors.New("dial tcp: connection refused")
		})
		return ok
	}
	for i := range 3 {
		if try() || !b.Fallback() {
			t.Fatalf("try %d with redis unreachable: got ok or no fallback", i)
		}
		now = now.Add(time.Second)
	}
	if hooks != 0 || calls != 1 {
		t.Errorf("got %d recovery hooks and %d calls, want none after the first failure (the probes' pings failed)", hooks, calls)
	}
}
