// Package cache keeps complete answers for the gateway's exact-match
// response cache: the bytes a client received for a request, under a key
// that hashes the tenant, the endpoint, the route and the request body. A
// Store is in this process (Memory) or shared by replicas (Redis).
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// Entry is one cached answer: the response body exactly as a client
// received it (a JSON document, or the whole SSE stream) and what the
// usage record of a hit names.
type Entry struct {
	ContentType string    `json:"content_type"`
	Deployment  string    `json:"deployment,omitempty"`
	Model       string    `json:"model,omitempty"`
	Stored      time.Time `json:"stored"`
	Body        []byte    `json:"-"`
}

// Store keeps entries for a time.
type Store interface {
	// Get returns the entry under key, or nil and no error when there is
	// none (or it expired).
	Get(ctx context.Context, key string) (*Entry, error)
	// Set keeps e under key for ttl, replacing any entry there.
	Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error
	// Purge deletes every entry whose key begins with prefix (all of them
	// for ""), and reports how many it deleted.
	Purge(ctx context.Context, prefix string) (int, error)
	// Delete deletes the entry under key, and reports whether there was
	// one.
	Delete(ctx context.Context, key string) (bool, error)
}

// TenantPrefix begins the key of every entry of tenant, so one tenant's
// answers can be purged alone: 16 hex digits of a hash of the tenant ID
// (which never appears in a key) and a colon.
func TenantPrefix(tenant string) string {
	sum := sha256.Sum256([]byte("switchyard-tenant\x00" + tenant))
	return hex.EncodeToString(sum[:8]) + ":"
}

// Key is the cache key of a request: TenantPrefix(tenant) and a hex
// SHA-256 of the tenant, the endpoint (which also names the wire format),
// the routing scope the request was decided to, and the raw request body.
// Each part is length-prefixed, so no two different requests share a key
// by moving bytes between parts.
func Key(tenant, endpoint, route string, body []byte) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range [][]byte{[]byte(tenant), []byte(endpoint), []byte(route), body} {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	return TenantPrefix(tenant) + hex.EncodeToString(h.Sum(nil))
}

// encode is an entry on the wire (Redis): its JSON header, a newline, the
// body.
func encode(e *Entry) ([]byte, error) {
	head, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+1+len(e.Body))
	out = append(out, head...)
	out = append(out, '\n')
	return append(out, e.Body...), nil
}

var errCorrupt = errors.New("cache: corrupt entry")

func decode(b []byte) (*Entry, error) {
	for i, c := range b {
		if c != '\n' {
			continue
		}
		e := &Entry{}
		if err := json.Unmarshal(b[:i], e); err != nil {
			return nil, errCorrupt
		}
		e.Body = b[i+1:]
		return e, nil
	}
	return nil, errCorrupt
}
