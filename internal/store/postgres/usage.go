package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
)

const usageColumns = `request_id, ts, tenant_id, key_id, route, policy, reason, deployment, model,
	attempts, status, error_code, input_tokens, output_tokens, tokens_estimated, cost_usd, latency_ns,
	ttft_ns, cache_hit, stream, partial, cached_input_tokens, cache_write_tokens`

// insertUsageSQL writes a whole batch in one statement: one array per column,
// unnested into rows, so a batch costs one round trip.
const insertUsageSQL = `INSERT INTO usage_records(` + usageColumns + `)
	SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::int4[], $11::int4[], $12::text[], $13::int8[], $14::int8[],
		$15::bool[], $16::float8[], $17::int8[], $18::int8[], $19::bool[], $20::bool[], $21::bool[], $22::int8[], $23::int8[])
	ON CONFLICT (request_id) DO NOTHING`

// InsertUsage writes recs in one statement, skipping RequestIDs already stored.
func (s *Store) InsertUsage(ctx context.Context, recs []store.UsageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(recs)
	var (
		ids, tenants, keys, routes, policies = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		reasons, deps, models, errCodes      = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		times                                = make([]time.Time, n)
		attempts, statuses                   = make([]int32, n), make([]int32, n)
		inTok, outTok, lat, ttft             = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		est, hit, stream, partial            = make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
		cost                                 = make([]float64, n)
		cachedIn, cacheWrite                 = make([]int64, n), make([]int64, n)
	)
	for i := range recs {
		r := &recs[i]
		ids[i], times[i], tenants[i], keys[i], routes[i] = r.RequestID, us(r.Time), r.TenantID, r.KeyID, r.Route
		policies[i], reasons[i], deps[i], models[i] = r.Policy, r.Reason, r.Deployment, r.Model
		attempts[i], statuses[i], errCodes[i] = int32(r.Attempts), int32(r.Status), r.ErrorCode
		inTok[i], outTok[i], est[i], cost[i] = int64(r.InputTokens), int64(r.OutputTokens), r.TokensEstimated, r.CostUSD
		lat[i], ttft[i], hit[i], stream[i], partial[i] = int64(r.Latency), int64(r.TTFT), r.CacheHit, r.Stream, r.Partial
		cachedIn[i], cacheWrite[i] = int64(r.CachedInputTokens), int64(r.CacheWriteTokens)
	}
	_, err := s.exec(ctx, "insert usage", insertUsageSQL, ids, times, tenants, keys, routes, policies, reasons,
		deps, models, attempts, statuses, errCodes, inTok, outTok, est, cost, lat, ttft, hit, stream, partial, cachedIn, cacheWrite)
	return err
}

