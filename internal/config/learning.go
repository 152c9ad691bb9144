package config

import "time"

// Learning is what the gateway keeps to train a learned router on its own
// traffic: the routing text of requests on routes with capture_prompts,
// and the feedback clients send for requests (POST /v1/feedback).
type Learning struct {
	// Retention is how long captured prompts and feedback are kept;
	// default 720h (30 days), at least 1h.
	Retention Duration `yaml:"retention"`
}

// DefaultLearningRetention and MinLearningRetention bound
// learning.retention.
const (
	DefaultLearningRetention = 30 * 24 * time.Hour
	MinLearningRetention     = time.Hour
)

func (c *Config) applyLearningDefaults() {
	setDur(&c.Learning.Retention, DefaultLearningRetention)
}

func (c *Config) validateLearning(v *validator) {
	if d := c.Learning.Retention.D(); d < MinLearningRetention {
		v.add("learning.retention", "must be at least %v, got %v", MinLearningRetention, d)
	}
}
