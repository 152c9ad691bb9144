package cache

import (
	"context"
	"errors"
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

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error {
	b, err := encode(e)
	if err != nil {
		return err
	}
	return r.client.Set(ctx, r.prefix+key, b, ttl).Err()
}
