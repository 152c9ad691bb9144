package bedrock

import (
	"context"
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

var _ provider.TokenCounter = (*Client)(nil)

// tokensRequest is a CountTokens request for a Converse input: the members
// of a Converse request that make up its input.
type tokensRequest struct {
	Input struct {
		Converse struct {
			Messages                     []message         `json:"messages"`
			System                       []systemBlock     `json:"system,omitempty"`
			ToolConfig                   *toolConfig       `json:"toolConfig,omitempty"`
			AdditionalModelRequestFields *additionalFields `json:"additionalModelRequestFields,omitempty"`
		} `json:"converse"`
	} `json:"input"`
}

// CountTokens asks Bedrock's CountTokens API how many input tokens req
// (a count_tokens request, in any client's shape) holds on this
// deployment's model: the request is translated as for Converse, and its
// input (messages, system prompt, tools, thinking) is counted.
func (c *Client) CountTokens(ctx context.Context, req *llm.Request) (int, error) {
	conv, err := c.converse(req)
	if err != nil {
		return 0, err
	}
	var in tokensRequest
	ci := &in.Input.Converse
	ci.Messages, ci.System, ci.ToolConfig, ci.AdditionalModelRequestFields = conv.Messages, conv.System, conv.ToolConfig, conv.AdditionalModelRequestFields
	body, err := json.Marshal(in)
	if err != nil {
		return 0, &provider.Error{Kind: provider.KindBadRequest, Message: "cannot encode request", Err: err}
	}
	resp, err := c.postTo(ctx, "/count-tokens", body, false)
	if err != nil {
		return 0, err
	}
	raw, err := provider.ReadBody(ctx, resp)
	if err != nil {
		return 0, err
	}
	n := gjson.GetBytes(raw, "inputTokens")
	if n.Type != gjson.Number || n.Int() < 0 {
		return 0, &provider.Error{Kind: provider.KindUnavailable, Status: 200, Message: "count-tokens response without inputTokens"}
	}
	return int(n.Int()), nil
}
