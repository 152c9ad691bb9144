// Package auth extracts client credentials from requests and checks them.
// Keys are compared as SHA-256 digests in constant time, so neither timing
// nor a heap dump reveals a configured key.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// maxKeyLen bounds what is hashed; longer values are rejected outright.
const maxKeyLen = 512

// FromHeader returns the API key a client sent: `Authorization: Bearer KEY`
// (OpenAI style) or `x-api-key: KEY` (Anthropic style). ok is false when
// neither is present or the value is malformed.
func FromHeader(h http.Header) (key string, ok bool) {
	if v := h.Get("Authorization"); v != "" {
		scheme, rest, found := strings.Cut(v, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		return clean(rest)
	}
	if v := h.Get("X-Api-Key"); v != "" {
		return clean(v)
	}
	return "", false
}

func clean(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxKeyLen {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == 0x7f {
			return "", false
		}
	}
	return v, true
}

// Hash is the SHA-256 digest under which keys are stored and compared.
func Hash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// Static is a fixed set of accepted keys, held as digests.
type Static struct {
	hashes [][32]byte
}

// NewStatic returns a checker accepting the given keys; empty ones are ignored.
func NewStatic(keys ...string) *Static {
	s := &Static{}
	for _, k := range keys {
		if k != "" {
			s.hashes = append(s.hashes, Hash(k))
		}
	}
	return s
}

// Empty reports whether no key is configured (the gateway is open).
func (s *Static) Empty() bool { return len(s.hashes) == 0 }

// Check reports whether key is one of the accepted keys. It compares against
// every configured digest so the time taken does not depend on which matched.
func (s *Static) Check(key string) bool {
	h := Hash(key)
	match := 0
	for i := range s.hashes {
		match |= subtle.ConstantTimeCompare(h[:], s.hashes[i][:])
	}
	return match == 1
}
