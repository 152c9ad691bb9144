package gateway

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/cache"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestKeptConversationOfEarlierVersions: an entry kept before the response
// object was (the conversation alone, as one array) still continues a
// conversation, and is not retrievable.
func TestKeptConversationOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	g := &Gateway{affinity: cache.NewMemory(1<<20, nil), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	old := `[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]`
	if err := g.affinity.Set(ctx, conversationKey("t1", "resp_old"), &cache.Entry{Body: []byte(old)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	k := g.keptTranslated(ctx, "t1", "resp_old")
	if k == nil || k.Response != nil || string(k.conversation()) != old {
		t.Fatalf("kept %+v, want the old conversation and no response object", k)
	}
	req := &llm.Request{Continues: "resp_old", Raw: []byte(`{"model":"m","input":"And?","previous_response_id":"resp_old"}`)}
	body, ok := g.continueTranslated(ctx, "t1", req)
	if !ok || gjson.GetBytes(body, "previous_response_id").Exists() || gjson.GetBytes(body, "input.#").Int() != 3 ||
		gjson.GetBytes(body, "input.2.content").Str != "And?" {
		t.Fatalf("continued %s, %v", body, ok)
	}
	if g.keptTranslated(ctx, "t2", "resp_old") != nil {
		t.Error("another tenant's lookup found the entry")
	}
	// Unreadable entries are misses, not errors for the client.
	_ = g.affinity.Set(ctx, conversationKey("t1", "resp_bad"), &cache.Entry{Body: []byte(`{"input":`)}, time.Minute)
	if g.keptTranslated(ctx, "t1", "resp_bad") != nil {
		t.Error("an unreadable entry was used")
	}
}
