package circuit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/redisbacked/redistest"
)

// recorder is an Applier that remembers what it was told.
type recorder struct {
	mu  sync.Mutex
	got []string
	at  time.Time // of the last restore
}

func (r *recorder) RemoteCircuit(dep string, open bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := "closed"
	if open {
		s = "open"
	}
	r.got = append(r.got, dep+":"+s)
}

func (r *recorder) RestoreCircuit(dep string, openedAt time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, dep+":restored")
	r.at = openedAt
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func TestChangesReachTheOtherReplicasOnly(t *testing.T) {
	prefix := redistest.Prefix(t)
	channel := prefix + "circuit"
	var a, b recorder
	sa := New(redistest.NewClient(t, redistest.Addr), channel, &a, nil)
	sb := New(redistest.NewClient(t, redistest.Addr), channel, &b, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range []*Shared{sa, sb} {
		wg.Go(func() { _ = s.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()

	// Subscriptions start asynchronously: repeat a change until B hears
	// one (a repeated open is harmless), then send the real sequence.
	deadline := time.Now().Add(10 * time.Second)
	for len(b.list()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("replica B never heard replica A")
		}
		sa.Notify("warmup", true)
		time.Sleep(20 * time.Millisecond)
	}
	sa.Notify("gpt", true)
	sa.Notify("gpt", false)
	sb.Notify("claude", true)
	deadline = time.Now().Add(10 * time.Second)
	for {
		bl, al := b.list(), a.list()
		if len(bl) >= 2 && bl[len(bl)-2] == "gpt:open" && bl[len(bl)-1] == "gpt:closed" && len(al) == 1 && al[0] == "claude:open" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got A %v, B %v; want B to end with gpt:open, gpt:closed and A to get only claude:open", al, bl)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, m := range b.list() {
		if m == "claude:open" {
			t.Errorf("replica B applied its own change")
		}
	}
	n := len(b.list())
	for _, bad := range []string{"nonsense", "open x", "half x gpt", "open x "} {
		sb.apply(bad)
	}
	if got := len(b.list()); got != n {
		t.Errorf("malformed messages were applied: %v", b.list()[n:])
	}
}

// TestLateReplicaRestoresOpenCircuits: a replica that starts after others
// opened (and closed) circuits opens the ones still open, as of when they
// opened.
func TestLateReplicaRestoresOpenCircuits(t *testing.T) {
	channel := redistest.Prefix(t) + "circuit"
	rdb := redistest.NewClient(t, redistest.Addr)
	var a, late recorder
	sa := New(rdb, channel, &a, nil)
	opened := time.UnixMilli(time.Now().UnixMilli())
	sa.now = func() time.Time { return opened }
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sa.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	sa.Notify("gpt", true)
	sa.Notify("claude", true)
	sa.Notify("claude", false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		open, err := rdb.HGetAll(context.Background(), channel+":open").Result()
		if err == nil && len(open) == 1 && open["gpt"] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("open circuits in Redis: %v, %v; want gpt only", open, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ttl := rdb.TTL(context.Background(), channel+":open").Val(); ttl <= 0 || ttl > openKeyTTL {
		t.Errorf("the hash's TTL is %v, want up to %v", ttl, openKeyTTL)
	}

	sl := New(redistest.NewClient(t, redistest.Addr), channel, &late, nil)
	wg.Go(func() { _ = sl.Run(ctx) })
	deadline = time.Now().Add(10 * time.Second)
	for len(late.list()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the late replica restored nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	late.mu.Lock()
	defer late.mu.Unlock()
	if len(late.got) != 1 || late.got[0] != "gpt:restored" || !late.at.Equal(opened) {
		t.Errorf("late replica: %v at %v, want gpt restored as opened at %v", late.got, late.at, opened)
	}
}
