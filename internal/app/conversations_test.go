package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// TestConversations: the official Go SDK's Conversations API through the
// gateway. A conversation is made upstream and kept for the tenant that
// made it: a Responses request naming it goes to a deployment of the
// provider that holds it (never the Anthropic one of the same route), and
// its input and answer are then among the conversation's items; the items
// endpoints, metadata and deletion pass through. Another tenant, a
// conversation unknown to the gateway, and a model with no deployment of
// that provider are refused.
func TestConversations(t *testing.T) {
	// A second OpenAI account (the same simulator under another provider
	// name) that does not hold the conversation, first in one route.
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		simURL := strings.SplitN(strings.SplitN(c, "base_url: ", 2)[1], "\n", 2)[0]
		c = strings.Replace(c, "deployments:\n", "  - name: other-openai\n    kind: openai\n    base_url: "+simURL+"\ndeployments:\n", 1)
		// Last in the list: conversations are made at the first.
		return strings.Replace(c, "routes:\n", "  - name: other-medium\n    provider: other-openai\n    model: sim-medium\nroutes:\n  - name: two-accounts\n    targets: [other-medium, claude, medium]\n", 1)
	})
	a := s.newKey("acme", admin.KeyCreate{})
	b := s.newKey("globex", admin.KeyCreate{})
	client := func(key string) *openai.Client {
		c := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(key), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
		return &c
	}
	acme, globex := client(a.Secret), client(b.Secret)
	ctx := context.Background()

	conv, err := acme.Conversations.New(ctx, conversations.ConversationNewParams{
		Items:    []responses.ResponseInputItemUnionParam{responses.ResponseInputItemParamOfMessage("Answer like a station announcer.", responses.EasyInputMessageRoleSystem)},
		Metadata: shared.Metadata{"topic": "trains"},
	})
	if err != nil || !strings.HasPrefix(conv.ID, "conv_") || topic(conv.Metadata) != "trains" {
		t.Fatalf("create: %+v %v", conv, err)
	}

	// The route's first deployment is of the other OpenAI account, then
	// an Anthropic one: every answer comes from the provider holding the
	// conversation.
	for _, q := range []string{"Which platform for the coast?", "And the return?"} {
		var raw *http.Response
		resp, err := acme.Responses.New(ctx, responses.ResponseNewParams{
			Model:        "two-accounts",
			Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String(q)},
			Conversation: responses.ResponseNewParamsConversationUnion{OfConversationObject: &responses.ResponseConversationParam{ID: conv.ID}},
		}, option.WithResponseInto(&raw))
		if err != nil || resp.Conversation.ID != conv.ID || resp.OutputText() == "" {
			t.Fatalf("response in the conversation: %+v %v", resp, err)
		}
		if d := raw.Header.Get("X-Switchyard-Deployment"); d != "medium" {
			t.Errorf("served by %q, want medium (neither other-medium nor claude holds the conversation)", d)
		}
	}
	items, err := acme.Conversations.Items.List(ctx, conv.ID, conversations.ItemListParams{Order: conversations.ItemListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, it := range items.Data {
		roles = append(roles, it.Role)
	}
	if got := strings.Join(roles, ","); got != "system,user,assistant,user,assistant" {
		t.Errorf("items by role %q, want the system item, then each question and answer", got)
	}

	// The items and metadata endpoints.
	added, err := acme.Conversations.Items.New(ctx, conv.ID, conversations.ItemNewParams{
		Items: []responses.ResponseInputItemUnionParam{responses.ResponseInputItemParamOfMessage("Thanks.", responses.EasyInputMessageRoleUser)},
	})
	if err != nil || len(added.Data) != 1 {
		t.Fatalf("add items: %+v %v", added, err)
	}
	if it, err := acme.Conversations.Items.Get(ctx, conv.ID, added.Data[0].ID, conversations.ItemGetParams{}); err != nil || it.ID != added.Data[0].ID {
		t.Errorf("get item: %+v %v", it, err)
	}
	if _, err := acme.Conversations.Items.Delete(ctx, conv.ID, added.Data[0].ID); err != nil {
		t.Errorf("delete item: %v", err)
	}
	if _, err := acme.Conversations.Items.Get(ctx, conv.ID, added.Data[0].ID, conversations.ItemGetParams{}); !isStatus(err, 404) {
		t.Errorf("deleted item: %v, want 404", err)
	}
	if c, err := acme.Conversations.Update(ctx, conv.ID, conversations.ConversationUpdateParams{Metadata: shared.Metadata{"topic": "ferries"}}); err != nil || topic(c.Metadata) != "ferries" {
		t.Errorf("update: %+v %v", c, err)
	}

	// Another tenant sees none of it, and cannot add to it.
	if _, err := globex.Conversations.Get(ctx, conv.ID); !isStatus(err, 404) {
		t.Errorf("another tenant's GET: %v, want 404", err)
	}
	if _, err := globex.Conversations.Items.List(ctx, conv.ID, conversations.ItemListParams{}); !isStatus(err, 404) {
		t.Errorf("another tenant's items: %v, want 404", err)
	}
	if _, err := globex.Responses.New(ctx, responses.ResponseNewParams{
		Model: "auto", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv.ID)},
	}); !isStatus(err, 404) {
		t.Errorf("another tenant's response in it: %v, want 404", err)
	}
	// Nor count it, nor compact it (the upstream account is shared).
	if _, err := globex.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("medium"),
		Input:        responses.InputTokenCountParamsInputUnion{OfString: openai.String("x")},
		Conversation: responses.InputTokenCountParamsConversationUnion{OfString: openai.String(conv.ID)},
	}); !isStatus(err, 404) {
		t.Errorf("another tenant's input_tokens in it: %v, want 404", err)
	}
	if _, err := globex.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{
		Input:        responses.InputTokenCountParamsInputUnion{OfString: openai.String("x")},
		Conversation: responses.InputTokenCountParamsConversationUnion{OfString: openai.String(conv.ID)},
	}); !isStatus(err, 404) {
		t.Errorf("another tenant's input_tokens in it, no model: %v, want 404", err)
	}
	if c, err := acme.Responses.InputTokens.Count(ctx, responses.InputTokenCountParams{Model: openai.String("medium"),
		Input:        responses.InputTokenCountParamsInputUnion{OfString: openai.String("x")},
		Conversation: responses.InputTokenCountParamsConversationUnion{OfString: openai.String(conv.ID)},
	}); err != nil || c.InputTokens <= 0 {
		t.Errorf("its own tenant's input_tokens in it: %+v %v", c, err)
	}
	cr, _ := http.NewRequest("POST", s.base+"/v1/responses/compact", strings.NewReader(`{"model":"medium","input":"x","conversation":"`+conv.ID+`"}`))
	cr.Header.Set("Authorization", "Bearer "+b.Secret)
	cr.Header.Set("Content-Type", "application/json")
	if resp, err := s.hc.Do(cr); err != nil || resp.StatusCode != 404 {
		t.Errorf("another tenant's compaction of it: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}
	// A model with no deployment of the holding provider.
	if _, err := acme.Responses.New(ctx, responses.ResponseNewParams{
		Model: "other-medium", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Conversation: responses.ResponseNewParamsConversationUnion{OfString: openai.String(conv.ID)},
	}); !isStatus(err, 400) {
		t.Errorf("a model of another provider: %v, want 400", err)
	}
	// Bad input is the gateway's to refuse.
	req, _ := http.NewRequest("POST", s.base+"/v1/conversations", strings.NewReader(`["not an object"]`))
	req.Header.Set("Authorization", "Bearer "+a.Secret)
	if resp, err := s.hc.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("array body: %v %v, want 400", resp, err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), `"error"`) {
			t.Errorf("array body: %s, want an OpenAI error", body)
		}
	}

	// Deleted, it is gone for its owner too.
	if d, err := acme.Conversations.Delete(ctx, conv.ID); err != nil || !d.Deleted {
		t.Fatalf("delete: %+v %v", d, err)
	}
	if _, err := acme.Conversations.Get(ctx, conv.ID); !isStatus(err, 404) {
		t.Errorf("after delete: %v, want 404", err)
	}
	if _, err := acme.Conversations.Get(ctx, "conv_unknown"); !isStatus(err, 404) {
		t.Errorf("unknown conversation: %v, want 404", err)
	}
}

