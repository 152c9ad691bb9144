package app

import (
	"context"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// TestStoredCompletions: the official Go SDK's stored chat completions
// through the gateway. A store: true completion relayed from an OpenAI
// deployment (streamed or not) is the tenant's: it can get, update, list
// and delete it and list its messages; another tenant cannot see it, nor
// find it in its list; a completion translated for Anthropic is stored
// nowhere, and one made without store is not either.
func TestStoredCompletions(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	a := s.newKey("acme", admin.KeyCreate{})
	b := s.newKey("globex", admin.KeyCreate{})
	client := func(key string) *openai.Client {
		c := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(key), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
		return &c
	}
	acme, globex := client(a.Secret), client(b.Secret)
	ctx := context.Background()
	ask := func(c *openai.Client, model string, store bool, q string) string {
		t.Helper()
		params := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(q)},
			Metadata: shared.Metadata{"topic": "trains"}}
		if store {
			params.Store = openai.Bool(true)
		}
		resp, err := c.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		return resp.ID
	}
	kept := ask(acme, "medium", true, "Which platform for the coast?")
	streamed := func() string {
		st := acme.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "small", Store: openai.Bool(true),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("And the return?")}})
		id := ""
		for st.Next() {
			id = st.Current().ID
		}
		if err := st.Err(); err != nil || id == "" {
			t.Fatalf("stream: %q %v", id, err)
		}
		return id
	}()
	unstored := ask(acme, "medium", false, "Not kept.")
	translated := ask(acme, "claude", true, "Kept nowhere upstream.")
	ask(globex, "medium", true, "Globex's own.")

	got, err := acme.Chat.Completions.Get(ctx, kept)
	if err != nil || got.ID != kept || len(got.Choices) == 0 || got.Choices[0].Message.Content == "" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := acme.Chat.Completions.Get(ctx, streamed); err != nil {
		t.Errorf("get the streamed one: %v", err)
	}
	for what, id := range map[string]string{"unstored": unstored, "translated": translated} {
		if _, err := acme.Chat.Completions.Get(ctx, id); !isStatus(err, 404) {
			t.Errorf("%s: %v, want 404", what, err)
		}
	}
	if _, err := globex.Chat.Completions.Get(ctx, kept); !isStatus(err, 404) {
		t.Errorf("another tenant's get: %v, want 404", err)
	}
	msgs, err := acme.Chat.Completions.Messages.List(ctx, kept, openai.ChatCompletionMessageListParams{})
	if err != nil || len(msgs.Data) != 1 || msgs.Data[0].Content != "Which platform for the coast?" {
		t.Errorf("messages: %+v %v", msgs, err)
	}
	if _, err := acme.Chat.Completions.Update(ctx, kept, openai.ChatCompletionUpdateParams{Metadata: shared.Metadata{"topic": "ferries"}}); err != nil {
		t.Errorf("update: %v", err)
	}
	page, err := acme.Chat.Completions.List(ctx, openai.ChatCompletionListParams{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range page.Data {
		ids[c.ID] = true
	}
	if len(ids) != 2 || !ids[kept] || !ids[streamed] {
		t.Errorf("acme's list %v, want its two stored completions only", ids)
	}
	if page, err := globex.Chat.Completions.List(ctx, openai.ChatCompletionListParams{}); err != nil || len(page.Data) != 1 {
		t.Errorf("globex's list: %d %v, want its one", len(page.Data), err)
	}
	if _, err := globex.Chat.Completions.Delete(ctx, kept); !isStatus(err, 404) {
		t.Errorf("another tenant's delete: %v, want 404", err)
	}
	if d, err := acme.Chat.Completions.Delete(ctx, kept); err != nil || !d.Deleted {
		t.Fatalf("delete: %+v %v", d, err)
	}
	if _, err := acme.Chat.Completions.Get(ctx, kept); !isStatus(err, 404) {
		t.Errorf("after delete: %v, want 404", err)
	}
}
