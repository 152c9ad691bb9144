package app

import (
	"bytes"
	"context"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// TestBatchExpiresAfterWithOpenAISDK: the OpenAI Go SDK's
// FileNewParams.ExpiresAfter and BatchNewParams.OutputExpiresAfter set the
// expiry of the upload and of the batch's output file, and its
// FileListParams.Order asc lists oldest first.
func TestBatchExpiresAfterWithOpenAISDK(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	k := s.newKey("acme", admin.KeyCreate{Name: "batcher"})
	c := s.sdkFor(k.Secret)
	ctx := context.Background()
	input := jsonl([2]string{"one", "cheap"})
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(bytes.NewReader(input), "in.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeBatch, ExpiresAfter: openai.FileNewParamsExpiresAfter{Seconds: 3600}})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if f.ExpiresAt-f.CreatedAt != 3600 {
		t.Errorf("upload with ExpiresAfter 3600 s: expires_at - created_at = %d", f.ExpiresAt-f.CreatedAt)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, OutputExpiresAfter: openai.BatchNewParamsOutputExpiresAfter{Seconds: 7200}})
	if err != nil {
		t.Fatalf("create batch: %v", err)
	}
	b = awaitBatch(t, c, b.ID)
	out, err := c.Files.Get(ctx, b.OutputFileID)
	if err != nil {
		t.Fatalf("output file: %v", err)
	}
	if out.ExpiresAt-out.CreatedAt != 7200 {
		t.Errorf("output file with OutputExpiresAfter 7200 s: expires_at - created_at = %d", out.ExpiresAt-out.CreatedAt)
	}
	page, err := c.Files.List(ctx, openai.FileListParams{Order: openai.FileListParamsOrderAsc})
	if err != nil {
		t.Fatalf("list files asc: %v", err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != f.ID || page.Data[1].ID != out.ID {
		t.Errorf("list files asc: got %+v, want the upload then the output", page.Data)
	}
}
