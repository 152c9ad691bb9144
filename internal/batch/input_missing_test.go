package batch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestRunInputMissingKeepsAnsweredLines: a batch resumed after its input
// file went (a delete that raced the batch) keeps the lines answered
// before, which were paid for: it fails with input_file_missing, and its
// output and error files and request_counts hold those lines.
func TestRunInputMissingKeepsAnsweredLines(t *testing.T) {
	f := newRunFixture(t, 4, 24*time.Hour)
	ctx := context.Background()
	for i, ok := range []bool{true, false} {
		data := fmt.Sprintf(`{"id":"batch_req_run_%d","custom_id":"l%d","response":{"status_code":200,"request_id":"req_x","body":{}},"error":null}`, i, i)
		if err := f.st.PutBatchResult(ctx, f.id, store.BatchResult{Line: i, OK: ok, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.DeleteFile(ctx, "t", "file-in"); err != nil {
		t.Fatal(err)
	}
	r := f.runner("me", 2, time.Hour, answer)
	if err := r.Run(ctx, f.id); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := f.servedCount(); n != 0 {
		t.Errorf("served %d lines, want 0: there is no input to run", n)
	}
	b := f.status(t)
	o, err := decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != store.BatchFailed || o.Errors == nil || o.Errors.Data[0].Code != "input_file_missing" || o.FailedAt == nil {
		t.Fatalf("status %s errors %+v, want failed with input_file_missing", b.Status, o.Errors)
	}
	if c := o.RequestCounts; c.Total != 4 || c.Completed != 1 || c.Failed != 1 {
		t.Errorf("request_counts %+v, want total 4, completed 1, failed 1", c)
	}
	for _, id := range []*string{o.OutputFileID, o.ErrorFileID} {
		if id == nil {
			t.Fatalf("output file %v, error file %v: want both, with the answered lines", o.OutputFileID, o.ErrorFileID)
		}
		content, err := f.st.FileContent(ctx, "t", *id)
		if err != nil || strings.Count(string(content), "\n") != 1 {
			t.Errorf("file %s: %q %v, want one line", *id, content, err)
		}
	}
}
