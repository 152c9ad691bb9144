package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// Problem is one thing wrong with a config, located by its YAML path (such
// as "deployments[2].provider") or, for decode errors, by "line N".
type Problem struct {
	Path string
	Msg  string
}

// String formats the problem as "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// ValidationError lists every problem found in a config.
type ValidationError struct {
	Problems []Problem
}

// Error returns the only problem, or a count followed by one problem per
// line.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// validator collects problems.
type validator struct {
	probs []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.probs = append(v.probs, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) positiveDur(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration, got %s", d)
	}
}

func (v *validator) name(path, name string) {
	switch {
	case name == "":
		v.add(path, "required")
	case strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		v.add(path, "%q must not contain spaces or control characters", name)
	}
}

// Validate checks the whole config and returns a *ValidationError listing
// every problem, or nil. It expects defaults to be applied already (Parse
// does both). It also builds the name lookups used by Deployment, Provider
// and Route, so it must not run while other goroutines read c.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateServer(v)
	c.validateExecutor(v)
	c.validateProviders(v)
	c.validateDeployments(v)
	c.validateRoutes(v)
	c.validateRefModels(v)
	c.validateTenancy(v)
	c.validateCache(v)
	c.validateBatch(v)
	c.validateLearning(v)
	c.validateTelemetry(v)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add("log.level", "unknown level %q (want debug, info, warn or error)", c.Log.Level)
	}
	c.index = buildIndex(c)
	if len(v.probs) > 0 {
		return &ValidationError{Problems: v.probs}
	}
	return nil
}

// validateRefModels reports a learned route's ref_models entry for a
// deployment the route's targets do not reach: the router would never
// look it up, so the mapping (a typo, or a target since removed) would be
// silently ignored. An unknown deployment is reported by the route checks.
func (c *Config) validateRefModels(v *validator) {
	var routes map[string]int // name -> first index, built on first need
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Policy != PolicyLearned || r.Learned == nil || len(r.Learned.RefModels) == 0 {
			continue
		}
		if routes == nil {
			routes = make(map[string]int, len(c.Routes))
			for j := len(c.Routes) - 1; j >= 0; j-- {
				routes[c.Routes[j].Name] = j
			}
		}
		reached := make(map[string]bool)
		var names []string
		for _, t := range r.Targets {
			if j, ok := routes[t]; ok {
				for _, d := range c.reach(&c.Routes[j], routes) {
					if n := c.Deployments[d].Name; !reached[n] {
						reached[n] = true
						names = append(names, n)
					}
				}
			} else if !reached[t] {
				reached[t] = true
				names = append(names, t)
			}
		}
		for _, d := range sortedKeys(r.Learned.RefModels) {
			if reached[d] || !c.hasDeployment(d) {
				continue
			}
			v.add(fmt.Sprintf("routes[%d].learned.ref_models.%s", i, d), "deployment %q is not a target of route %q, so its reference model would never be used (the route's targets reach %s)",
				d, r.Name, strings.Join(names, ", "))
		}
	}
}

// hasDeployment reports whether a deployment is named name.
func (c *Config) hasDeployment(name string) bool {
	for i := range c.Deployments {
		if c.Deployments[i].Name == name {
			return true
		}
	}
	return false
}

func (c *Config) validateServer(v *validator) {
	s := &c.Server
	if err := checkHostPort(s.Listen); err != nil {
		v.add("server.listen", "%v", err)
	}
	for i, k := range s.APIKeys {
		if k == "" {
			v.add(fmt.Sprintf("server.api_keys[%d]", i), "must not be empty")
		} else if msg := badClientKey(k); msg != "" {
			// Clients send it in a header: it could never match.
			v.add(fmt.Sprintf("server.api_keys[%d]", i), "%s", msg)
		}
	}
	if msg := badClientKey(s.MasterKey); msg != "" {
		v.add("server.master_key", "%s", msg)
	}
	v.boundedInt("server.max_body_bytes", s.MaxBodyBytes, MaxServerBodyBytes)
	v.positiveDur("server.read_header_timeout", s.ReadHeaderTimeout)
	v.positiveDur("server.read_timeout", s.ReadTimeout)
	v.positiveDur("server.idle_timeout", s.IdleTimeout)
	v.positiveDur("server.shutdown_timeout", s.ShutdownTimeout)
	v.positiveDur("server.send_timeout", s.SendTimeout)
	if s.SendTimeout > 0 && s.SendTimeout < Duration(time.Second) {
		// A client's write waits on the network and the scheduler too:
		// under a second would cut clients that read (audit AS).
		v.add("server.send_timeout", "must be at least 1s, got %s", s.SendTimeout)
	}
	if s.ShutdownDelay < 0 {
		v.add("server.shutdown_delay", "must not be negative, got %s", s.ShutdownDelay)
	}
	if k := s.ClientSecretKey; k != "" && len(k) < 32 {
		v.add("server.client_secret_key", "must be at least 32 characters (it signs client secrets), got %d", len(k))
	}
	for i, o := range s.WebSocketOrigins {
		if _, err := path.Match(o, ""); err != nil || o == "" {
			v.add(fmt.Sprintf("server.websocket_origins[%d]", i), "want a host pattern such as app.example.com or *.example.com, got %q", o)
		}
	}
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port such as 127.0.0.1:8080, got %q", addr)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > math.MaxUint16 {
		return fmt.Errorf("port must be a number from 0 to 65535, got %q", port)
	}
	return nil
}

