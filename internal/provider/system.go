package provider

import (
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// SystemPrompt is b's system prompt for an API that takes it apart from
// the conversation: Body.System and the text of any system messages left
// in the conversation, in order, joined by a blank line. The caller skips
// those messages.
func SystemPrompt(b *llm.Body) string {
	var parts []string
	if b.System != "" {
		parts = append(parts, b.System)
	}
	for i := range b.Messages {
		if m := &b.Messages[i]; m.Role == llm.RoleSystem {
			if t := m.Text(); t != "" {
				parts = append(parts, t)
			}
		}
	}
	return strings.Join(parts, "\n\n")
}