// where builds the shared WHERE clause for time range and tenant.
func where(from, to time.Time, tenantID string) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if !from.IsZero() {
		add("ts >= $%d", us(from))
	}
	if !to.IsZero() {
		add("ts < $%d", us(to))
	}
	if tenantID != "" {
		add("tenant_id = $%d", tenantID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func dedupe(dims []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range dims {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// tokenSum is the SQL sum of a token count column that cannot fail: the
// sum of bigints is numeric, and its cast back to bigint fails past 2^63-1
// ("bigint out of range"), so one absurd record (written before adapters
// clamped providers' counts) would make every query over it fail. The sum
// saturates at the bigint range instead, and a negative count adds
// nothing.
func tokenSum(col string) string {
	return "least(coalesce(sum(greatest(" + col + ", 0)), 0), 9223372036854775807)::int8"
}

// QueryUsage aggregates usage per q.
func (s *Store) QueryUsage(ctx context.Context, q store.UsageQuery) ([]store.UsageAggregate, error) {
	if err := store.ValidateQuery(q); err != nil {
		return nil, fmt.Errorf("postgres: query usage: %w", err)
	}
	dims := dedupe(q.GroupBy)
	var sel, group []string
	if q.Bucket > 0 {
		sel = append(sel, fmt.Sprintf("date_bin(interval '%d seconds', ts, timestamptz '1970-01-01 00:00:00+00')", int64(q.Bucket/time.Second)))
		group = append(group, "1")
	}
	for _, d := range dims {
		sel = append(sel, store.GroupColumn(d))
		group = append(group, fmt.Sprint(len(group)+1))
	}
	sel = append(sel, `count(*)`,
		`coalesce(sum(CASE WHEN status >= 400 OR error_code <> '' THEN 1 ELSE 0 END), 0)::int8`,
		`coalesce(sum(CASE WHEN cache_hit THEN 1 ELSE 0 END), 0)::int8`,
		tokenSum("input_tokens"), tokenSum("output_tokens"),
		`coalesce(sum(round(greatest(cost_usd, 0)::numeric, 10)), 0)::float8`, `coalesce(avg(latency_ns), 0)::float8`,
		tokenSum("cached_input_tokens"), tokenSum("cache_write_tokens"),
		`count(fb_quality)`, `coalesce(avg(fb_quality), 0)::float8`)
	w, args := where(q.From, q.To, q.TenantID)
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + ratedUsage + w
	if len(group) > 0 {
		query += " GROUP BY " + strings.Join(group, ", ") + " ORDER BY " + strings.Join(group, ", ")
	}
	if q.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(q.Limit)
	}
	var out []store.UsageAggregate
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				a      store.UsageAggregate
				bucket time.Time
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
				return err
			}
			if a.Requests == 0 {
				continue // an ungrouped aggregate over no rows
			}
			if q.Bucket > 0 {
				a.BucketStart = bucket.UTC()
			}
			for i, d := range dims {
				store.SetGroupField(&a, d, vals[i])
			}
			a.AvgLatency = time.Duration(avgLat)
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapErr("query usage", err)
	}
	return out, nil
}

// ExportUsage streams matching records to fn in (time, RequestID) order.
func (s *Store) ExportUsage(ctx context.Context, from, to time.Time, tenantID string, fn func(store.UsageRecord) error) error {
	w, args := where(from, to, tenantID)
	var cbErr error
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT "+usageColumns+" FROM usage_records"+w+" ORDER BY ts, request_id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r         store.UsageRecord
				lat, ttft int64
			)
			if err := rows.Scan(&r.RequestID, &r.Time, &r.TenantID, &r.KeyID, &r.Route, &r.Policy, &r.Reason,
				&r.Deployment, &r.Model, &r.Attempts, &r.Status, &r.ErrorCode, &r.InputTokens, &r.OutputTokens,
				&r.TokensEstimated, &r.CostUSD, &lat, &ttft, &r.CacheHit, &r.Stream, &r.Partial,
				&r.CachedInputTokens, &r.CacheWriteTokens); err != nil {
				return err
			}
			r.Time, r.Latency, r.TTFT = r.Time.UTC(), time.Duration(lat), time.Duration(ttft)
			if err := streamed(ctx, func() error { return fn(r) }); err != nil {
				cbErr = err
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return mapErr("export usage", err)
	}
	return cbErr
}

// SpentUSD sums the cost of usage matching q.
func (s *Store) SpentUSD(ctx context.Context, q store.SpendQuery) (float64, error) {
	w, args := where(q.Since, time.Time{}, q.TenantID)
	if q.KeyID != "" {
		args = append(args, q.KeyID)
		if w == "" {
			w = fmt.Sprintf(" WHERE key_id = $%d", len(args))
		} else {
			w += fmt.Sprintf(" AND key_id = $%d", len(args))
		}
	}
	var sum float64
	err := s.pool.with(ctx, func(ctx context.Context, c *pgx.Conn) error {
		// A negative cost (never a real one) must not give spend back.
		return c.QueryRow(ctx, "SELECT coalesce(sum(greatest(cost_usd, 0)), 0)::float8 FROM usage_records"+w, args...).Scan(&sum)
	})
	if err != nil {
		return 0, mapErr("spent usd", err)
	}
	return sum, nil
}

// ratedUsage is the usage records with each one's rating (fb_quality, NULL
// when none), under the table's own name so the column names of the
// filters and groups stay unqualified.
const ratedUsage = `(SELECT u.*, f.quality AS fb_quality FROM usage_records u
	LEFT JOIN feedback f ON f.request_id = u.request_id AND f.tenant_id = u.tenant_id) usage_records`
