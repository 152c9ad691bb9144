package sqlite

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

const usageColumns = `request_id, ts_us, tenant_id, key_id, route, policy, reason, deployment, model,
	attempts, status, error_code, input_tokens, output_tokens, tokens_estimated, cost_usd, latency_ns,
	ttft_ns, cache_hit, stream, partial, cached_input_tokens, cache_write_tokens`

// InsertUsage writes recs in one transaction, skipping RequestIDs already stored.
func (s *Store) InsertUsage(ctx context.Context, recs []store.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("insert usage", err)
	}
	defer tx.Rollback()
	// Rows go in multi-row statements of usageChunks rows (largest first):
	// one statement step per chunk instead of per row, and statements
	// prepared once per Store instead of once per batch.
	args := make([]any, 0, usageChunks[0]*usageFields)
	for len(recs) > 0 {
		c := 0 // the largest chunk that fits
		for usageChunks[c] > len(recs) {
			c++
		}
		n := usageChunks[c]
		st := s.ins[c]
		args = args[:0]
		for i := range recs[:n] {
			r := &recs[i]
			args = append(args, r.RequestID, micros(r.Time), r.TenantID, r.KeyID, r.Route,
				r.Policy, r.Reason, r.Deployment, r.Model, r.Attempts, r.Status, r.ErrorCode, r.InputTokens,
				r.OutputTokens, b2i(r.TokensEstimated), r.CostUSD, int64(r.Latency), int64(r.TTFT),
				b2i(r.CacheHit), b2i(r.Stream), b2i(r.Partial), r.CachedInputTokens, r.CacheWriteTokens)
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return mapErr("insert usage", err)
		}
		recs = recs[n:]
	}
	if err := tx.Commit(); err != nil {
		return mapErr("insert usage", err)
	}
	return nil
}

// prepareInserts prepares the usage INSERTs once, at Open: inside a
// transaction the single writer connection is taken, so they could not be
// prepared there on the DB.
func (s *Store) prepareInserts(ctx context.Context) error {
	for i, n := range usageChunks {
		st, err := s.w.PrepareContext(ctx, insertUsageSQL(n))
		if err != nil {
			return fmt.Errorf("sqlite: prepare usage insert: %w", err)
		}
		s.ins[i] = st
	}
	return nil
}

// usageFields is the number of columns written per usage record.
const usageFields = 23

// usageChunks are the row counts of the prepared INSERTs, largest first
// (64 × 23 parameters is under SQLite's 32,766 limit); any batch is a sum
// of them. A few fixed sizes keep the prepared statements, and their
// memory, bounded.
var usageChunks = [...]int{64, 16, 4, 1}

