package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// imageTokens is what one image adds to the input token estimate.
const imageTokens = 85

// vocabulary is the fixed word list answers are drawn from.
var vocabulary = [...]string{
	"signal", "switch", "track", "yard", "engine", "freight", "junction", "lamp",
	"rail", "siding", "coupler", "brake", "tender", "boiler", "whistle", "depot",
	"route", "ballast", "sleeper", "gauge", "crossing", "platform", "timetable", "caboose",
	"lantern", "turntable", "roundhouse", "dispatcher", "semaphore", "bogie", "axle", "wagon",
	"shunter", "mainline", "branch", "loop", "spur", "gradient", "tunnel", "viaduct",
	"bridge", "station", "ticket", "porter", "conductor", "fireman", "coal", "water",
	"steam", "diesel", "electric", "catenary", "pantograph", "relay", "interlock", "lever",
	"cabin", "block", "token", "staff", "points", "frog", "rail", "yardmaster",
}

// toolChoice is how the request lets the model use tools.
type toolChoice int

const (
	toolAuto toolChoice = iota
	toolNone
	toolRequired // any tool (OpenAI "required", Anthropic "any") or a named one
)

// tool is one function the client offers.
type tool struct {
	name   string
	schema json.RawMessage
}

// prompt is what the simulator needs from a chat request, in either dialect.
type prompt struct {
	text         strings.Builder // all prompt text, for the hash and the estimate
	images       int
	lastFromUser bool // the last message is the user's, not a tool result
	tools        []tool
	choice       toolChoice
	forcedTool   string // named tool of a forced choice, or ""
	jsonMode     bool
	jsonSchema   json.RawMessage // schema of a json_schema format, or nil
	maxTokens    int             // 0 when the request sets none
	includeUsage bool            // OpenAI stream_options.include_usage
	store        bool            // Responses API: keep the response (store, default true)
	previousID   string          // Responses API: previous_response_id, or ""
	cacheMark    int             // Anthropic, Bedrock: text bytes up to the last cache mark, or 0
	guardrail    bool            // Bedrock: a guardrail applies (see guarded)
	// What a reasoning model needs (see Model.Reasoning): OpenAI's
	// reasoning_effort and whether max_tokens or a temperature other than 1
	// was sent; Anthropic's thinking budget (0: off).
	effort         string
	maxTokensParam bool
	temperature    *float64
	thinkBudget    int
}

// add appends prompt text with a separator so that part boundaries matter.
func (p *prompt) add(s string) {
	p.text.WriteString(s)
	p.text.WriteByte(0)
}

// inputTokens estimates the prompt's tokens as about one per four bytes of
// text plus a fixed amount per image.
func (p *prompt) inputTokens() int {
	return estimateTokens(p.text.Len()) + p.images*imageTokens
}

// estimateTokens is ceil(n/4), at least 1.
func estimateTokens(n int) int {
	t := (n + 3) / 4
	if t < 1 {
		t = 1
	}
	return t
}

// seed is the deterministic seed of the prompt's answer.
func (p *prompt) seed() uint64 {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d", p.text.String(), p.images)))
	return binary.BigEndian.Uint64(sum[:8])
}

// rng is a splitmix64 generator: tiny, fast and deterministic.
type rng struct{ state uint64 }

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) word() string { return vocabulary[r.next()%uint64(len(vocabulary))] }

// reply is a generated answer, split into the tokens it streams as.
type reply struct {
	tokens    []string // text pieces, or argument pieces of a tool call
	toolName  string   // non-empty when the answer is a tool call
	truncated bool     // max_tokens cut the answer
	blocked   bool     // a Bedrock guardrail intervened (see guarded)
}

// text is the whole answer: content, or the tool call's JSON arguments.
func (r reply) text() string { return strings.Join(r.tokens, "") }

