package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// errClosed is returned by acquire after the pool is closed.
var errClosed = errors.New("postgres: store closed")

// connPool is a minimal pool of pgx connections. pgxpool would need the
// puddle module, which the repository does not carry; this is all the store
// needs: a bounded number of connections, reused LIFO, and broken ones dropped.
type connPool struct {
	cfg  *pgx.ConnConfig
	slot chan struct{} // one token per connection in use or being dialled
	// callTimeout bounds a call whose context has no deadline (0: none);
	// see with.
	callTimeout time.Duration

	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool
}

func newConnPool(cfg *pgx.ConnConfig, max int, callTimeout time.Duration) *connPool {
	return &connPool{cfg: cfg, slot: make(chan struct{}, max), callTimeout: callTimeout}
}

func (p *connPool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slot
		return nil, errClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.slot
		return nil, err
	}
	return c, nil
}

// release returns c to the pool, or closes it when it is broken or was left
// inside a transaction (pgx closes a connection itself on I/O errors and on
// a context cancelled mid-query).
func (p *connPool) release(c *pgx.Conn) {
	defer func() { <-p.slot }()
	p.mu.Lock()
	if p.closed || c.IsClosed() || c.PgConn().IsBusy() || c.PgConn().TxStatus() != 'I' {
		p.mu.Unlock()
		closeConn(c)
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// with runs fn on a pooled connection, with the context fn must use:
// when ctx has no deadline (an admin API or dashboard request, a batch
// worker), the call gets callTimeout to be answered, so a server that
// accepts connections but never answers fails it with errCallTimeout
// instead of holding it for as long as its caller waits. Callers with
// their own deadline (the key lookup's, the usage ledger's, start-up's)
// keep it. A call that streams rows to a callback (streamed) has the
// bound for each wait on the server, not for the time the callback takes.
func (p *connPool) with(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	ctx, stop := p.bound(ctx)
	defer stop()
	c, err := p.acquire(ctx)
	if err != nil {
		return p.timedOut(ctx, err)
	}
	defer p.release(c)
	return p.timedOut(ctx, fn(ctx, c))
}

// errCallTimeout is the cause of a call ended by the pool's call timeout.
var errCallTimeout = errors.New("postgres: the server did not answer within the call timeout")

// timedOut says so in err when ctx was ended by the call timeout.
func (p *connPool) timedOut(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errCallTimeout) {
		return fmt.Errorf("%w (%s): %w", errCallTimeout, p.callTimeout, err)
	}
	return err
}

type (
	unboundedKey struct{}
	watchdogKey  struct{}
)

// unbounded marks ctx for calls that are not given the call timeout:
// maintenance deletes and file contents, which may take long and which no
// one waits on but a background job or a transfer.
func unbounded(ctx context.Context) context.Context {
	return context.WithValue(ctx, unboundedKey{}, true)
}

// watchdog ends a call's context when the server has not answered in d.
type watchdog struct {
	d time.Duration
	t *time.Timer
}

// bound gives ctx the call timeout (see with), and stop to release it.
func (p *connPool) bound(ctx context.Context) (context.Context, func()) {
	if p.callTimeout <= 0 || ctx.Value(unboundedKey{}) != nil {
		return ctx, func() {}
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{d: p.callTimeout}
	w.t = time.AfterFunc(w.d, func() { cancel(errCallTimeout) })
	return context.WithValue(ctx, watchdogKey{}, w), func() {
		w.t.Stop()
		cancel(nil)
	}
}

// streamed runs fn, a callback of a call streaming rows (an export), with
// the call timeout stopped: it bounds waiting on the server, not the
// caller's handling of each row (writing it to a slow client), and starts
// again from zero for the next row.
func streamed(ctx context.Context, fn func() error) error {
	w, _ := ctx.Value(watchdogKey{}).(*watchdog)
	if w == nil || !w.t.Stop() {
		return fn() // unbounded, or timed out already: the next read fails
	}
	defer w.t.Reset(w.d)
	return fn()
}

func (p *connPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		closeConn(c)
	}
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
