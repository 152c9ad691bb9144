// Package tenancy is the gateway's Guard for tenants and virtual API keys:
// it authenticates clients (static keys from the config and virtual keys
// from the store), and admits each request against the per-key and
// per-tenant rate limits (package ratelimit) and USD budgets (package
// budget). The app builds one Guard and hands it to the gateway; the admin
// API (package admin) manages the tenants and keys it reads.
//
// # Key lookups
//
// A client key is hashed with SHA-256 and looked up by hash; the stored hash
// is compared to the computed one in constant time. Results (including
// "no such key") are cached for Options.CacheTTL (default 5s), so a revoked
// key stops working within that time. When the store cannot be reached, a
// key seen before keeps working from its cached (stale) entry and an unknown
// key fails closed with 503 auth_unavailable. Concurrent lookups of one key
// share a single store read.
//
// # Tenant limits
//
// A tenant's RPM, TPM, concurrency and budgets are columns of its store
// row (store.Tenant); TenantLimits reads them. They are shared by all the
// tenant's keys, on top of each key's own. A key with no Tier takes its
// tenant's.
//
// # Admission
//
// A request with a virtual key is charged against two scopes, "key:ID" and
// "tenant:ID": one request against RPM, input estimate plus max_tokens
// against TPM (settled to actual usage), one concurrency slot, and the
// estimated cost against the daily and monthly budgets (settled to actual
// cost). The budgets are reserved first, then the rate limits charged, so
// a refusal charges nothing: a budget's takes nothing from the rate
// limits, and a rate limit's gives the budget hold back. Rejections are
// *gateway.Denied with status 429 and Retry-After: code
// rate_limit_exceeded (the message names the limit and scope) or
// budget_exceeded. Budget spend is warmed from the usage store (Seed) the
// first time this process sees a key or tenant with a budget, and again
// when its budget is set or changed (spend made while a scope had none
// charged no counter) and when the budgets report a counter not seeded
// (budget.SeedError: Redis lost it, or its period has just begun).
package tenancy