// generate builds the deterministic answer of model m to prompt p.
func generate(m Model, p *prompt) reply {
	g := &rng{state: p.seed()}
	var out reply
	if name := p.toolToCall(); name != "" {
		out.toolName = name
		out.tokens = pieces(string(mustJSON(valueFor(p.schemaOf(name), g, 0))))
	} else if p.jsonMode {
		var v any
		if len(p.jsonSchema) > 0 {
			v = valueFor(p.jsonSchema, g, 0)
		}
		if _, ok := v.(map[string]any); !ok {
			v = map[string]any{"answer": strings.Join(words(g, m.OutputTokens), " ")}
		}
		out.tokens = pieces(string(mustJSON(v)))
	} else {
		var ws []string
		if p.images > 0 {
			noun := "images"
			if p.images == 1 {
				noun = "image"
			}
			ws = append(ws, "I", "see", fmt.Sprint(p.images), noun+".")
		}
		ws = append(ws, words(g, m.OutputTokens-len(ws))...)
		for i, w := range ws {
			if i > 0 {
				w = " " + w
			}
			out.tokens = append(out.tokens, w)
		}
	}
	if p.maxTokens > 0 && len(out.tokens) > p.maxTokens {
		out.tokens = out.tokens[:p.maxTokens]
		out.truncated = true
	}
	return out
}

// words returns n vocabulary words (none when n <= 0).
func words(g *rng, n int) []string {
	var ws []string
	for range n {
		ws = append(ws, g.word())
	}
	return ws
}

// pieces splits s into the four-byte tokens it streams as.
func pieces(s string) []string {
	var out []string
	for len(s) > 4 {
		out = append(out, s[:4])
		s = s[4:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// toolToCall returns the tool to answer with, or "" for a text answer: a
// forced choice always calls; "auto" calls the first tool when the last
// message is the user's.
func (p *prompt) toolToCall() string {
	if len(p.tools) == 0 || p.choice == toolNone {
		return ""
	}
	if p.forcedTool != "" {
		return p.forcedTool
	}
	if p.choice == toolRequired || p.lastFromUser {
		return p.tools[0].name
	}
	return ""
}

func (p *prompt) schemaOf(name string) json.RawMessage {
	for _, t := range p.tools {
		if t.name == name {
			return t.schema
		}
	}
	return nil
}

// valueFor builds a deterministic value that satisfies a simple JSON schema:
// objects get every property (sorted), strings vocabulary words, enums their
// first value.
func valueFor(raw json.RawMessage, g *rng, depth int) any {
	var s map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	return valueOf(s, g, depth)
}

func valueOf(s map[string]any, g *rng, depth int) any {
	if v, ok := s["const"]; ok {
		return v
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[k].([]any); ok && len(alts) > 0 {
			if first, ok := alts[0].(map[string]any); ok {
				return valueOf(first, g, depth)
			}
		}
	}
	typ, _ := s["type"].(string)
	if ts, ok := s["type"].([]any); ok {
		for _, t := range ts {
			if t, ok := t.(string); ok && t != "null" {
				typ = t
				break
			}
		}
	}
	if typ == "" && s["properties"] != nil {
		typ = "object"
	}
	switch typ {
	case "string":
		return g.word() + " " + g.word()
	case "integer":
		return int(g.next() % 100)
	case "number":
		return float64(g.next()%1000) / 10
	case "boolean":
		return g.next()%2 == 0
	case "null":
		return nil
	case "array":
		if depth >= 4 {
			return []any{}
		}
		items, _ := s["items"].(map[string]any)
		if items == nil {
			return []any{g.word()}
		}
		return []any{valueOf(items, g, depth+1)}
	}
	obj := map[string]any{}
	props, _ := s["properties"].(map[string]any)
	if depth >= 4 {
		return obj
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps, _ := props[k].(map[string]any)
		obj[k] = valueOf(ps, g, depth+1)
	}
	return obj
}

// mustJSON marshals values built from decoded JSON, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("{}")
	}
	return b
}
