// Package store is the persistence contract for tenants, virtual API keys and
// usage records. The admin API, the auth step and the usage ledger program
// against Store; the implementations live in the sub-packages sqlite (one
// machine) and postgres (many replicas), and package storetest holds the one
// conformance suite both must pass. Package open picks an implementation from
// a URL.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors callers test with errors.Is.
var (
	// ErrNotFound is returned when the named tenant or key does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when an ID or key hash already exists.
	ErrConflict = errors.New("store: already exists")
	// ErrInvalid is returned for a malformed argument, such as an unknown
	// group-by dimension.
	ErrInvalid = errors.New("store: invalid argument")
)

// Tenant is an isolated customer of the gateway; every key and usage record
// belongs to exactly one.
type Tenant struct {
	ID       string
	Name     string
	Created  time.Time
	Disabled bool
	// RPM, TPM and MaxConcurrent are the tenant-wide rate limits, shared by
	// all its keys on top of each key's own; 0 means unlimited.
	RPM, TPM, MaxConcurrent int
	// BudgetDailyUSD and BudgetMonthlyUSD cap the tenant's spend; 0 means
	// unlimited.
	BudgetDailyUSD, BudgetMonthlyUSD float64
	// Tier is the default routing tier of the tenant's keys that set none.
	Tier string
}

// Key roles.
const (
	RoleTenantAdmin = "tenant_admin"
	RoleUser        = "user"
)

// Key is a virtual API key. Only the SHA-256 of the secret is stored; the
// secret itself is shown once at creation and never persisted.
type Key struct {
	ID       string
	TenantID string
	Name     string
	// Hash is the SHA-256 of the secret; lookups on the request path use it.
	Hash [32]byte
	// Prefix is the first characters of the secret, for display only.
	Prefix string
	// Role is RoleTenantAdmin, RoleUser or another role the auth layer knows.
	Role string
	// AllowedRoutes limits the routes the key may call; empty means all.
	AllowedRoutes []string
	// RPM, TPM and MaxConcurrent are rate limits; 0 means unlimited.
	RPM, TPM, MaxConcurrent int
	// BudgetDailyUSD and BudgetMonthlyUSD cap spend; 0 means unlimited.
	BudgetDailyUSD, BudgetMonthlyUSD float64
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time
	// RevokedAt, when set, is when the key was revoked.
	RevokedAt *time.Time
	Tier      string
	Metadata  map[string]string
	Created   time.Time
}

