package app

import (
	"log/slog"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// restartSetting is a setting this process reads only as it starts: the
// listeners and their timeouts, the store, the limits backend, the usage
// ledger, the key cache, the batch runner and the learning sweep are
// built once. changed tells a reloaded config that sets another value.
type restartSetting struct {
	name    string
	changed func(running, next *config.Config) bool
}

// restartSettings are every restart-only setting but cache.* and admin.*,
// which warn on their own (warnCacheRestart, Tenancy.Apply).
var restartSettings = []restartSetting{
	{"server.listen", func(a, b *config.Config) bool { return a.Server.Listen != b.Server.Listen }},
	{"server.read_header_timeout", func(a, b *config.Config) bool { return a.Server.ReadHeaderTimeout != b.Server.ReadHeaderTimeout }},
	{"server.read_timeout", func(a, b *config.Config) bool { return a.Server.ReadTimeout != b.Server.ReadTimeout }},
	{"server.idle_timeout", func(a, b *config.Config) bool { return a.Server.IdleTimeout != b.Server.IdleTimeout }},
	{"server.shutdown_timeout", func(a, b *config.Config) bool { return a.Server.ShutdownTimeout != b.Server.ShutdownTimeout }},
	{"server.send_timeout", func(a, b *config.Config) bool { return a.Server.SendTimeout != b.Server.SendTimeout }},
	{"server.shutdown_delay", func(a, b *config.Config) bool { return a.Server.ShutdownDelay != b.Server.ShutdownDelay }},
	{"store", func(a, b *config.Config) bool { return a.Store != b.Store }},
	{"limits", func(a, b *config.Config) bool { return a.Limits != b.Limits }},
	{"replicas", func(a, b *config.Config) bool { return a.Replicas != b.Replicas }},
	{"usage.queue_size", func(a, b *config.Config) bool { return a.Usage.QueueSize != b.Usage.QueueSize }},
	{"usage.batch_size", func(a, b *config.Config) bool { return a.Usage.BatchSize != b.Usage.BatchSize }},
	{"usage.flush_interval", func(a, b *config.Config) bool { return a.Usage.FlushInterval != b.Usage.FlushInterval }},
	{"usage.spool_path", func(a, b *config.Config) bool { return a.Usage.SpoolPath != b.Usage.SpoolPath }},
	{"auth.key_cache_ttl", func(a, b *config.Config) bool { return a.Auth.KeyCacheTTL != b.Auth.KeyCacheTTL }},
	{"batch.queue", func(a, b *config.Config) bool { return a.Batch.Queue != b.Batch.Queue }},
	{"batch.stream", func(a, b *config.Config) bool { return a.Batch.Stream != b.Batch.Stream }},
	{"batch.workers", func(a, b *config.Config) bool { return a.Batch.Workers != b.Batch.Workers }},
	{"batch.concurrency", func(a, b *config.Config) bool { return a.Batch.Concurrency != b.Batch.Concurrency }},
	{"batch.max_file_bytes", func(a, b *config.Config) bool { return a.Batch.MaxFileBytes != b.Batch.MaxFileBytes }},
	{"batch.max_requests", func(a, b *config.Config) bool { return a.Batch.MaxRequests != b.Batch.MaxRequests }},
	{"batch.retention", func(a, b *config.Config) bool { return a.Batch.Retention != b.Batch.Retention }},
	{"batch.lease", func(a, b *config.Config) bool { return a.Batch.Lease != b.Batch.Lease }},
	{"batch.worker_id", func(a, b *config.Config) bool { return a.Batch.WorkerID != b.Batch.WorkerID }},
	{"learning.retention", func(a, b *config.Config) bool { return a.Learning.Retention != b.Learning.Retention }},
}

// warnRestart logs, on a reload, the restart-only settings next sets to
// other values than the running process started with: they keep their
// running values until a restart, so the reload did not change them.
// With listenFixed (serve --listen), server.listen is not used at all.
func warnRestart(log *slog.Logger, running, next *config.Config, listenFixed bool) {
	var changed []string
	for _, s := range restartSettings {
		if s.name == "server.listen" && listenFixed {
			continue
		}
		if s.changed(running, next) {
			changed = append(changed, s.name)
		}
	}
	if len(changed) > 0 {
		log.Warn("these settings changed and take effect at restart; the running values stay", "settings", changed)
	}
}
