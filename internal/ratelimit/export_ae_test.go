package ratelimit

// SeenRPM is the RPM bucket of scope key as this limiter last read it in
// Redis, and whether it has one.
func (r *Redis) SeenRPM(key string) (float64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.seen[key]
	return b.r, ok && b.hasR
}
