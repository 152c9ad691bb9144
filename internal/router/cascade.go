package router

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Judge defaults.
const (
	defaultJudgeMinScore = 7
	defaultJudgeTimeout  = 10 * time.Second
)

// DefaultJudgePrompt is the judge's instruction when the route gives none.
const DefaultJudgePrompt = "You grade answers. Given a question and an answer, rate how correct, complete and helpful the answer is from 0 (useless) to 10 (excellent). Reply with the number only."

// Cascade is the escalation plan of a cascade route: call Stages in order
// (non-streaming) and return the first answer Check passes; when none
// passes, the last stage's answer is returned.
type Cascade struct {
	// Route is the cascade route.
	Route string
	// Stages are the deployments to call in order, cheapest first; the
	// decision's Deployments start with them.
	Stages []string
	spec   *cascadeSpec
	call   func(ctx context.Context, deployment string, req *llm.Request) (*llm.Response, error)
}

// Checks describes the checks, for explain output ("json", "judge sim-medium >= 7").
func (c *Cascade) Checks() []string { return c.spec.names() }

// Check runs every check on the answer of stage (an index into Stages) to
// req and reports whether it passes, and if not why (a short phrase with no
// answer text, for headers and logs). The last stage's answer is returned to
// the client whatever Check says.
func (c *Cascade) Check(ctx context.Context, stage int, req *llm.Request, resp *llm.Response) (pass bool, why string) {
	if resp == nil {
		return false, "no answer"
	}
	if len(resp.ToolCalls) > 0 && strings.TrimSpace(resp.Text) == "" {
		return true, "tool calls are not checked"
	}
	for _, ch := range c.spec.checks {
		if ok, why := ch.run(ctx, c.call, req, resp); !ok {
			return false, why
		}
	}
	return true, "passed " + strings.Join(c.spec.names(), ", ")
}

// cascadeSpec is a cascade route's compiled checks.
type cascadeSpec struct {
	checks []check
}

type check struct {
	name      string
	json      bool
	schema    bool
	re        *regexp.Regexp
	minLength int
	noRefusal bool
	judge     *config.Judge
	minScore  float64 // the judge's passing score
}

func newCascadeSpec(rt *config.Route) (*cascadeSpec, error) {
	s := &cascadeSpec{}
	for i, ch := range rt.Checks {
		c := check{json: ch.JSON, schema: ch.Schema, minLength: ch.MinLength, noRefusal: ch.NoRefusal, judge: ch.Judge}
		switch {
		case ch.JSON:
			c.name = "json"
		case ch.Schema:
			c.name = "schema"
		case ch.Regex != "":
			re, err := regexp.Compile(ch.Regex)
			if err != nil {
				return nil, fmt.Errorf("checks[%d]: %w", i, err)
			}
			c.re, c.name = re, "regex"
		case ch.MinLength > 0:
			c.name = "min_length " + strconv.Itoa(ch.MinLength)
		case ch.NoRefusal:
			c.name = "no_refusal"
		case ch.Judge != nil:
			j := *ch.Judge
			c.minScore = defaultJudgeMinScore
			if j.MinScore != nil {
				c.minScore = *j.MinScore // 0 passes every score
			}
			if j.Timeout == 0 {
				j.Timeout = config.Duration(defaultJudgeTimeout)
			}
			if j.Prompt == "" {
				j.Prompt = DefaultJudgePrompt
			}
			c.judge = &j
			c.name = fmt.Sprintf("judge %s >= %g", j.Deployment, c.minScore)
		}
		s.checks = append(s.checks, c)
	}
	return s, nil
}

func (s *cascadeSpec) names() []string {
	out := make([]string, len(s.checks))
	for i, c := range s.checks {
		out[i] = c.name
	}
	return out
}

func (s *cascadeSpec) describe() string { return strings.Join(s.names(), ", ") }

func (c *check) run(ctx context.Context, call func(context.Context, string, *llm.Request) (*llm.Response, error), req *llm.Request, resp *llm.Response) (bool, string) {
	text := resp.Text
	switch {
	case c.json:
		if !json.Valid([]byte(stripFence(text))) {
			return false, "answer is not valid JSON"
		}
	case c.schema:
		return checkSchema(req, text)
	case c.re != nil:
		if !c.re.MatchString(text) {
			return false, "answer does not match the regex"
		}
	case c.minLength > 0:
		if n := utf8.RuneCountInString(strings.TrimSpace(text)); n < c.minLength {
			return false, fmt.Sprintf("answer has %d characters, want at least %d", n, c.minLength)
		}
	case c.noRefusal:
		if resp.FinishReason == llm.FinishContentFilter || isRefusal(text) {
			return false, "answer is a refusal"
		}
	case c.judge != nil:
		return c.runJudge(ctx, call, req, text)
	}
	return true, ""
}

// stripFence removes a Markdown code fence around a JSON answer.
func stripFence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") {
		return s
	}
	s = strings.TrimPrefix(s, "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
}

// isRefusal reports whether the answer opens with a refusal.
func isRefusal(text string) bool {
	// Lower-case openings of answers that decline.
	refusals := [...]string{
		"i can't", "i can’t", "i cannot", "i'm sorry", "i’m sorry", "i am sorry", "sorry, i",
		"i'm unable", "i’m unable", "i am unable", "i won't", "i will not", "as an ai",
		"i'm not able", "i am not able",
	}
	t := strings.ToLower(strings.TrimSpace(text))
	if len(t) > 200 {
		t = t[:200]
	}
	for _, r := range refusals {
		if strings.HasPrefix(t, r) {
			return true
		}
	}
	return false
}

// runJudge asks the judge model for a 0..10 score.
func (c *check) runJudge(ctx context.Context, call func(context.Context, string, *llm.Request) (*llm.Response, error), req *llm.Request, answer string) (bool, string) {
	if call == nil {
		return false, "no judge caller"
	}
	ctx, cancel := context.WithTimeout(ctx, c.judge.Timeout.D())
	defer cancel()
	user := "Question:\n" + req.LastUserText + "\n\nAnswer:\n" + answer
	jr := &llm.Request{Model: c.judge.Deployment, MaxTokens: 8, NumMessages: 2, SystemText: c.judge.Prompt, LastUserText: user, TextBytes: len(c.judge.Prompt) + len(user)}
	zero := 0.0
	jr.SetBody(&llm.Body{System: c.judge.Prompt, Temperature: &zero, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: user}}}}})
	resp, err := call(ctx, c.judge.Deployment, jr)
	if err != nil {
		if ctx.Err() != nil {
			return false, "judge timed out"
		}
		return false, "judge failed"
	}
	score, ok := firstNumber(resp.Text)
	if !ok {
		return false, "judge gave no score"
	}
	if score < c.minScore {
		return false, fmt.Sprintf("judge score %g below %g", score, c.minScore)
	}
	return true, ""
}

// firstNumber returns the first decimal number in s.
func firstNumber(s string) (float64, bool) {
	start := strings.IndexAny(s, "0123456789")
	if start < 0 {
		return 0, false
	}
	end := start
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
		end++
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s[start:end], "."), 64)
	return f, err == nil
}
