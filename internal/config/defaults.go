package config

import "time"

// Default values applied by ApplyDefaults and Parse; docs/config.md lists
// them for users.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultMaxBodyBytes      = 8 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultSendTimeout       = 60 * time.Second

	DefaultMaxAttempts          = 4
	DefaultRetriesPerDeployment = 1
	DefaultBackoffBase          = 100 * time.Millisecond
	DefaultBackoffMax           = 2 * time.Second
	DefaultMaxRetryAfter        = 5 * time.Second
	DefaultDeadline             = 120 * time.Second
	DefaultFailureThreshold     = 5
	DefaultOpenFor              = 5 * time.Second

	DefaultConnectTimeout = 5 * time.Second

	DefaultContextWindow     = 8192
	DefaultMaxOutputTokens   = 4096
	DefaultFirstTokenTimeout = 30 * time.Second
	DefaultStreamIdleTimeout = 30 * time.Second
	DefaultTimeout           = 60 * time.Second

	DefaultLogLevel = "info"
)

// Route policies.
const (
	// PolicyFallback tries the targets in order.
	PolicyFallback = "fallback"
)

// newConfig returns the config Parse decodes into. RetriesPerDeployment is
// set here rather than in ApplyDefaults because 0 ("never retry the same
// deployment") is a meaningful value that an unset field must not produce.
func newConfig() *Config {
	c := &Config{}
	c.Executor.RetriesPerDeployment = DefaultRetriesPerDeployment
	return c
}

// ApplyDefaults fills every zero-valued field that has a default, so zero
// (or unset) means "the default" everywhere. The one exception is
// Executor.RetriesPerDeployment, where 0 is kept: Parse starts from 1 before
// decoding, so only an explicit 0 in YAML yields 0; a Config built in Go
// must set it. A deployment's MaxOutputTokens defaults to 4096 capped at its
// context window.
func (c *Config) ApplyDefaults() {
	s := &c.Server
	setStr(&s.Listen, DefaultListen)
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	setDur(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDur(&s.ReadTimeout, DefaultReadTimeout)
	setDur(&s.IdleTimeout, DefaultIdleTimeout)
	setDur(&s.ShutdownTimeout, DefaultShutdownTimeout)
	setDur(&s.SendTimeout, DefaultSendTimeout)

	e := &c.Executor
	setInt(&e.MaxAttempts, DefaultMaxAttempts)
	setDur(&e.BackoffBase, DefaultBackoffBase)
	setDur(&e.BackoffMax, DefaultBackoffMax)
	setDur(&e.MaxRetryAfter, DefaultMaxRetryAfter)
	setDur(&e.Deadline, DefaultDeadline)
	setInt(&e.Breaker.FailureThreshold, DefaultFailureThreshold)
	setDur(&e.Breaker.OpenFor, DefaultOpenFor)

	setStr(&c.Log.Level, DefaultLogLevel)
	c.applyTenancyDefaults()
	c.applyCacheDefaults()
	c.applyBatchDefaults()
	c.applyLearningDefaults()

	for i := range c.Providers {
		setDur(&c.Providers[i].ConnectTimeout, DefaultConnectTimeout)
	}
	for i := range c.Deployments {
		d := &c.Deployments[i]
		setInt(&d.ContextWindow, DefaultContextWindow)
		if d.MaxOutputTokens == 0 {
			d.MaxOutputTokens = DefaultMaxOutputTokens
			if d.ContextWindow > 0 {
				d.MaxOutputTokens = min(d.MaxOutputTokens, d.ContextWindow)
			}
		}
		setDur(&d.FirstTokenTimeout, DefaultFirstTokenTimeout)
		setDur(&d.IdleTimeout, DefaultStreamIdleTimeout)
		setDur(&d.Timeout, DefaultTimeout)
	}
	for i := range c.Routes {
		setStr(&c.Routes[i].Policy, PolicyFallback)
	}
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}
