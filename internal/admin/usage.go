package admin

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// UsageRow is one row of GET /admin/usage. In JSON, every dimension the
// query grouped by is present even when empty (the unauthenticated
// requests have tenant_id ""), and the others are absent; so a row of
// tenant "" can never be mistaken for a row not grouped by tenant.
type UsageRow struct {
	BucketStart  *time.Time `json:"bucket_start,omitempty"`
	TenantID     string     `json:"tenant_id,omitempty"`
	KeyID        string     `json:"key_id,omitempty"`
	Route        string     `json:"route,omitempty"`
	Deployment   string     `json:"deployment,omitempty"`
	Model        string     `json:"model,omitempty"`
	Requests     int64      `json:"requests"`
	Errors       int64      `json:"errors"`
	CacheHits    int64      `json:"cache_hits"`
	InputTokens  int64      `json:"input_tokens"`
	OutputTokens int64      `json:"output_tokens"`
	// CachedInputTokens and CacheWriteTokens are the parts of InputTokens
	// read from and written to providers' prompt caches.
	CachedInputTokens int64   `json:"cached_input_tokens"`
	CacheWriteTokens  int64   `json:"cache_write_tokens"`
	CostUSD           float64 `json:"cost_usd"`
	AvgLatencyMS      float64 `json:"avg_latency_ms"`
	// Rated counts the requests clients rated (POST /v1/feedback);
	// AvgQuality is their mean rating, null when none was rated.
	Rated      int64    `json:"rated"`
	AvgQuality *float64 `json:"avg_quality"`

	grouped []string // the dimensions the query grouped by
}

// MarshalJSON writes the grouped dimensions always and the others never.
func (u UsageRow) MarshalJSON() ([]byte, error) {
	type plain UsageRow // no methods: no recursion
	b, err := json.Marshal(plain(u))
	if err != nil || len(u.grouped) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, d := range u.grouped {
		col := store.GroupColumn(d)
		if _, ok := m[col]; !ok {
			m[col] = json.RawMessage(`""`)
		}
	}
	return json.Marshal(m)
}

// usageRange reads from, to (RFC 3339) and tenant_id, scoping a tenant
// admin to its own tenant.
func usageRange(r *http.Request, c *caller) (from, to time.Time, tenant string, err error) {
	q := r.URL.Query()
	parse := func(name string) (time.Time, error) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return time.Time{}, errBad(name + " must be an RFC 3339 time such as 2025-01-31T00:00:00Z")
		}
		return t, nil
	}
	if from, err = parse("from"); err != nil {
		return
	}
	if to, err = parse("to"); err != nil {
		return
	}
	tenant = q.Get("tenant_id")
	if !c.global {
		if tenant != "" && tenant != c.key.TenantID {
			err = errNotFound
			return
		}
		tenant = c.key.TenantID
	}
	return
}

// maxUsageRows bounds the rows of one /admin/usage answer, which is built
// in memory: a tenant admin asking for a second's buckets over its whole
// history, grouped every way, took a replica from 42 MB to 454 MB (found
// by audit U).
var maxUsageRows = 50_000

// usage serves GET /admin/usage?from=&to=&tenant_id=&group_by=tenant,key,
// route,deployment,model&bucket=1h.
func (h *Handler) usage(w http.ResponseWriter, r *http.Request, c *caller) {
	from, to, tenant, err := usageRange(r, c)
	if err != nil {
		writeErr(w, err)
		return
	}
	q := store.UsageQuery{From: from, To: to, TenantID: tenant}
	if g := r.URL.Query().Get("group_by"); g != "" {
		for _, d := range strings.Split(g, ",") {
			switch d = strings.TrimSpace(d); d {
			case store.GroupTenant, store.GroupKey, store.GroupRoute, store.GroupDeployment, store.GroupModel:
				q.GroupBy = append(q.GroupBy, d)
			default:
				writeErr(w, errBad("group_by takes tenant, key, route, deployment and model"))
				return
			}
		}
	}
	if b := r.URL.Query().Get("bucket"); b != "" {
		d, err := time.ParseDuration(b)
		if err != nil || d < time.Second || d%time.Second != 0 {
			writeErr(w, errBad("bucket must be a whole number of seconds, such as 1h or 24h"))
			return
		}
		q.Bucket = d
	}
	q.Limit = maxUsageRows + 1
	aggs, err := h.st.QueryUsage(r.Context(), q)
	if err != nil {
		h.storeErr(w, err)
		return
	}
	if len(aggs) > maxUsageRows {
		writeErr(w, errBad(fmt.Sprintf("the answer would have more than %d rows: narrow from and to, group by less, or widen bucket (GET /admin/usage/export streams the records themselves)", maxUsageRows)))
		return
	}
	rows := make([]UsageRow, 0, len(aggs))
	for _, a := range aggs {
		row := UsageRow{TenantID: a.TenantID, KeyID: a.KeyID, Route: a.Route, Deployment: a.Deployment, Model: a.Model,
			Requests: a.Requests, Errors: a.Errors, CacheHits: a.CacheHits, InputTokens: a.InputTokens, OutputTokens: a.OutputTokens,
			CachedInputTokens: a.CachedInputTokens, CacheWriteTokens: a.CacheWriteTokens,
			CostUSD: roundUSD(a.CostUSD), AvgLatencyMS: float64(a.AvgLatency.Microseconds()) / 1000, Rated: a.Rated, grouped: q.GroupBy}
		if a.Rated > 0 {
			// The stores average ratings in floating point, each its own
			// way (0.19999999999999998 on SQLite, 0.20000000000000004 on
			// PostgreSQL for 0.1, 0.2 and 0.3): six places say the same.
			q := math.Round(a.AvgQuality*1e6) / 1e6
			row.AvgQuality = &q
		}
		if !a.BucketStart.IsZero() {
			b := a.BucketStart.UTC()
			row.BucketStart = &b
		}
		rows = append(rows, row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"usage": rows})
}