// listenersClash reports whether two listen addresses would contend for one
// socket: the same non-zero port, on the same host, or where either host is a
// wildcard (every interface) or both name the loopback interface.
func listenersClash(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	na, errA := strconv.ParseUint(pa, 10, 16)
	nb, errB := strconv.ParseUint(pb, 10, 16)
	if errA != nil || errB != nil || na != nb || na == 0 {
		return false
	}
	ka, kb := hostKey(ha), hostKey(hb)
	switch {
	case ka == kb, ka == "*", kb == "*":
		return true
	case ka == "localhost":
		return isLoopback(kb)
	case kb == "localhost":
		return isLoopback(ka)
	}
	return false
}

// hostKey folds the spellings of one listening host: "" and unspecified
// addresses are "*", IP addresses their canonical form, names lower case.
func hostKey(h string) string {
	if h == "" {
		return "*"
	}
	ip := net.ParseIP(h)
	switch {
	case ip == nil:
		return strings.ToLower(h)
	case ip.IsUnspecified():
		return "*"
	}
	return ip.String()
}

func isLoopback(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateExecutor(v *validator) {
	e := &c.Executor
	v.boundedInt("executor.max_attempts", int64(e.MaxAttempts), MaxExecutorAttempts)
	if e.RetriesPerDeployment < 0 {
		v.add("executor.retries_per_deployment", "must not be negative, got %d", e.RetriesPerDeployment)
	}
	v.atMost("executor.retries_per_deployment", int64(e.RetriesPerDeployment), MaxRetriesPerDeployment)
	v.positiveDur("executor.backoff_base", e.BackoffBase)
	v.positiveDur("executor.backoff_max", e.BackoffMax)
	if e.BackoffBase > 0 && e.BackoffMax > 0 && e.BackoffBase > e.BackoffMax {
		v.add("executor.backoff_max", "must not be less than backoff_base (%s), got %s", e.BackoffBase, e.BackoffMax)
	}
	v.positiveDur("executor.max_retry_after", e.MaxRetryAfter)
	v.positiveDur("executor.deadline", e.Deadline)
	v.boundedInt("executor.breaker.failure_threshold", int64(e.Breaker.FailureThreshold), MaxBreakerThreshold)
	v.positiveDur("executor.breaker.open_for", e.Breaker.OpenFor)
}

// Provider kinds.
const (
	KindOpenAI    = "openai"
	KindAzure     = "azure"
	KindAnthropic = "anthropic"
	KindBedrock   = "bedrock"
)

func (c *Config) validateProviders(v *validator) {
	seen := make(map[string]int, len(c.Providers))
	for i := range c.Providers {
		p := &c.Providers[i]
		path := fmt.Sprintf("providers[%d]", i)
		v.name(path+".name", p.Name)
		if j, dup := seen[p.Name]; dup && p.Name != "" {
			v.add(path+".name", "duplicate provider name %q (first at providers[%d])", p.Name, j)
		} else {
			seen[p.Name] = i
		}
		switch p.Kind {
		case KindOpenAI, KindAzure, KindAnthropic, KindBedrock:
		case "":
			v.add(path+".kind", "required (openai, azure, anthropic or bedrock)")
		default:
			v.add(path+".kind", "unknown kind %q (want openai, azure, anthropic or bedrock)", p.Kind)
		}
		if p.Kind != KindBedrock || p.BaseURL != "" {
			if err := checkBaseURL(p.BaseURL); err != nil {
				v.add(path+".base_url", "%v", err)
			}
		}
		p.validateAWS(v, path)
		if msg := badHeaderValue(p.APIKey); msg != "" {
			v.add(path+".api_key", "%s", msg)
		}
		headerNames(v, path+".headers", sortedKeys(p.Headers))
		for _, k := range sortedKeys(p.Headers) {
			if !validHeaderName(k) {
				v.add(path+".headers", "invalid header name %q", k)
				continue
			}
			if msg := headerOwner(p, k); msg != "" {
				v.add(path+".headers", "header %q %s", k, msg)
			}
			if msg := badHeaderValue(p.Headers[k]); msg != "" {
				v.add(path+".headers."+k, "value %s", msg)
			}
		}
		v.positiveDur(path+".connect_timeout", p.ConnectTimeout)
	}
}

// validateAWS checks the fields only a bedrock provider takes: it needs
// a region, and signs with an access key pair (or uses api_key).
func (p *Provider) validateAWS(v *validator, path string) {
	aws := p.Region != "" || p.AWSAccessKeyID != "" || p.AWSSecretAccessKey != "" || p.AWSSessionToken != ""
	switch {
	case p.Kind != KindBedrock:
		if aws {
			v.add(path, "region and aws_* credentials are for kind bedrock only")
		}
		return
	case p.Region == "":
		v.add(path+".region", "required for kind bedrock (e.g. us-east-1)")
	case !validRegion(p.Region):
		v.add(path+".region", "invalid AWS region %q", p.Region)
	}
	if (p.AWSAccessKeyID == "") != (p.AWSSecretAccessKey == "") {
		v.add(path+".aws_secret_access_key", "aws_access_key_id and aws_secret_access_key go together")
	}
	if p.AWSSessionToken != "" && p.AWSAccessKeyID == "" {
		v.add(path+".aws_session_token", "needs aws_access_key_id and aws_secret_access_key")
	}
	if p.APIKey != "" && p.AWSAccessKeyID != "" {
		v.add(path+".api_key", "name either a Bedrock API key or AWS access keys, not both")
	}
}

// validGuardrailVersion reports whether v names a guardrail version: a
// number, or DRAFT (the working copy).
func validGuardrailVersion(v string) bool {
	if v == "DRAFT" {
		return true
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != "" && len(v) <= 8
}

// validRegion reports whether r looks like an AWS region name (lower-case
// letters, digits and dashes: it goes into the endpoint's host name).
func validRegion(r string) bool {
	for i := 0; i < len(r); i++ {
		if c := r[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return r != "" && len(r) <= 32
}

// checkBaseURL requires an absolute http(s) URL. Messages never quote the
// URL: it may have come from the environment and may carry credentials.
func checkBaseURL(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("invalid URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an absolute http:// or https:// URL")
	case u.Host == "":
		return errors.New("must include a host")
	case u.User != nil:
		return errors.New("must not contain credentials; use api_key or headers")
	case u.Fragment != "" || strings.HasSuffix(raw, "#"):
		return errors.New("must not contain a #fragment")
	case u.RawQuery != "" || u.ForceQuery:
		// The adapters append paths (and Azure its api-version).
		return errors.New("must not contain a ?query; use headers or api_version")
	}
	return nil
}

// headerOwner says why provider p may not set header k, or "" if it may.
// The gateway sets the framing headers of every upstream call itself, the
// adapter the version header and, when api_key is set, the credential;
// a configured value would be overridden or sent twice.
func headerOwner(p *Provider, k string) string {
	switch http.CanonicalHeaderKey(k) {
	case "Host", "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Accept":
		return "is set by the gateway on every call"
	case "Anthropic-Version":
		if p.Kind == KindAnthropic {
			return "is set from api_version"
		}
	case "Authorization":
		if p.Kind == KindOpenAI && p.APIKey != "" {
			return "is set from api_key; name one of the two"
		}
		if p.Kind == KindBedrock && (p.APIKey != "" || p.AWSAccessKeyID != "") {
			return "is set from api_key or the AWS access keys"
		}
	case "X-Amz-Date", "X-Amz-Security-Token":
		if p.Kind == KindBedrock && p.AWSAccessKeyID != "" {
			return "is set by SigV4 signing"
		}
	case "Api-Key":
		if p.Kind == KindAzure && p.APIKey != "" {
			return "is set from api_key; name one of the two"
		}
	case "X-Api-Key":
		if p.Kind == KindAnthropic && p.APIKey != "" {
			return "is set from api_key; name one of the two"
		}
	}
	return ""
}

func validHeaderName(k string) bool { return httpguts.ValidHeaderFieldName(k) }

// badHeaderValue says what is wrong with a header value the gateway sends
// upstream, without repeating it (it is usually a secret); "" when it is
// valid. A line break would otherwise fail every request to the provider.
func badHeaderValue(v Secret) string {
	if httpguts.ValidHeaderFieldValue(string(v)) {
		return ""
	}
	return "must not contain line breaks or other control characters (a trailing newline from a file?)"
}

// badClientKey says what is wrong with a key clients send (server.api_keys,
// master_key, admin.key), without repeating it; "" when it is valid.
// Stricter than badHeaderValue: a tab is refused too. A key is compared
// whole with what the client sends, and a tab in it is a pasting or
// key-file mistake no client reproduces.
func badClientKey(v Secret) string {
	if strings.IndexFunc(string(v), func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return "must not contain tabs, line breaks or other control characters (a trailing newline from a file?)"
	}
	return badHeaderValue(v)
}

// headerNames reports, at path, each header name that differs from an
// earlier one only in case (X-Extra and x-extra): HTTP header names are
// case-insensitive, so the two are one header given twice, and only one
// value could be sent. keys are sorted.
func headerNames(v *validator, path string, keys []string) {
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		ck := http.CanonicalHeaderKey(k)
		if first, dup := seen[ck]; dup {
			v.add(path, "headers %q and %q name one header (header names are case-insensitive); keep one", first, k)
			continue
		}
		seen[ck] = k
	}
}

func (c *Config) validateDeployments(v *validator) {
	if len(c.Deployments) == 0 {
		v.add("deployments", "at least one deployment is required")
	}
	providers := make(map[string]bool, len(c.Providers))
	kinds := make(map[string]string, len(c.Providers))
	for _, p := range c.Providers {
		providers[p.Name] = true
		kinds[p.Name] = p.Kind
	}
	seen := make(map[string]int, len(c.Deployments))
	for i := range c.Deployments {
		d := &c.Deployments[i]
		path := fmt.Sprintf("deployments[%d]", i)
		v.name(path+".name", d.Name)
		if j, dup := seen[d.Name]; dup && d.Name != "" {
			v.add(path+".name", "duplicate deployment name %q (first at deployments[%d])", d.Name, j)
		} else {
			seen[d.Name] = i
		}
		switch {
		case d.Provider == "":
			v.add(path+".provider", "required")
		case !providers[d.Provider]:
			v.add(path+".provider", "unknown provider %q", d.Provider)
		}
		if d.Model == "" {
			v.add(path+".model", "required")
		}
		switch {
		case d.PromptCache == "":
		case d.PromptCache != PromptCacheSystem:
			v.add(path+".prompt_cache", "want system or nothing, got %q", d.PromptCache)
		case providers[d.Provider] && kinds[d.Provider] != KindAnthropic && kinds[d.Provider] != KindBedrock:
			v.add(path+".prompt_cache", "only Anthropic and Bedrock deployments need it (OpenAI caches long prompts by itself)")
		}
		if kinds[d.Provider] == KindBedrock && d.Capabilities.Has(CapEmbeddings) && !bedrockEmbeddingModel(d.Model) {
			v.add(path+".capabilities.embeddings", "a bedrock deployment embeds with Titan Text Embeddings (amazon.titan-embed-...) or Cohere Embed (cohere.embed-...) only, got model %q", d.Model)
		}
		if g := d.Guardrail; g != nil {
			switch {
			case providers[d.Provider] && kinds[d.Provider] != KindBedrock:
				v.add(path+".guardrail", "only Bedrock deployments take a guardrail")
			case g.ID == "":
				v.add(path+".guardrail.id", "required")
			}
			if !validGuardrailVersion(g.Version) {
				v.add(path+".guardrail.version", "want a version number or DRAFT, got %q", g.Version)
			}
		}
		switch {
		case d.Latency == "":
		case providers[d.Provider] && kinds[d.Provider] != KindBedrock:
			v.add(path+".latency", "only Bedrock deployments take a latency setting (performanceConfig)")
		case d.Latency != "optimized" && d.Latency != "standard":
			v.add(path+".latency", "want optimized or standard, got %q", d.Latency)
		}
		nonNegative(v, path+".price.input_per_mtok", d.Price.InputPerMTok)
		nonNegative(v, path+".price.output_per_mtok", d.Price.OutputPerMTok)
		nonNegative(v, path+".price.per_image", d.Price.PerImage)
		nonNegative(v, path+".price.per_minute", d.Price.PerMinute)
		nonNegative(v, path+".price.per_second", d.Price.PerSecond)
		if p := d.Price.CachedInputPerMTok; p != nil {
			nonNegative(v, path+".price.cached_input_per_mtok", *p)
		}
		if p := d.Price.CacheWritePerMTok; p != nil {
			nonNegative(v, path+".price.cache_write_per_mtok", *p)
		}
		if p := d.Price.AudioInputPerMTok; p != nil {
			nonNegative(v, path+".price.audio_input_per_mtok", *p)
		}
		if p := d.Price.AudioOutputPerMTok; p != nil {
			nonNegative(v, path+".price.audio_output_per_mtok", *p)
		}
		v.boundedInt(path+".context_window", int64(d.ContextWindow), MaxTokens)
		v.boundedInt(path+".max_output_tokens", int64(d.MaxOutputTokens), MaxTokens)
		if d.ContextWindow > 0 && d.MaxOutputTokens > d.ContextWindow {
			v.add(path+".max_output_tokens", "%d exceeds context_window %d", d.MaxOutputTokens, d.ContextWindow)
		}
		if !(d.Quality >= 0 && d.Quality <= 1) {
			v.add(path+".quality", "must be between 0 and 1, got %v", d.Quality)
		}
		if !d.Capabilities.Has(CapChat) && !d.Capabilities.Has(CapEmbeddings) && !d.Capabilities.Has(CapModeration) && !d.Capabilities.Has(CapImages) &&
			!d.Capabilities.Has(CapSpeech) && !d.Capabilities.Has(CapTranscription) && !d.Capabilities.Has(CapRealtime) && !d.Capabilities.Has(CapVideo) {
			v.add(path+".capabilities", "serves nothing: chat, embeddings, moderation, images, speech, transcription, realtime and video are all false")
		}
		for _, c := range []string{CapSpeech, CapTranscription} {
			if d.Capabilities.Has(c) && providers[d.Provider] && kinds[d.Provider] != KindOpenAI && kinds[d.Provider] != KindAzure {
				v.add(path+".capabilities."+c, "only openai- and azure-kind deployments serve it (OpenAI's audio endpoints), not %s", kinds[d.Provider])
			}
		}
		if d.Capabilities.Has(CapImages) && providers[d.Provider] && kinds[d.Provider] != KindOpenAI && kinds[d.Provider] != KindAzure {
			v.add(path+".capabilities.images", "only openai- and azure-kind deployments generate images (OpenAI's endpoint), not %s", kinds[d.Provider])
		}
		if d.Capabilities.Has(CapRealtime) && providers[d.Provider] && kinds[d.Provider] != KindOpenAI && kinds[d.Provider] != KindAzure {
			v.add(path+".capabilities.realtime", "only openai- and azure-kind deployments serve the Realtime API (OpenAI's WebSocket), not %s", kinds[d.Provider])
		}
		if d.Capabilities.Has(CapVideo) && providers[d.Provider] && kinds[d.Provider] != KindOpenAI {
			v.add(path+".capabilities.video", "only openai-kind deployments serve the Videos API (OpenAI's endpoint), not %s", kinds[d.Provider])
		}
		if d.Capabilities.Has(CapEmbeddings) && providers[d.Provider] && kinds[d.Provider] == KindAnthropic {
			v.add(path+".capabilities.embeddings", "anthropic-kind deployments do not serve embeddings (the Anthropic API has no embeddings endpoint); use an openai-, azure- or bedrock-kind deployment")
		}
		if d.Capabilities.Has(CapModeration) && providers[d.Provider] && kinds[d.Provider] != KindOpenAI {
			v.add(path+".capabilities.moderation", "only openai-kind deployments serve moderations (OpenAI's endpoint), not %s", kinds[d.Provider])
		}
		v.positiveDur(path+".first_token_timeout", d.FirstTokenTimeout)
		v.positiveDur(path+".idle_timeout", d.IdleTimeout)
		v.positiveDur(path+".timeout", d.Timeout)
	}
}

func nonNegative(v *validator, path string, x float64) {
	if !(x >= 0) || x > MaxPrice {
		v.add(path, "must be a number from 0 to %g, got %v", float64(MaxPrice), x)
	}
}

// bedrockEmbeddingModel reports whether a Bedrock model id names an
// embedding model the Bedrock adapter can call (bedrock.EmbeddingFamily
// decides the same way; the app's tests check that they agree).
func bedrockEmbeddingModel(model string) bool {
	return strings.Contains(model, "titan-embed") || strings.Contains(model, "cohere.embed")
}
