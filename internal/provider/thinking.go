package provider

import "github.com/switchyard-gw/switchyard/internal/llm"

// MinThinkingBudget is the least thinking budget Claude takes.
const MinThinkingBudget = 1024

// budgetForEffort is the thinking budget for an OpenAI reasoning effort,
// 0 for none (none, minimal, or no effort). The decoders of the OpenAI
// dialect refuse a value they do not know, so an unknown one never
// reaches here as a silent "no thinking".
func budgetForEffort(effort string) int {
	switch effort {
	case "low":
		return 2048
	case "medium":
		return 8192
	case "high":
		return 16384
	case "xhigh":
		return 32768
	case "max":
		return 65536
	}
	return 0
}

// ThinkingReserve is the most max_tokens a translation for a Claude
// reasoning deployment may send for an OpenAI client's effort and answer
// limit (Thinking adds the effort's budget, within limit, the
// deployment's output limit, 0 for none): what admission must reserve,
// as thinking is billed as output.
func ThinkingReserve(effort string, answer, limit int) int {
	budget := budgetForEffort(effort)
	if budget == 0 {
		return answer
	}
	if limit > 0 {
		return max(answer, min(answer+budget, limit))
	}
	return answer + budget
}

// Thinking is the extended thinking a translated request gets on a Claude
// reasoning deployment (the Anthropic API's, or Bedrock's): the client's
// thinking budget, or its OpenAI reasoning effort as one (low 2,048,
// medium 8,192, high 16,384, xhigh 32,768, max 65,536 tokens; none and
// minimal think not at all). Thinking counts against max_tokens.
// An Anthropic client's max_tokens, which answer then is, already holds
// its budget, so it is sent as it is (like any client's, not cut to the
// deployment's limit). An OpenAI client's max_tokens is the answer's own
// limit, so the budget is added to answer, within limit, the deployment's
// output limit (0: none); when that leaves less than the least budget
// (as when the client set none and answer is the limit), the budget, at
// most half the limit, comes out of the limit. ok is false when the
// request gets no thinking: none asked for, a forced tool (which thinking
// refuses), or a turn answering tool calls that came back without their
// thinking (InToolCycle).
func Thinking(b *llm.Body, answer, limit int, forcedTool bool) (budget, maxTokens int, ok bool) {
	budget = b.ThinkingBudget
	if budget == 0 {
		budget = budgetForEffort(b.ReasoningEffort)
	}
	if budget < MinThinkingBudget || forcedTool || InToolCycle(b.Messages) {
		return 0, answer, false
	}
	if b.ThinkingBudget > 0 {
		return budget, answer, true
	}
	maxTokens = answer + budget
	if limit > 0 && maxTokens > limit {
		maxTokens = limit
		room := limit - answer
		if room < MinThinkingBudget {
			// Thinking comes out of the answer's limit (the deployment's
			// when the client set none): the effort's budget still, so
			// that low, medium and high differ, up to half the limit.
			room = limit / 2
		}
		budget = min(budget, room)
		if budget < MinThinkingBudget || budget >= limit {
			return 0, answer, false
		}
	}
	return budget, maxTokens, true
}

// InToolCycle reports whether msgs end with the results of the tool calls
// of the last assistant message, and that message came back without its
// thinking: Claude wants the thinking that came with tool calls back,
// signed, while thinking is on, so such a turn goes without (the next
// user turn thinks again).
func InToolCycle(msgs []llm.Message) bool {
	i := len(msgs) - 1
	for i >= 0 && msgs[i].Role == llm.RoleTool {
		i--
	}
	return i < len(msgs)-1 && i >= 0 && msgs[i].Role == llm.RoleAssistant && len(msgs[i].ToolCalls) > 0 &&
		len(msgs[i].Thinking) == 0
}
