package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// anthropicFor is an Anthropic SDK client of the tenant stack with key.
func (s *tenantStack) anthropicFor(key string) anthropic.Client {
	return anthropic.NewClient(aoption.WithBaseURL(s.base), aoption.WithAPIKey(key), aoption.WithHTTPClient(s.hc), aoption.WithMaxRetries(0))
}

func msgRequest(id, model string) anthropic.MessageBatchNewParamsRequest {
	return anthropic.MessageBatchNewParamsRequest{CustomID: id, Params: anthropic.MessageBatchNewParamsRequestParams{
		Model: anthropic.Model(model), MaxTokens: 30,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("tell me about " + id))},
	}}
}

// awaitMsgBatch polls until the batch has ended.
func awaitMsgBatch(t *testing.T, c anthropic.Client, id string) *anthropic.MessageBatch {
	t.Helper()
	var b *anthropic.MessageBatch
	waitForT(t, "message batch "+id+" to end", func() bool {
		var err error
		if b, err = c.Messages.Batches.Get(context.Background(), id, anthropic.MessageBatchGetParams{}); err != nil {
			t.Fatalf("get: %v", err)
		}
		return b.ProcessingStatus == anthropic.MessageBatchProcessingStatusEnded
	}, func() string { return string(b.ProcessingStatus) })
	return b
}

func TestMessageBatchesWithAnthropicSDK(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	ka := s.newKey("acme", admin.KeyCreate{Name: "a"})
	a, other := s.anthropicFor(ka.Secret), s.anthropicFor(s.newKey("globex", admin.KeyCreate{Name: "b"}).Secret)
	ctx := context.Background()

	b, err := a.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{
		msgRequest("one", "anthropic-first"), msgRequest("two", "no-such-route"), msgRequest("three", "claude"),
	}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(b.ID, "msgbatch_") || b.ProcessingStatus != "in_progress" || b.RequestCounts.Processing != 3 || b.ExpiresAt.Sub(b.CreatedAt) != 24*time.Hour {
		t.Errorf("new batch: got %+v", b)
	}
	b = awaitMsgBatch(t, a, b.ID)
	if c := b.RequestCounts; c.Succeeded != 2 || c.Errored != 1 || c.Processing != 0 || b.EndedAt.IsZero() || !strings.HasSuffix(b.ResultsURL, "/v1/messages/batches/"+b.ID+"/results") {
		t.Fatalf("ended batch: got %+v", b)
	}
	got := map[string]anthropic.MessageBatchIndividualResponse{}
	stream := a.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
	var order []string
	for stream.Next() {
		r := stream.Current()
		got[r.CustomID] = r
		order = append(order, r.CustomID)
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("results: %v", err)
	}
	if strings.Join(order, ",") != "one,two,three" {
		t.Errorf("results order: got %v, want one,two,three", order)
	}
	for _, id := range []string{"one", "three"} {
		r := got[id].Result
		if r.Type != "succeeded" || len(r.Message.Content) == 0 || r.Message.Content[0].Text == "" {
			t.Errorf("result %s: got %+v, want succeeded with a message", id, r)
		}
	}
	if r := got["two"].Result; r.Type != "errored" || r.Error.Error.Type != "not_found_error" {
		t.Errorf("result two: got %s %+v, want errored not_found_error", r.Type, r.Error)
	}

	// Lists: the tenant's own batches only, and no OpenAI file shows them.
	if page, err := a.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{}); err != nil || len(page.Data) != 1 || page.Data[0].ID != b.ID {
		t.Errorf("list: got %+v, %v", page, err)
	}
	if page, err := other.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{}); err != nil || len(page.Data) != 0 {
		t.Errorf("another tenant's list: got %+v, %v", page, err)
	}
	oa := s.sdkFor(ka.Secret)
	if files, err := oa.Files.List(ctx, openai.FileListParams{}); err != nil || len(files.Data) != 0 {
		t.Errorf("OpenAI file list: got %+v, %v; want the message batch's files hidden", files, err)
	}
	var apiErr *anthropic.Error
	if _, err := other.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another tenant's get: got %v, want 404", err)
	}
	if _, err := oa.Batches.Get(ctx, b.ID); err == nil {
		t.Errorf("the OpenAI Batch API found a message batch; want 404")
	}

	// Delete: gone, with its files.
	if d, err := a.Messages.Batches.Delete(ctx, b.ID, anthropic.MessageBatchDeleteParams{}); err != nil || d.ID != b.ID {
		t.Fatalf("delete: got %+v, %v", d, err)
	}
	if _, err := a.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("get after delete: got %v, want 404", err)
	}

	// A bad request refuses the whole batch with a 400.
	for name, reqs := range map[string][]anthropic.MessageBatchNewParamsRequest{
		"duplicate custom_id": {msgRequest("x", "claude"), msgRequest("x", "claude")},
		"bad custom_id":       {msgRequest("has space", "claude")},
		"no requests":         {},
	} {
		if _, err := a.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: reqs}); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
			t.Errorf("%s: got %v, want 400", name, err)
		}
	}
}

