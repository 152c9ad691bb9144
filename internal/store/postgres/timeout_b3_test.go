package postgres

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// silentServer listens on loopback and accepts connections it never
// answers (answers=false), or answers the start-up of and then never
// answers a query (answers=true): a Postgres, or a proxy in front of one,
// that hangs.
func silentServer(t *testing.T, answers bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if !answers {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				be := pgproto3.NewBackend(c, c)
				if _, err := be.ReceiveStartupMessage(); err != nil {
					return
				}
				be.Send(&pgproto3.AuthenticationOk{})
				be.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "16.0"})
				be.Send(&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 2}})
				be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
				if be.Flush() != nil {
					return
				}
				for { // read queries, answer none
					if _, err := be.Receive(); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "postgres://u@" + ln.Addr().String() + "/db?sslmode=disable"
}

// within runs call and fails the test if it has not returned in 10 s.
func within(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the store call still waits after 10 s on a server that does not answer")
		return nil
	}
}

func storeAt(t *testing.T, url string, connectTimeout, callTimeout time.Duration) *Store {
	t.Helper()
	o, err := parseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	o.cfg.ConnectTimeout = connectTimeout
	s := &Store{pool: newConnPool(o.cfg, 2, callTimeout)}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCallTimeoutOnSilentServer: a call made without a deadline of its
// own (an admin API request's) to a Postgres that accepts connections but
// never answers fails after the call timeout, whether the server hangs
// at connect or at the query; it waited for as long as its caller did
// (the admin API: until the client gave up).
func TestCallTimeoutOnSilentServer(t *testing.T) {
	for _, answers := range []bool{false, true} {
		s := storeAt(t, silentServer(t, answers), 0, 200*time.Millisecond)
		if answers { // the connect succeeds: the query is what hangs
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err := s.pool.acquire(ctx)
			cancel()
			if err != nil {
				t.Fatalf("connect to the server answering start-up: %v", err)
			}
			s.pool.release(c)
		}
		err := within(t, func() error {
			_, err := s.ListKeys(context.Background(), "")
			return err
		})
		if !errors.Is(err, errCallTimeout) {
			t.Errorf("server answering start-up %v: ListKeys got %v, want the call timeout", answers, err)
		}
		err = within(t, func() error {
			_, err := s.QueryUsage(context.Background(), store.UsageQuery{})
			return err
		})
		if !errors.Is(err, errCallTimeout) {
			t.Errorf("server answering start-up %v: QueryUsage got %v, want the call timeout", answers, err)
		}
	}
}

// TestConnectTimeoutOnSilentServer: with no call timeout, the connect
// timeout still ends a connect the server never answers.
func TestConnectTimeoutOnSilentServer(t *testing.T) {
	s := storeAt(t, silentServer(t, false), 200*time.Millisecond, 0)
	err := within(t, func() error {
		_, err := s.GetKey(context.Background(), "key_x")
		return err
	})
	if err == nil || errors.Is(err, errCallTimeout) {
		t.Errorf("GetKey: got %v, want the connect's timeout", err)
	}
}

// TestCallerDeadlineKept: a caller's own deadline (the key lookup's 2 s)
// is kept, not replaced by the call timeout.
func TestCallerDeadlineKept(t *testing.T) {
	s := storeAt(t, silentServer(t, true), 0, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := within(t, func() error {
		_, err := s.GetKeyByHash(ctx, [32]byte{})
		return err
	})
	if err == nil || errors.Is(err, errCallTimeout) {
		t.Errorf("GetKeyByHash: got %v, want the caller's deadline", err)
	}
}

// TestStreamedCallbackNotCounted: an export's callback (writing a row to
// a slow client) does not count against the call timeout: it is stopped
// while the callback runs and starts again after it.
func TestStreamedCallbackNotCounted(t *testing.T) {
	p := newConnPool(nil, 1, time.Hour)
	ctx, stop := p.bound(context.Background())
	defer stop()
	w := ctx.Value(watchdogKey{}).(*watchdog)
	_ = streamed(ctx, func() error {
		if w.t.Stop() {
			t.Error("the call timeout runs during the callback")
		}
		return nil
	})
	if !w.t.Stop() {
		t.Error("the call timeout did not start again after the callback")
	}
	if ctx, _ := p.bound(unbounded(context.Background())); ctx.Value(watchdogKey{}) != nil {
		t.Error("an unbounded call got the call timeout")
	}
}

// TestParseURLTimeouts: the connect timeout defaults when the URL sets
// none, and call_timeout is read and not sent to the server.
func TestParseURLTimeouts(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "")
	o, err := parseURL("postgres://u@127.0.0.1:5432/db")
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.ConnectTimeout != DefaultConnectTimeout || o.callTimeout != DefaultCallTimeout {
		t.Errorf("defaults: connect %v, call %v; want %v, %v", o.cfg.ConnectTimeout, o.callTimeout, DefaultConnectTimeout, DefaultCallTimeout)
	}
	o, err = parseURL("postgres://u@127.0.0.1:5432/db?connect_timeout=3&call_timeout=1m&pool_max_conns=4")
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.ConnectTimeout != 3*time.Second || o.callTimeout != time.Minute || o.maxConns != 4 {
		t.Errorf("set: connect %v, call %v, conns %d; want 3s, 1m, 4", o.cfg.ConnectTimeout, o.callTimeout, o.maxConns)
	}
	if _, ok := o.cfg.RuntimeParams["call_timeout"]; ok {
		t.Error("call_timeout would be sent to the server")
	}
	if o, err = parseURL("postgres://u@127.0.0.1:5432/db?call_timeout=0"); err != nil || o.callTimeout != 0 {
		t.Errorf("call_timeout=0: got %v, %v; want none", o.callTimeout, err)
	}
	for _, bad := range []string{"soon", "-1s", "10"} {
		if _, err := parseURL("postgres://u@127.0.0.1:5432/db?call_timeout=" + bad); err == nil || !strings.Contains(err.Error(), "call_timeout") {
			t.Errorf("call_timeout=%s: got %v, want an error naming it", bad, err)
		}
	}
}
