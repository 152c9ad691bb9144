package budget

// SeenUSD is the spend plus holds this replica last read in Redis for
// scopeKey's daily counter, as a fallback would start from.
func (r *Redis) SeenUSD(scopeKey string) float64 {
	d, _ := r.periodKeys(scopeKey, r.backend.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.seen[d]
	return toUSD(addSat(c.spent, c.held))
}
