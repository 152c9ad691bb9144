package cache

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by replicas: one string key per entry, expiring
// with the entry's TTL. Redis's maxmemory policy bounds its size.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a store that keeps its entries under prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (*Entry, error) {
	b, err := r.client.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decode(b)
}

// globEscape escapes what a Redis MATCH pattern reads as a wildcard, so a
// key prefix holding one matches only itself.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Purge implements Store: it scans the prefix's keys and unlinks them in
// batches, so a large cache never blocks Redis.
func (r *Redis) Purge(ctx context.Context, prefix string) (int, error) {
	n := 0
	iter := r.client.Scan(ctx, 0, globEscape(r.prefix+prefix)+"*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		deleted, err := r.client.Unlink(ctx, batch...).Result()
		n += int(deleted)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) (bool, error) {
	n, err := r.client.Del(ctx, r.prefix+key).Result()
	return n > 0, err
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error {
	b, err := encode(e)
	if err != nil {
		return err
	}
	return r.client.Set(ctx, r.prefix+key, b, ttl).Err()
}
