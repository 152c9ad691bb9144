package app

import (
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
