package config

// Route policies beyond PolicyFallback (defaults.go).
const (
	// PolicyRules sends the request to the target of the first rule whose
	// CEL condition holds, else to Default.
	PolicyRules = "rules"
	// PolicyCheapest tries the capable targets cheapest first.
	PolicyCheapest = "cheapest"
	// PolicyFastest tries the capable targets fastest first, as observed.
	PolicyFastest = "fastest"
	// PolicyWeighted splits traffic between arms by weight, sticky per key.
	PolicyWeighted = "weighted"
	// PolicyCascade calls the stages cheapest first and escalates when an
	// answer fails the checks.
	PolicyCascade = "cascade"
	// PolicyClassify asks a cheap model for a label; the label picks the
	// target.
	PolicyClassify = "classify"
	// PolicyLearned asks the learned router for the cheapest deployment
	// predicted to answer well.
	PolicyLearned = "learned"
)

// Rule is one condition of a rules route.
type Rule struct {
	// Name labels the rule in decision reasons; default "rules[i]".
	Name string `yaml:"name"`
	// When is a CEL expression over the request features (docs/routing.md).
	When string `yaml:"when"`
	// Target is the route or deployment a matching request goes to.
	Target string `yaml:"target"`
}

// Fastest tunes the fastest policy.
type Fastest struct {
	// By is ttft (default: observed time to first token and token rate) or
	// in_flight (fewest requests in progress).
	By string `yaml:"by"`
	// Explore is the share of requests sent to a random capable target so a
	// recovered or unmeasured deployment is noticed; default 0.05, 0 is off.
	Explore *float64 `yaml:"explore"`
}

// Arm is one side of a weighted split.
type Arm struct {
	// Name labels the arm in headers and logs; default the target.
	Name   string  `yaml:"name"`
	Target string  `yaml:"target"`
	Weight float64 `yaml:"weight"`
}

// Check is one test a cascade stage's answer must pass; set exactly one
// field.
type Check struct {
	// JSON requires the answer to be valid JSON.
	JSON bool `yaml:"json"`
	// Schema requires the answer to match the request's response_format
	// JSON schema (a request without one passes).
	Schema bool `yaml:"schema"`
	// Regex requires the answer to match (RE2 syntax).
	Regex string `yaml:"regex"`
	// MinLength requires at least this many characters.
	MinLength int `yaml:"min_length"`
	// NoRefusal fails answers that decline ("I can't help with that").
	NoRefusal bool `yaml:"no_refusal"`
	// Judge asks a model to score the answer.
	Judge *Judge `yaml:"judge"`
}

// Judge is a model that scores a cascade answer from 0 to 10.
type Judge struct {
	// Deployment is the judge model.
	Deployment string `yaml:"deployment"`
	// Prompt replaces the default grading instructions.
	Prompt string `yaml:"prompt"`
	// MinScore is the lowest passing score, 0..10; default 7 (nil: unset;
	// 0 passes every score the judge gives).
	MinScore *float64 `yaml:"min_score"`
	// Timeout bounds the judge call; default 10s. A judge that fails or
	// times out fails the check (the request escalates).
	Timeout Duration `yaml:"timeout"`
}

// Classifier labels requests for a classify route.
type Classifier struct {
	// Deployment is the (cheap) classifier model.
	Deployment string `yaml:"deployment"`
	// Prompt replaces the default instructions; the labels are appended.
	Prompt string `yaml:"prompt"`
	// Labels maps each label the classifier may answer to a route or
	// deployment.
	Labels map[string]string `yaml:"labels"`
	// Timeout is the classifier's time budget; past it the request goes to
	// the route's Default. Default 500ms.
	Timeout Duration `yaml:"timeout"`
	// CacheSize is how many labels are cached by prompt hash; default 4096.
	CacheSize int `yaml:"cache_size"`
}

// Learned configures a learned route (docs/learned-router.md).
type Learned struct {
	// RouterFile is the trained router, such as routers/default.json, or
	// "builtin:default" for the default router shipped in the binary.
	RouterFile string `yaml:"router_file"`
	// Quality is the target probability of a good answer, 0..1; or set
	// WillingnessToPay, USD per good answer. Exactly one.
	Quality          float64 `yaml:"quality"`
	WillingnessToPay float64 `yaml:"willingness_to_pay"`
	// RefModels maps a target deployment to the router's reference model
	// standing in for it; unmapped deployments are matched by model family.
	RefModels map[string]string `yaml:"ref_models"`
	// EmbeddingDeployment, for a router file trained with embedding
	// features (route train --embed-url), is the deployment that embeds the
	// prompt before each decision; it must serve the model the router was
	// trained with. Empty: decide from the text alone.
	EmbeddingDeployment string `yaml:"embedding_deployment"`
	// EmbeddingTimeout bounds that call; when it passes or the call fails,
	// the decision is made from the text alone. Default 300ms.
	EmbeddingTimeout Duration `yaml:"embedding_timeout"`
}
