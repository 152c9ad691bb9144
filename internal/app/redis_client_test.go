package app

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// TestRedisClientFailsFast: a Redis URL without its own timeouts gets
// short ones, so a hanging Redis sends requests to the local fallback
// within a fraction of a second; the URL's own settings win.
func TestRedisClientFailsFast(t *testing.T) {
	c, prefix, err := redisClient("redis://127.0.0.1:6379/0?key_prefix=p:")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.Options()
	if prefix != "p:" || o.DialTimeout != redisDialTimeout || o.ReadTimeout != redisIOTimeout || o.WriteTimeout != redisIOTimeout || o.MaxRetries != 1 || o.PoolTimeout != redisDialTimeout {
		t.Errorf("defaults: prefix %q dial %v read %v write %v retries %d pool %v", prefix, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries, o.PoolTimeout)
	}
	c2, _, err := redisClient("redis://127.0.0.1:6379/0?read_timeout=2s&dial_timeout=3s&max_retries=4")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	o = c2.Options()
	if o.ReadTimeout != 2*time.Second || o.DialTimeout != 3*time.Second || o.MaxRetries != 4 || o.WriteTimeout != redisIOTimeout {
		t.Errorf("URL settings: dial %v read %v write %v retries %d", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
	}
}

// TestRedisClientObeysContextDeadlines: a caller's deadline bounds a
// command on a Redis that accepts and never answers (the cache's 100 ms
// lookup), not only the URL's read_timeout.
func TestRedisClientObeysContextDeadlines(t *testing.T) {
	c, _, err := redisClient("redis://" + silentServer(t) + "/0?read_timeout=20s&write_timeout=20s&max_retries=0&protocol=2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Get(ctx, "k").Err()
	if took := time.Since(start); err == nil || took > 10*time.Second {
		t.Errorf("got %v after %v, want an error well before the 20s read timeout", err, took)
	}
}

// silentServer is a loopback address that accepts connections and never
// answers on them: a Redis that hangs. It stops when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}
