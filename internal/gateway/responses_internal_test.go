package gateway

import (
	"context"
	"errors"
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
	k, err := g.keptTranslated(ctx, "t1", "resp_old")
	if err != nil || k == nil || k.Response != nil || string(k.conversation()) != old {
		t.Fatalf("kept %+v, want the old conversation and no response object", k)
	}
	req := &llm.Request{Continues: "resp_old", Raw: []byte(`{"model":"m","input":"And?","previous_response_id":"resp_old"}`)}
	body, ok, e := g.continueTranslated(ctx, "t1", req)
	if !ok || e != nil || gjson.GetBytes(body, "previous_response_id").Exists() || gjson.GetBytes(body, "input.#").Int() != 3 ||
		gjson.GetBytes(body, "input.2.content").Str != "And?" {
		t.Fatalf("continued %s, %v", body, ok)
	}
	if k, _ := g.keptTranslated(ctx, "t2", "resp_old"); k != nil {
		t.Error("another tenant's lookup found the entry")
	}
	// Unreadable entries are misses, not errors for the client.
	_ = g.affinity.Set(ctx, conversationKey("t1", "resp_bad"), &cache.Entry{Body: []byte(`{"input":`)}, time.Minute)
	if k, err := g.keptTranslated(ctx, "t1", "resp_bad"); k != nil || err != nil {
		t.Error("an unreadable entry was used")
	}
}

// failingStore is a cache.Store whose every call fails, as Redis down.
type failingStore struct{}

var errDown = errors.New("connection refused")

func (failingStore) Get(context.Context, string) (*cache.Entry, error)              { return nil, errDown }
func (failingStore) Set(context.Context, string, *cache.Entry, time.Duration) error { return errDown }
func (failingStore) Purge(context.Context, string) (int, error)                     { return 0, errDown }
func (failingStore) Delete(context.Context, string) (bool, error)                   { return false, errDown }

// TestResponseStoreDown: when the store of responses fails, a lookup says
// so (an error, for a 503), instead of "unknown" (a 404, or a follow-up
// refused as if its response were an OpenAI one).
func TestResponseStoreDown(t *testing.T) {
	ctx := context.Background()
	g := &Gateway{affinity: failingStore{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if k, err := g.keptTranslated(ctx, "t1", "resp_x"); k != nil || err == nil {
		t.Errorf("keptTranslated = %v, %v; want an error", k, err)
	}
	if dep, err := g.responseDeployment(ctx, "t1", "resp_x"); dep != "" || err == nil {
		t.Errorf("responseDeployment = %q, %v; want an error", dep, err)
	}
	req := &llm.Request{Continues: "resp_x", Raw: []byte(`{"model":"m","input":"And?","previous_response_id":"resp_x"}`)}
	if _, ok, e := g.continueTranslated(ctx, "t1", req); ok || e == nil || e.status != 503 {
		t.Errorf("continueTranslated: %v, %+v; want a 503", ok, e)
	}
}