// topic is the "topic" entry of a conversation's metadata (the SDK types
// it as any).
func topic(metadata any) string {
	m, _ := metadata.(map[string]any)
	v, _ := m["topic"].(string)
	return v
}

// TestConversationTurnsAreNotCached: with the response cache on, the same
// Responses request naming a conversation, sent twice, is two turns
// upstream (the conversation grows by both), never a hit.
func TestConversationTurnsAreNotCached(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, "cache: {backend: memory}\n"))
	a := s.newKey("acme", admin.KeyCreate{})
	c := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(a.Secret), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
	ctx := context.Background()
	conv, err := c.Conversations.New(ctx, conversations.ConversationNewParams{})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"medium","input":"Next stop?","conversation":"` + conv.ID + `"}`
	var ids []string
	for range 2 {
		code, out, h := s.send("/v1/responses", body, "Authorization", "Bearer "+a.Secret)
		if code != 200 || h.Get("X-Switchyard-Cache") != "" {
			t.Fatalf("got %d, cache %q: %s; want 200 and no cache", code, h.Get("X-Switchyard-Cache"), out)
		}
		ids = append(ids, gjson.Get(out, "id").Str)
	}
	if ids[0] == ids[1] {
		t.Errorf("both turns answered by response %s, want two", ids[0])
	}
	items, err := c.Conversations.Items.List(ctx, conv.ID, conversations.ItemListParams{})
	if err != nil || len(items.Data) != 4 {
		t.Errorf("got %d items (%v), want 4: two questions and two answers", len(items.Data), err)
	}
}

// TestBackgroundResponsesAreNotCached: a background Responses request is
// answered with a queued job, not the answer; with the response cache on,
// the same body sent twice starts two jobs, never a hit on the first.
func TestBackgroundResponsesAreNotCached(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, "cache: {backend: memory}\n"))
	a := s.newKey("acme", admin.KeyCreate{})
	body := `{"model":"medium","input":"Next stop?","background":true}`
	var ids []string
	for range 2 {
		code, out, h := s.send("/v1/responses", body, "Authorization", "Bearer "+a.Secret)
		if code != 200 || h.Get("X-Switchyard-Cache") != "" {
			t.Fatalf("got %d, cache %q: %s; want 200 and no cache", code, h.Get("X-Switchyard-Cache"), out)
		}
		ids = append(ids, gjson.Get(out, "id").Str)
	}
	if ids[0] == ids[1] {
		t.Errorf("both requests answered by response %s, want two jobs", ids[0])
	}
}
