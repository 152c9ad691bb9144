package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// stallGuard ends writes to clients that stopped reading. Each connection
// it accepted notes, while a Write is blocked in it, the tick at which
// that Write began; a sweeper advancing the tick looks for writes blocked
// for limit or longer and sets their connection's write deadline to now,
// which fails the Write (and every later one): the handler sees the
// client gone, as if it had hung up. This is nginx's send_timeout, the
// time allowed for a write to make progress (here: for each 64 KiB of
// it), with no per-write timer: a Write costs two atomic stores and a
// load.
type stallGuard struct {
	limit time.Duration
	tick  time.Duration // the sweeper's period: limit/4, at most a second
	now   atomic.Int64  // ticks since the guard started; never 0
	mu    sync.Mutex
	conns map[*stallConn]struct{}
	// onStall, if set, is told of each connection cut (for its log line).
	onStall func(remote net.Addr)
}

func newStallGuard(limit time.Duration, onStall func(net.Addr)) *stallGuard {
	tick := min(limit/4, time.Second)
	if tick <= 0 {
		tick = time.Millisecond
	}
	g := &stallGuard{limit: limit, tick: tick, conns: make(map[*stallConn]struct{}), onStall: onStall}
	g.now.Store(1)
	return g
}

// run advances the tick and cuts stalled writes until done is closed.
func (g *stallGuard) run(done <-chan struct{}) {
	t := time.NewTicker(g.tick)
	defer t.Stop()
	// A write blocked since tick s has waited at least (now-s-1) ticks.
	ticks := int64((g.limit+g.tick-1)/g.tick) + 1
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		now := g.now.Add(1)
		g.mu.Lock()
		for c := range g.conns {
			if s := c.since.Load(); s != 0 && now-s >= ticks && c.cut.CompareAndSwap(false, true) {
				_ = c.Conn.SetWriteDeadline(time.Now())
				if g.onStall != nil {
					g.onStall(c.RemoteAddr())
				}
			}
		}
		g.mu.Unlock()
	}
}

// listener wraps ln so that the connections it accepts are guarded.
func (g *stallGuard) listener(ln net.Listener) net.Listener {
	return &stallListener{Listener: ln, g: g}
}

type stallListener struct {
	net.Listener
	g *stallGuard
}

func (l *stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c, g: l.g}
	l.g.mu.Lock()
	l.g.conns[sc] = struct{}{}
	l.g.mu.Unlock()
	return sc, nil
}

// stallConn is a connection whose blocked writes the guard can see.
type stallConn struct {
	net.Conn
	g     *stallGuard
	since atomic.Int64 // the tick its current Write began; 0 when none is running
	cut   atomic.Bool  // the guard ended its writes
	once  sync.Once
}

// Write writes b in pieces of at most stallPiece bytes, each timed on its
// own: a large answer to a client that reads slowly but steadily makes
// progress, and only a client that reads less than a piece in the limit
// is cut.
func (c *stallConn) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		p := b[:min(len(b), stallPiece)]
		c.since.Store(c.g.now.Load())
		n, err := c.Conn.Write(p)
		c.since.Store(0)
		written += n
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// stallPiece is the most a Write sends under one timing.
const stallPiece = 64 << 10

func (c *stallConn) Close() error {
	c.once.Do(func() {
		c.g.mu.Lock()
		delete(c.g.conns, c)
		c.g.mu.Unlock()
	})
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP connection, as net/http does after an
// answer it sent without reading the whole request body, so that the
// client reads the answer before the connection is reset.
func (c *stallConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