// csvHeader is the column order of the CSV export.
var csvHeader = []string{"request_id", "time", "tenant_id", "key_id", "route", "policy", "reason", "deployment", "model",
	"attempts", "status", "error_code", "input_tokens", "output_tokens", "tokens_estimated", "cost_usd",
	"latency_ms", "ttft_ms", "cache_hit", "stream", "partial", "cached_input_tokens", "cache_write_tokens"}

// export serves GET /admin/usage/export?format=csv|jsonl&from=&to=&tenant_id=
// with the raw records, streamed.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, c *caller) {
	from, to, tenant, err := usageRange(r, c)
	if err != nil {
		writeErr(w, err)
		return
	}
	format := r.URL.Query().Get("format")
	cw0 := &countingWriter{w: w}
	var write func(store.UsageRecord) error
	var flush func()
	switch format {
	case "", "jsonl", "ndjson":
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(cw0)
		write = func(rec store.UsageRecord) error {
			rec.CostUSD = recordUSD(rec.CostUSD)
			return enc.Encode(rec)
		}
		flush = func() {}
	case "csv":
		w.Header().Set("Content-Type", "text/csv")
		cw := csv.NewWriter(cw0)
		if err := cw.Write(csvHeader); err != nil {
			return
		}
		ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64) }
		write = func(u store.UsageRecord) error {
			return cw.Write([]string{cell(u.RequestID), u.Time.UTC().Format(time.RFC3339Nano), cell(u.TenantID), cell(u.KeyID), cell(u.Route), cell(u.Policy), cell(u.Reason),
				cell(u.Deployment), cell(u.Model), strconv.Itoa(u.Attempts), strconv.Itoa(u.Status), cell(u.ErrorCode),
				strconv.Itoa(u.InputTokens), strconv.Itoa(u.OutputTokens), strconv.FormatBool(u.TokensEstimated),
				strconv.FormatFloat(recordUSD(u.CostUSD), 'f', -1, 64), ms(u.Latency), ms(u.TTFT),
				strconv.FormatBool(u.CacheHit), strconv.FormatBool(u.Stream), strconv.FormatBool(u.Partial),
				strconv.Itoa(u.CachedInputTokens), strconv.Itoa(u.CacheWriteTokens)})
		}
		flush = cw.Flush
	default:
		writeErr(w, errBad("format must be csv or jsonl"))
		return
	}
	err = h.st.ExportUsage(r.Context(), from, to, tenant, write)
	if err == nil {
		flush()
		return
	}
	h.log.Warn("admin: usage export stopped", "err", err)
	if cw0.n == 0 {
		// Nothing has been sent (CSV's header is still buffered): the
		// client gets the error every other admin endpoint gives for a
		// failing store (503 store_unavailable), not an empty export that
		// looks complete.
		h.storeErr(w, err)
		return
	}
	// Part of the export is out with a 200, which cannot be changed now:
	// break the connection so the client sees a failed transfer rather
	// than a complete, shorter file.
	panic(http.ErrAbortHandler)
}

// cell is a text value of the CSV export as a spreadsheet reads it as
// text: one beginning with =, +, -, @, a tab or a carriage return would be
// read as a formula (tenant "-1-1" shown as -2, "=HYPERLINK(…)" run), so
// it gets a leading ' (OWASP's advice for CSV injection; found by audit
// U). The JSON Lines export has the values as they are.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// roundUSD rounds a cost to 1e-10 USD, the precision the gateway records
// a request's cost in (X-Switchyard-Cost's): a sum of such costs, added
// up in floating point by the store, comes out as 0.00033174999999999996
// for 0.00033175, and a record written before the gateway rounded has
// the same noise.
func roundUSD(v float64) float64 { return math.Round(v*1e10) / 1e10 }

// recordUSD is a stored record's cost as the exports write it and
// /admin/usage adds it up (the store's QueryUsage sums the same per record):
// rounded to 1e-10, and a negative cost, which no gateway writes but an
// earlier version or a direct insert may have stored, as 0, so the
// aggregate equals the sum of the exported records.
func recordUSD(v float64) float64 { return max(roundUSD(v), 0) }

// countingWriter counts the bytes written through it to the response.
type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}