func TestMessageBatchCancel(t *testing.T) {
	s := startTenantStack(t, startSim(t, slowSim(40*time.Millisecond)), sqliteExtra(t, "batch: {concurrency: 1}\n"))
	key := s.newKey("acme", admin.KeyCreate{Name: "k"}).Secret
	c := s.anthropicFor(key)
	ctx := context.Background()
	var reqs []anthropic.MessageBatchNewParamsRequest
	for i := range 30 {
		reqs = append(reqs, msgRequest(fmt.Sprintf("r%d", i), "claude"))
	}
	b, err := c.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: reqs})
	if err != nil {
		t.Fatal(err)
	}
	// Results are refused until the batch has ended.
	resp, body := getWithKey(t, s, "/v1/messages/batches/"+b.ID+"/results", key)
	if resp.StatusCode != 400 || !strings.Contains(body, "invalid_request_error") {
		t.Errorf("results while running: got %d %s, want 400 invalid_request_error", resp.StatusCode, body)
	}
	waitForT(t, "the first answer", func() bool {
		cur, err := c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{})
		return err == nil && cur.RequestCounts.Succeeded > 0
	}, func() string { return "" })
	cb, err := c.Messages.Batches.Cancel(ctx, b.ID, anthropic.MessageBatchCancelParams{})
	if err != nil || cb.CancelInitiatedAt.IsZero() {
		t.Fatalf("cancel: got %+v, %v", cb, err)
	}
	b = awaitMsgBatch(t, c, b.ID)
	n := b.RequestCounts
	if n.Succeeded == 0 || n.Canceled == 0 || n.Succeeded+n.Canceled != 30 {
		t.Fatalf("cancelled batch counts: got %+v, want some succeeded and the rest canceled", n)
	}
	stream := c.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
	types := map[string]int64{}
	for stream.Next() {
		types[stream.Current().Result.Type]++
	}
	if err := stream.Err(); err != nil || types["succeeded"] != n.Succeeded || types["canceled"] != n.Canceled {
		t.Errorf("results: got %v, %v; want %d succeeded and %d canceled", types, err, n.Succeeded, n.Canceled)
	}
}

// getWithKey GETs path with an Anthropic-style key header.
func getWithKey(t *testing.T, s *tenantStack, path, key string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestMessageBatchesPaging pages through a tenant's message batches with
// the Anthropic SDK's after_id and before_id, newest first.
func TestMessageBatchesPaging(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	c := s.anthropicFor(s.newKey("acme", admin.KeyCreate{Name: "a"}).Secret)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		b, err := c.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{msgRequest(fmt.Sprintf("r%d", i), "claude")}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	// Lists are in ID order: creation order, within one process even in
	// one millisecond.
	if !slices.IsSorted(ids) {
		t.Fatalf("batch IDs %v do not sort in creation order", ids)
	}
	list := func(p anthropic.MessageBatchListParams) ([]string, bool) {
		t.Helper()
		page, err := c.Messages.Batches.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range page.Data {
			got = append(got, b.ID)
		}
		return got, page.HasMore
	}
	check := func(what string, got []string, more bool, want []string, wantMore bool) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") || more != wantMore {
			t.Errorf("%s: got %v (has_more %v), want %v (has_more %v)", what, got, more, want, wantMore)
		}
	}
	got, more := list(anthropic.MessageBatchListParams{Limit: anthropic.Int(2)})
	check("first page", got, more, []string{ids[2], ids[1]}, true)
	got, more = list(anthropic.MessageBatchListParams{Limit: anthropic.Int(2), AfterID: anthropic.String(ids[1])})
	check("after_id", got, more, []string{ids[0]}, false)
	got, more = list(anthropic.MessageBatchListParams{Limit: anthropic.Int(1), BeforeID: anthropic.String(ids[0])})
	check("before_id, a newer one left", got, more, []string{ids[1]}, true)
	got, more = list(anthropic.MessageBatchListParams{Limit: anthropic.Int(5), BeforeID: anthropic.String(ids[0])})
	check("before_id, all newer", got, more, []string{ids[2], ids[1]}, false)
	var apiErr *anthropic.Error
	if _, err := c.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{BeforeID: anthropic.String(ids[0]), AfterID: anthropic.String(ids[2])}); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("before_id and after_id: got %v, want 400", err)
	}
}