// insertUsageSQL is an INSERT of n usage rows that skips request ids
// already stored.
func insertUsageSQL(n int) string {
	row := "(" + strings.Repeat("?, ", usageFields-1) + "?)"
	var b strings.Builder
	b.WriteString("INSERT INTO usage_records(" + usageColumns + ") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" ON CONFLICT(request_id) DO NOTHING")
	return b.String()
}

// timeWhere builds the shared WHERE clause for time range and tenant.
func timeWhere(from, to time.Time, tenantID string) (string, []any) {
	var conds []string
	var args []any
	if !from.IsZero() {
		conds = append(conds, "ts_us >= ?")
		args = append(args, micros(from))
	}
	if !to.IsZero() {
		conds = append(conds, "ts_us < ?")
		args = append(args, micros(to))
	}
	if tenantID != "" {
		conds = append(conds, "tenant_id = ?")
		args = append(args, tenantID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func dedupe(dims []string) []string {
	var out []string
	for _, d := range dims {
		dup := false
		for _, o := range out {
			dup = dup || o == d
		}
		if !dup {
			out = append(out, d)
		}
	}
	return out
}

// tokenSum is the SQL sum of a token count column that cannot fail: sum()
// raises "integer overflow" past 2^63-1, and one absurd record (written
// before adapters clamped providers' counts) would make every query over
// it fail. total() adds in floating point (exactly, below 2^53), the cast
// saturates at the integer range, and a negative count adds nothing.
func tokenSum(col string) string {
	return "CAST(total(max(" + col + ", 0)) AS INTEGER)"
}

// QueryUsage aggregates usage per q.
func (s *Store) QueryUsage(ctx context.Context, q store.UsageQuery) ([]store.UsageAggregate, error) {
	if err := store.ValidateQuery(q); err != nil {
		return nil, fmt.Errorf("sqlite: query usage: %w", err)
	}
	dims := dedupe(q.GroupBy)
	var sel, group []string
	if q.Bucket > 0 {
		b := q.Bucket.Microseconds()
		sel = append(sel, fmt.Sprintf("(ts_us / %d) * %d", b, b))
		group = append(group, "1")
	}
	for _, d := range dims {
		sel = append(sel, store.GroupColumn(d))
		group = append(group, fmt.Sprint(len(group)+1))
	}
	sel = append(sel, `count(*)`,
		`coalesce(sum(CASE WHEN status >= 400 OR error_code <> '' THEN 1 ELSE 0 END), 0)`,
		`coalesce(sum(cache_hit), 0)`, tokenSum("input_tokens"), tokenSum("output_tokens"),
		`total(round(max(cost_usd, 0), 10))`, `coalesce(avg(latency_ns), 0)`,
		tokenSum("cached_input_tokens"), tokenSum("cache_write_tokens"),
		`count(fb_quality)`, `coalesce(avg(fb_quality), 0)`)
	where, args := timeWhere(q.From, q.To, q.TenantID)
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + ratedUsage + where
	if len(group) > 0 {
		query += " GROUP BY " + strings.Join(group, ", ") + " ORDER BY " + strings.Join(group, ", ")
	}
	if q.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr("query usage", err)
	}
	defer rows.Close()
	var out []store.UsageAggregate
	for rows.Next() {
		var (
			a      store.UsageAggregate
			bucket int64
			vals   = make([]string, len(dims))
			avgLat float64
		)
		dest := make([]any, 0, len(sel))
		if q.Bucket > 0 {
			dest = append(dest, &bucket)
		}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		dest = append(dest, &a.Requests, &a.Errors, &a.CacheHits, &a.InputTokens, &a.OutputTokens, &a.CostUSD, &avgLat,
			&a.CachedInputTokens, &a.CacheWriteTokens, &a.Rated, &a.AvgQuality)
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr("query usage", err)
		}
		if a.Requests == 0 {
			continue // an ungrouped aggregate over no rows
		}
		if q.Bucket > 0 {
			a.BucketStart = fromMicros(bucket)
		}
		for i, d := range dims {
			store.SetGroupField(&a, d, vals[i])
		}
		a.AvgLatency = time.Duration(avgLat)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr("query usage", err)
	}
	return out, nil
}

// ExportUsage streams matching records to fn in (time, RequestID) order.
func (s *Store) ExportUsage(ctx context.Context, from, to time.Time, tenantID string, fn func(store.UsageRecord) error) error {
	where, args := timeWhere(from, to, tenantID)
	rows, err := s.r.QueryContext(ctx, "SELECT "+usageColumns+" FROM usage_records"+where+" ORDER BY ts_us, request_id", args...)
	if err != nil {
		return mapErr("export usage", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r             store.UsageRecord
			ts, lat, ttft int64
		)
		if err := rows.Scan(&r.RequestID, &ts, &r.TenantID, &r.KeyID, &r.Route, &r.Policy, &r.Reason,
			&r.Deployment, &r.Model, &r.Attempts, &r.Status, &r.ErrorCode, &r.InputTokens, &r.OutputTokens,
			&r.TokensEstimated, &r.CostUSD, &lat, &ttft, &r.CacheHit, &r.Stream, &r.Partial,
			&r.CachedInputTokens, &r.CacheWriteTokens); err != nil {
			return mapErr("export usage", err)
		}
		r.Time, r.Latency, r.TTFT = fromMicros(ts), time.Duration(lat), time.Duration(ttft)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return mapErr("export usage", err)
	}
	return nil
}

// SpentUSD sums the cost of usage matching q.
func (s *Store) SpentUSD(ctx context.Context, q store.SpendQuery) (float64, error) {
	where, args := timeWhere(q.Since, time.Time{}, q.TenantID)
	if q.KeyID != "" {
		if where == "" {
			where = " WHERE key_id = ?"
		} else {
			where += " AND key_id = ?"
		}
		args = append(args, q.KeyID)
	}
	// A negative cost (never a real one) must not give spend back.
	var sum float64
	if err := s.r.QueryRowContext(ctx, "SELECT total(max(cost_usd, 0)) FROM usage_records"+where, args...).Scan(&sum); err != nil {
		return 0, mapErr("spent usd", err)
	}
	return sum, nil
}

// ratedUsage is the usage records with each one's rating (fb_quality, NULL
// when none), under the table's own name so the column names of the
// filters and groups stay unqualified.
const ratedUsage = `(SELECT u.*, f.quality AS fb_quality FROM usage_records u
	LEFT JOIN feedback f ON f.request_id = u.request_id AND f.tenant_id = u.tenant_id) usage_records`
