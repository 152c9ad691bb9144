package config

// Telemetry configures OpenTelemetry tracing: one span per client request,
// exported over OTLP/HTTP. Tracing is off when OTLPEndpoint is empty.
type Telemetry struct {
	// OTLPEndpoint is the OTLP/HTTP traces URL, e.g.
	// http://127.0.0.1:4318/v1/traces; empty disables tracing.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// ServiceName is the service.name resource attribute; default
	// "switchyard".
	ServiceName string `yaml:"service_name"`
	// SampleRatio is the share of requests traced, 0..1; default 1.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// Headers are sent with every export (an API key of the collector).
	Headers map[string]Secret `yaml:"headers"`
}

// Ratio returns the sample ratio with its default.
func (t Telemetry) Ratio() float64 {
	if t.SampleRatio == nil {
		return 1
	}
	return *t.SampleRatio
}

// Service returns the service name with its default.
func (t Telemetry) Service() string {
	if t.ServiceName == "" {
		return "switchyard"
	}
	return t.ServiceName
}

func (c *Config) validateTelemetry(v *validator) {
	t := c.Telemetry
	if t.OTLPEndpoint != "" {
		if err := checkBaseURL(t.OTLPEndpoint); err != nil {
			v.add("telemetry.otlp_endpoint", "%v", err)
		}
	}
	if r := t.Ratio(); !(r >= 0 && r <= 1) { // NaN too
		v.add("telemetry.sample_ratio", "must be between 0 and 1, got %g", r)
	}
	keys := sortedKeys(t.Headers)
	headerNames(v, "telemetry.headers", keys)
	for _, k := range keys {
		if !validHeaderName(k) {
			v.add("telemetry.headers."+k, "invalid header name")
		} else if msg := badHeaderValue(t.Headers[k]); msg != "" {
			v.add("telemetry.headers."+k, "value %s", msg)
		}
	}
}