// UsageRecord is what one client request cost. RequestID is unique: writing
// the same record twice stores it once, which makes retries and spool
// replays safe. Stores keep times to the microsecond.
type UsageRecord struct {
	RequestID   string    `json:"request_id"`
	Time        time.Time `json:"time"`
	TenantID    string    `json:"tenant_id"`
	KeyID       string    `json:"key_id"`
	Route       string    `json:"route"`
	Policy      string    `json:"policy,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Deployment  string    `json:"deployment"`
	Model       string    `json:"model"`
	Attempts    int       `json:"attempts"`
	Status      int       `json:"status"`
	ErrorCode   string    `json:"error_code,omitempty"`
	InputTokens int       `json:"input_tokens"`
	// CachedInputTokens and CacheWriteTokens are the parts of InputTokens
	// read from and written to the provider's prompt cache.
	CachedInputTokens int           `json:"cached_input_tokens,omitempty"`
	CacheWriteTokens  int           `json:"cache_write_tokens,omitempty"`
	OutputTokens      int           `json:"output_tokens"`
	TokensEstimated   bool          `json:"tokens_estimated,omitempty"`
	CostUSD           float64       `json:"cost_usd"`
	Latency           time.Duration `json:"latency_ns"`
	TTFT              time.Duration `json:"ttft_ns,omitempty"`
	CacheHit          bool          `json:"cache_hit,omitempty"`
	Stream            bool          `json:"stream,omitempty"`
	Partial           bool          `json:"partial,omitempty"`
}

// Group-by dimensions accepted by UsageQuery.GroupBy.
const (
	GroupTenant     = "tenant"
	GroupKey        = "key"
	GroupRoute      = "route"
	GroupDeployment = "deployment"
	GroupModel      = "model"
)

// UsageQuery selects and aggregates usage records.
type UsageQuery struct {
	// From is inclusive and To exclusive; a zero value leaves that end open.
	From, To time.Time
	// TenantID limits the query to one tenant; empty means all tenants.
	TenantID string
	// GroupBy lists dimensions (GroupTenant, GroupKey, ...) to group by.
	GroupBy []string
	// Bucket, when positive, also groups by time buckets of this width,
	// aligned to the Unix epoch in UTC. It must be a whole number of seconds.
	Bucket time.Duration
	// Limit, when positive, is the most rows returned (the first in the
	// grouping order), so that a caller can bound what it holds.
	Limit int
}

// UsageAggregate is one row of a usage query. Dimension fields not grouped
// by are empty; BucketStart is zero when the query had no Bucket.
type UsageAggregate struct {
	BucketStart  time.Time
	TenantID     string
	KeyID        string
	Route        string
	Deployment   string
	Model        string
	Requests     int64
	Errors       int64 // records with Status >= 400 or an ErrorCode
	CacheHits    int64
	InputTokens  int64
	OutputTokens int64
	// CachedInputTokens and CacheWriteTokens are the parts of InputTokens
	// read from and written to providers' prompt caches.
	CachedInputTokens int64
	CacheWriteTokens  int64
	// CostUSD sums each record's cost rounded to 1e-10 USD, a negative
	// one as 0: what the records add up to as the admin API exports them.
	CostUSD float64
	// AvgLatency is the mean of Latency over the group's records.
	AvgLatency time.Duration
	// Rated counts the group's records with feedback (of their own
	// tenant), and AvgQuality is the mean of those ratings (0 when none).
	Rated      int64
	AvgQuality float64
}

// SpendQuery selects usage whose cost SpentUSD adds up. Empty IDs match all.
type SpendQuery struct {
	TenantID string
	KeyID    string
	Since    time.Time
}

// Store persists tenants, keys and usage. Implementations are safe for
// concurrent use.
type Store interface {
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	// UpdateTenant replaces everything but ID and Created: Name, Disabled,
	// the limits, the budgets and Tier.
	UpdateTenant(ctx context.Context, t Tenant) error

	// CreateKey fails with ErrNotFound when the tenant does not exist and
	// ErrConflict when the ID or hash is taken.
	CreateKey(ctx context.Context, k Key) error
	// GetKeyByHash is the request-path lookup; it returns revoked and
	// expired keys too, and the caller decides.
	GetKeyByHash(ctx context.Context, hash [32]byte) (Key, error)
	GetKey(ctx context.Context, id string) (Key, error)
	// ListKeys lists one tenant's keys ordered by creation; an empty
	// tenantID lists every tenant's keys (operator use only).
	ListKeys(ctx context.Context, tenantID string) ([]Key, error)
	// UpdateKey replaces the mutable fields: Name, Role, AllowedRoutes,
	// limits, budgets, ExpiresAt, Tier and Metadata. ID, TenantID, Hash,
	// Prefix, Created and RevokedAt are kept.
	UpdateKey(ctx context.Context, k Key) error
	// RevokeKey sets RevokedAt to at, once; revoking again keeps the first time.
	RevokeKey(ctx context.Context, id string, at time.Time) error

	// InsertUsage writes records in one transaction; a RequestID already
	// stored is skipped (ON CONFLICT DO NOTHING), so it is idempotent.
	InsertUsage(ctx context.Context, recs []UsageRecord) error
	// QueryUsage aggregates usage, ordered by bucket then the group columns.
	QueryUsage(ctx context.Context, q UsageQuery) ([]UsageAggregate, error)
	// ExportUsage calls fn for each record with from <= Time < to (zero
	// bounds are open), ordered by time then RequestID; tenantID empty means
	// all. An error from fn stops the export and is returned.
	ExportUsage(ctx context.Context, from, to time.Time, tenantID string, fn func(UsageRecord) error) error
	// SpentUSD sums CostUSD since q.Since, for budget warm-up.
	SpentUSD(ctx context.Context, q SpendQuery) (float64, error)

	BatchStore
	LearningStore

	Ping(ctx context.Context) error
	Close() error
}

// ValidateQuery checks a UsageQuery; implementations call it first.
func ValidateQuery(q UsageQuery) error {
	for _, g := range q.GroupBy {
		switch g {
		case GroupTenant, GroupKey, GroupRoute, GroupDeployment, GroupModel:
		default:
			return fmt.Errorf("store: group by %q: %w", g, ErrInvalid)
		}
	}
	if q.Bucket < 0 || q.Bucket%time.Second != 0 {
		return fmt.Errorf("store: bucket %v is not a whole number of seconds: %w", q.Bucket, ErrInvalid)
	}
	return nil
}

// GroupColumn maps a group-by dimension to its column name in both schemas.
func GroupColumn(dim string) string {
	switch dim {
	case GroupTenant:
		return "tenant_id"
	case GroupKey:
		return "key_id"
	case GroupRoute:
		return "route"
	case GroupDeployment:
		return "deployment"
	case GroupModel:
		return "model"
	}
	return ""
}

// SetGroupField stores a grouped column's value into the matching field of a.
func SetGroupField(a *UsageAggregate, dim, v string) {
	switch dim {
	case GroupTenant:
		a.TenantID = v
	case GroupKey:
		a.KeyID = v
	case GroupRoute:
		a.Route = v
	case GroupDeployment:
		a.Deployment = v
	case GroupModel:
		a.Model = v
	}
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns prefix + "_" + 26 random base32 characters (130 bits from
// crypto/rand), e.g. NewID("key") = "key_7f3k...". An empty prefix yields
// just the random part.
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	s := idEncoding.EncodeToString(b[:])
	if prefix == "" {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + len(s))
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.WriteString(s)
	return sb.String()
}
