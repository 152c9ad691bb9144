package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/batch/natstest"
	"github.com/switchyard-gw/switchyard/internal/sim"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// sdkFor is an OpenAI SDK client of the tenant stack with key.
func (s *tenantStack) sdkFor(key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(key), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
}

// jsonl is one batch input line per custom id and chat model.
func jsonl(lines ...[2]string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		fmt.Fprintf(&b, `{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"model":%q,"max_tokens":20,"messages":[{"role":"user","content":"say something about %s"}]}}`+"\n", l[0], l[1], l[0])
	}
	return b.Bytes()
}

// runBatch uploads input, creates a chat batch over it and returns it.
func runBatch(t *testing.T, c openai.Client, input []byte) *openai.Batch {
	t.Helper()
	ctx := context.Background()
	f, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(bytes.NewReader(input), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if f.Bytes != int64(len(input)) || f.Purpose != "batch" || f.Filename != "in.jsonl" {
		t.Errorf("file object: got %+v", f)
	}
	b, err := c.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h, Metadata: map[string]string{"job": "nightly"}})
	if err != nil {
		t.Fatalf("create batch: %v", err)
	}
	if b.Status != "validating" || b.InputFileID != f.ID || b.Metadata["job"] != "nightly" {
		t.Errorf("new batch: got status %q input %q metadata %v", b.Status, b.InputFileID, b.Metadata)
	}
	return b
}

// slowSim is fastSim with every model answering after d.
func slowSim(d time.Duration) sim.Config {
	cfg := fastSim()
	for i := range cfg.Models {
		cfg.Models[i].Latency = d
	}
	return cfg
}

// startedBatch runs an n-line chat batch and waits for its first answer.
func startedBatch(t *testing.T, c openai.Client, n int) *openai.Batch {
	t.Helper()
	var lines [][2]string
	for i := range n {
		lines = append(lines, [2]string{fmt.Sprintf("l%d", i), "cheap"})
	}
	b := runBatch(t, c, jsonl(lines...))
	waitForT(t, "the first answer", func() bool {
		cur, err := c.Batches.Get(context.Background(), b.ID)
		return err == nil && cur.RequestCounts.Completed > 0
	}, func() string { return "" })
	return b
}

// awaitBatch polls the batch until it reaches a final status.
func awaitBatch(t *testing.T, c openai.Client, id string) *openai.Batch {
	t.Helper()
	var b *openai.Batch
	waitForT(t, "batch "+id+" to finish", func() bool {
		var err error
		b, err = c.Batches.Get(context.Background(), id)
		if err != nil {
			t.Fatalf("get batch: %v", err)
		}
		return !store.Unfinished(string(b.Status))
	}, func() string { return string(b.Status) })
	return b
}

type outLine struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// fileLines downloads a file with the SDK and parses its JSONL lines.
func fileLines(t *testing.T, c openai.Client, id string) []outLine {
	t.Helper()
	resp, err := c.Files.Content(context.Background(), id)
	if err != nil {
		t.Fatalf("file content %s: %v", id, err)
	}
	defer resp.Body.Close()
	var out []outLine
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l outLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func TestBatchWithOpenAISDK(t *testing.T) {
	simURL := startSim(t, fastSim())
	extra := sqliteExtra(t, "")
	s := startTenantStack(t, simURL, extra)
	ka := s.newKey("acme", admin.KeyCreate{Name: "batcher"})
	kb := s.newKey("globex", admin.KeyCreate{Name: "other"})
	a, other := s.sdkFor(ka.Secret), s.sdkFor(kb.Secret)

	b := runBatch(t, a, jsonl([2]string{"first", "cheap"}, [2]string{"unknown", "no-such-route"}, [2]string{"third", "auto"}))
	b = awaitBatch(t, a, b.ID)
	if b.Status != "completed" || b.RequestCounts.Total != 3 || b.RequestCounts.Completed != 2 || b.RequestCounts.Failed != 1 {
		t.Fatalf("finished batch: got status %q counts %+v, want completed 3/2/1", b.Status, b.RequestCounts)
	}
	if b.InProgressAt == 0 || b.FinalizingAt == 0 || b.CompletedAt == 0 || b.OutputFileID == "" || b.ErrorFileID == "" {
		t.Errorf("finished batch: got %+v, want its times and both files", b)
	}
	// Cancelling a completed batch is a 409 the SDKs must not retry, as
	// they do other 409s (found by audit AD).
	_, err := a.Batches.Cancel(context.Background(), b.ID)
	var cancelErr *openai.Error
	if !errors.As(err, &cancelErr) || cancelErr.StatusCode != 409 || cancelErr.Response.Header.Get("X-Should-Retry") != "false" {
		t.Errorf("cancel of a completed batch: got %v, want 409 with X-Should-Retry: false", err)
	}
	out := fileLines(t, a, b.OutputFileID)
	if len(out) != 2 || out[0].CustomID != "first" || out[1].CustomID != "third" {
		t.Fatalf("output file: got %+v, want the lines first and third in order", out)
	}
	requestIDs := map[string]bool{}
	var in, outTokens int64
	for _, l := range out {
		var chat openai.ChatCompletion
		if l.Response == nil || l.Response.StatusCode != 200 || json.Unmarshal(l.Response.Body, &chat) != nil || len(chat.Choices) == 0 || chat.Choices[0].Message.Content == "" {
			t.Errorf("output line %s: got %+v, want a 200 with a chat completion", l.CustomID, l.Response)
			continue
		}
		in, outTokens = in+chat.Usage.PromptTokens, outTokens+chat.Usage.CompletionTokens
		if !strings.HasPrefix(l.ID, "batch_req_") || !strings.HasPrefix(l.Response.RequestID, "req_") {
			t.Errorf("output line ids: got %q and %q", l.ID, l.Response.RequestID)
		}
		requestIDs[l.Response.RequestID] = true
	}
	if u := b.Usage; in == 0 || u.InputTokens != in || u.OutputTokens != outTokens || u.TotalTokens != in+outTokens {
		t.Errorf("batch usage: got %+v, want the output lines' %d input and %d output tokens", u, in, outTokens)
	}
	if b.Model != "" {
		t.Errorf("batch model: got %q, want none (the lines name different models)", b.Model)
	}
	errs := fileLines(t, a, b.ErrorFileID)
	if len(errs) != 1 || errs[0].CustomID != "unknown" || errs[0].Response == nil || errs[0].Response.StatusCode != 404 ||
		!strings.Contains(string(errs[0].Response.Body), "model_not_found") {
		t.Errorf("error file: got %+v, want the unknown route's 404 model_not_found", errs)
	}

	// Lists, newest first, only the tenant's own.
	if page, err := a.Batches.List(context.Background(), openai.BatchListParams{}); err != nil || len(page.Data) != 1 || page.Data[0].ID != b.ID {
		t.Errorf("list batches: got %+v, %v", page, err)
	}
	files, err := a.Files.List(context.Background(), openai.FileListParams{})
	if err != nil || len(files.Data) != 3 {
		t.Errorf("list files: got %+v, %v; want input, output and error", files, err)
	}
	if page, err := other.Batches.List(context.Background(), openai.BatchListParams{}); err != nil || len(page.Data) != 0 {
		t.Errorf("another tenant's batch list: got %+v, %v; want empty", page, err)
	}

	// Another tenant can neither see nor read them.
	var apiErr *openai.Error
	if _, err := other.Batches.Get(context.Background(), b.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another tenant's GET batch: got %v, want 404", err)
	}
	if _, err := other.Files.Content(context.Background(), b.OutputFileID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another tenant's file content: got %v, want 404", err)
	}
	if _, err := other.Batches.Cancel(context.Background(), b.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("another tenant's cancel: got %v, want 404", err)
	}
	// A finished batch cannot be cancelled.
	if _, err := a.Batches.Cancel(context.Background(), b.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 409 {
		t.Errorf("cancel a completed batch: got %v, want 409", err)
	}
	if d, err := a.Files.Delete(context.Background(), b.InputFileID); err != nil || !d.Deleted {
		t.Errorf("delete file: got %+v, %v", d, err)
	}
	if _, err := a.Files.Get(context.Background(), b.InputFileID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("get a deleted file: got %v, want 404", err)
	}

	metrics := s.scrape()
	for _, want := range []string{`switchyard_batches_total{status="completed"} 1`, `switchyard_batch_lines_total{result="ok"} 2`, `switchyard_batch_lines_total{result="error"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics: want %s", want)
		}
	}

	// Every line has its usage record, charged to the batch's key.
	s.stop()
	var lines int
	for _, r := range usageRecords(t, storeOf(t, extra)) {
		if requestIDs[r.RequestID] {
			lines++
			if r.KeyID != ka.ID || r.TenantID != "acme" || r.Status != 200 || r.CostUSD <= 0 {
				t.Errorf("usage record of a batch line: got %+v", r)
			}
		}
	}
	if lines != 2 {
		t.Errorf("usage records of the output lines: got %d, want 2", lines)
	}
}

func TestBatchInvalidInputFails(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startTenantStack(t, simURL, sqliteExtra(t, ""))
	key := s.newKey("acme", admin.KeyCreate{Name: "k"}).Secret
	c := s.sdkFor(key)
	input := append(jsonl([2]string{"a", "cheap"}, [2]string{"a", "cheap"}), []byte("not json\n"+
		`{"custom_id":"s","method":"POST","url":"/v1/chat/completions","body":{"model":"cheap","stream":true,"messages":[]}}`+"\n"+
		`{"custom_id":"u","method":"POST","url":"/v1/embeddings","body":{"model":"embed","input":"x"}}`+"\n")...)
	b := awaitBatch(t, c, runBatch(t, c, input).ID)
	if b.Status != "failed" || b.FailedAt == 0 {
		t.Fatalf("got status %q, want failed", b.Status)
	}
	want := map[int64]string{2: "duplicate_custom_id", 3: "invalid_json_line", 4: "invalid_body", 5: "mismatched_url"}
	got := map[int64]string{}
	for _, e := range b.Errors.Data {
		got[e.Line] = e.Code
	}
	for line, code := range want {
		if got[line] != code {
			t.Errorf("line %d: got error %q, want %q (all: %+v)", line, got[line], code, b.Errors.Data)
		}
	}

	// Bad requests to the API itself are answered in OpenAI's format.
	for _, tc := range []struct{ body, want string }{
		{`{"input_file_id":"file-x","endpoint":"/v1/chat/completions","completion_window":"24h"}`, "404 not_found"},
		{`{"input_file_id":"file-x","endpoint":"/v1/audio/speech","completion_window":"24h"}`, "400 invalid_value"},
		{`{"input_file_id":"file-x","endpoint":"/v1/chat/completions","completion_window":"1h"}`, "400 invalid_value"},
		{`{"endpoint":"/v1/chat/completions","completion_window":"24h"}`, "400 missing_required_parameter"},
		{`{nope`, "400 invalid_request_error"},
		{`{"input_file_id":"file-x","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{"k":"` + strings.Repeat("x", 70<<10) + `"}}`, "413 request_too_large"},
	} {
		resp, body := postJSON(t, s.hc, s.base+"/v1/batches", tc.body, "Authorization", "Bearer "+key)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if got := fmt.Sprintf("%d %s", resp.StatusCode, e.Error.Code); got != tc.want {
			t.Errorf("POST /v1/batches %s: got %s (%s), want %s", tc.body, got, body, tc.want)
		}
	}
	var apiErr *openai.Error
	_, err := c.Files.New(context.Background(), openai.FileNewParams{File: openai.File(strings.NewReader("x"), "a.txt", "text/plain"), Purpose: openai.FilePurposeAssistants})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "unsupported_purpose" {
		t.Errorf("upload with purpose assistants: got %v, want 400 unsupported_purpose", err)
	}
	wrong := s.sdkFor("sk-wrong")
	if _, err := wrong.Batches.List(context.Background(), openai.BatchListParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("list with a wrong key: got %v, want 401", err)
	}
}

func TestBatchCancel(t *testing.T) {
	s := startTenantStack(t, startSim(t, slowSim(40*time.Millisecond)), sqliteExtra(t, "batch: {concurrency: 2}\n"))
	c := s.sdkFor(s.newKey("acme", admin.KeyCreate{Name: "k"}).Secret)
	b := startedBatch(t, c, 60)
	cb, err := c.Batches.Cancel(context.Background(), b.ID)
	if err != nil || (cb.Status != "cancelling" && cb.Status != "cancelled") {
		t.Fatalf("cancel: got %+v, %v", cb, err)
	}
	b = awaitBatch(t, c, b.ID)
	if b.Status != "cancelled" || b.CancelledAt == 0 || b.CancellingAt == 0 {
		t.Fatalf("got status %q, want cancelled with its times", b.Status)
	}
	if n := b.RequestCounts.Completed; n == 0 || n >= 60 || b.OutputFileID == "" {
		t.Errorf("cancelled batch: got %d completed, output %q; want some of 60, in the output file", n, b.OutputFileID)
	}
	if out := fileLines(t, c, b.OutputFileID); int64(len(out)) != b.RequestCounts.Completed {
		t.Errorf("output file: got %d lines, want %d", len(out), b.RequestCounts.Completed)
	}
	if b.Model != "cheap" || b.Usage.TotalTokens == 0 {
		t.Errorf("cancelled batch: model %q usage %+v, want cheap (every line's) and the answered lines' tokens", b.Model, b.Usage)
	}
}

// TestBatchResumesAfterRestart stores a batch that a replica left half
// done (two of four lines answered) and starts the gateway: the embedded
// queue resumes it, runs only the two missing lines, and writes all four.
func TestBatchResumesAfterRestart(t *testing.T) {
	simSrv, simURL, stopSim, err := sim.Start(fastSim())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSim)
	extra := sqliteExtra(t, "")
	st := storeOf(t, extra)
	ctx := context.Background()
	now := time.Now()
	input := jsonl([2]string{"a", "cheap"}, [2]string{"b", "cheap"}, [2]string{"c", "cheap"}, [2]string{"d", "cheap"})
	f := store.File{ID: store.NewSortableID("file-", now), TenantID: "", Purpose: "batch", Filename: "in.jsonl", Bytes: int64(len(input)), Created: now}
	if err := st.CreateFile(ctx, f, input); err != nil {
		t.Fatal(err)
	}
	id := store.NewSortableID("batch_", now)
	doc := fmt.Sprintf(`{"endpoint":"/v1/chat/completions","input_file_id":%q,"completion_window":"24h","created_at":%d,"in_progress_at":%d,"expires_at":%d,"request_counts":{"total":4,"completed":0,"failed":0}}`,
		f.ID, now.Unix(), now.Unix(), now.Add(24*time.Hour).Unix())
	if err := st.CreateBatch(ctx, store.Batch{ID: id, Status: store.BatchInProgress, Created: now, Doc: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		line := fmt.Sprintf(`{"id":"batch_req_x_%d","custom_id":"%c","response":{"status_code":200,"request_id":"req_earlier","body":{}},"error":null}`, i, 'a'+i)
		if err := st.PutBatchResult(ctx, id, store.BatchResult{Line: i, OK: true, Data: []byte(line)}); err != nil {
			t.Fatal(err)
		}
	}
	// An open gateway (no keys, no admin API): the batch belongs to the
	// anonymous tenant, as one created there would.
	s := startTenantStack(t, simURL, strings.Replace(extra, "key: "+canaryAdmin, "key: ''", 1))
	c := s.sdkFor("unused")
	b := awaitBatch(t, c, id)
	if b.Status != "completed" || b.RequestCounts.Completed != 4 {
		t.Fatalf("resumed batch: got %q %+v, want completed with 4", b.Status, b.RequestCounts)
	}
	var ids []string
	for _, l := range fileLines(t, c, b.OutputFileID) {
		ids = append(ids, l.CustomID)
	}
	if strings.Join(ids, ",") != "a,b,c,d" {
		t.Errorf("output custom ids: got %v, want a,b,c,d in line order", ids)
	}
	var calls int
	for _, m := range []string{"sim-small", "sim-medium", "sim-large"} {
		calls += len(simSrv.Calls(m))
	}
	if calls != 2 {
		t.Errorf("model calls: got %d, want 2 (only the lines without a result)", calls)
	}
}

// TestBatchThroughNATS runs two replicas on one store and one JetStream
// queue: a batch created on one is finished (by whichever replica the
// queue gives it to) and readable from both.
func TestBatchThroughNATS(t *testing.T) {
	stream := natstest.Stream(t)
	simURL := startSim(t, fastSim())
	extra := sqliteExtra(t, fmt.Sprintf("batch: {queue: %s, stream: %s}\n", natstest.URL, stream))
	r1 := startTenantStack(t, simURL, extra)
	r2 := startTenantStack(t, simURL, extra)
	key := r1.newKey("acme", admin.KeyCreate{Name: "k"}).Secret
	c1, c2 := r1.sdkFor(key), r2.sdkFor(key)
	var ids []string
	for range 3 {
		ids = append(ids, runBatch(t, c1, jsonl([2]string{"x", "cheap"}, [2]string{"y", "cheap"})).ID)
	}
	for _, id := range ids {
		b := awaitBatch(t, c2, id)
		if b.Status != "completed" || b.RequestCounts.Completed != 2 {
			t.Errorf("batch %s: got %q %+v, want completed with 2", id, b.Status, b.RequestCounts)
			if b.ErrorFileID != "" {
				t.Logf("errors: %+v", fileLines(t, c2, b.ErrorFileID)[0].Response)
			}
		}
	}
}

// TestBatchKeyRevokedMidway revokes the batch's key while it runs: the
// lines not yet started are answered 401 in the error file, not served.
func TestBatchKeyRevokedMidway(t *testing.T) {
	s := startTenantStack(t, startSim(t, slowSim(30*time.Millisecond)), sqliteExtra(t, "batch: {concurrency: 1}\n"))
	k := s.newKey("acme", admin.KeyCreate{Name: "k"})
	c := s.sdkFor(k.Secret)
	b := startedBatch(t, c, 40)
	if code := s.adminDo("POST", "/admin/keys/"+k.ID+"/revoke", nil, nil); code != 200 {
		t.Fatalf("revoke: got %d", code)
	}
	// The revoked key cannot read the batch any more: read it from the store.
	var final store.Batch
	waitForT(t, "the batch to finish", func() bool {
		var err error
		final, err = s.ten.Store.GetBatch(context.Background(), "acme", b.ID)
		return err == nil && !store.Unfinished(final.Status)
	}, func() string { return final.Status })
	var doc struct {
		ErrorFileID   string                          `json:"error_file_id"`
		RequestCounts struct{ Completed, Failed int } `json:"request_counts"`
	}
	if err := json.Unmarshal(final.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	if final.Status != "completed" || doc.RequestCounts.Completed == 0 || doc.RequestCounts.Failed == 0 || doc.RequestCounts.Completed+doc.RequestCounts.Failed != 40 {
		t.Fatalf("got %s %+v, want completed with some answers and the rest refused", final.Status, doc.RequestCounts)
	}
	content, err := s.ten.Store.FileContent(context.Background(), "acme", doc.ErrorFileID)
	if err != nil || !strings.Contains(string(content), `"status_code":401`) || !strings.Contains(string(content), "invalid_api_key") {
		t.Errorf("error file: got %.300s, %v; want 401 invalid_api_key lines", content, err)
	}
}

func TestBatchUploadTooLarge(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, "batch: {max_file_bytes: 100}\n"))
	c := s.sdkFor(s.newKey("acme", admin.KeyCreate{Name: "k"}).Secret)
	var apiErr *openai.Error
	big := jsonl([2]string{"a", "cheap"}, [2]string{"b", "cheap"})
	_, err := c.Files.New(context.Background(), openai.FileNewParams{File: openai.File(bytes.NewReader(big), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 413 || apiErr.Code != "file_too_large" {
		t.Errorf("upload of %d bytes over a 100-byte limit: got %v, want 413 file_too_large", len(big), err)
	}
	if page, err := c.Files.List(context.Background(), openai.FileListParams{}); err != nil || len(page.Data) != 0 {
		t.Errorf("files after the refused upload: got %+v, %v; want none", page, err)
	}
}

func TestBatchUnknownPathsAndMethods(t *testing.T) {
	s := startTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""))
	key := s.newKey("acme", admin.KeyCreate{Name: "k"}).Secret
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v1/files/f/x/y", `404 {"error":{"message":"no such endpoint`},
		{"PUT", "/v1/batches", `405 {"error":{"message":"PUT is not allowed`},
		{"GET", "/v1/batches/b/cancel", `405 {"error":`},
		{"GET", "/v1/messages/batches/m/x/y", `404 {"type":"error","error":{"type":"not_found_error"`},
		{"PATCH", "/v1/messages/batches/m", `405 {"type":"error"`},
	} {
		req, _ := http.NewRequest(tc.method, s.base+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprintf("%d %s", resp.StatusCode, b); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s %s: got %s, want %s…", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestBatchEmbeddedReplicasShareAStore runs two replicas with embedded
// queues on one store: the second, started while the first runs a batch,
// leaves it alone (the first holds its lease); when the first stops, the
// second takes the batch over within a lease and finishes it. Every line
// is answered once: one successful usage record per line.
func TestBatchEmbeddedReplicasShareAStore(t *testing.T) {
	simURL := startSim(t, slowSim(20*time.Millisecond))
	extra := sqliteExtra(t, "batch: {concurrency: 1, lease: 3s}\n")
	r1 := startTenantStack(t, simURL, extra)
	key := r1.newKey("acme", admin.KeyCreate{Name: "k"}).Secret
	b := startedBatch(t, r1.sdkFor(key), 60)
	r2 := startTenantStack(t, simURL, extra)
	c2 := r2.sdkFor(key)

	// The second replica sees the first's lease and does not run it.
	if cur, err := r2.ten.Store.GetBatch(context.Background(), "acme", b.ID); err != nil || !cur.LeaseUntil.After(time.Now()) {
		t.Fatalf("running batch: lease until %v (%v), want a live lease", cur.LeaseUntil, err)
	}
	waitForT(t, "a few more answers from the first replica", func() bool {
		cur, err := c2.Batches.Get(context.Background(), b.ID)
		return err == nil && cur.RequestCounts.Completed >= 5
	}, func() string { return "" })
	r1.stop()

	done := awaitBatch(t, c2, b.ID)
	if done.Status != "completed" || done.RequestCounts.Completed != 60 || done.RequestCounts.Failed != 0 {
		t.Fatalf("taken-over batch: %q %+v, want completed with 60", done.Status, done.RequestCounts)
	}
	if out := fileLines(t, c2, done.OutputFileID); len(out) != 60 {
		t.Errorf("output file: %d lines, want 60", len(out))
	}
	r2.stop()
	ok := 0
	for _, rec := range usageRecords(t, storeOf(t, extra)) {
		if rec.Route == "cheap" && rec.Status == 200 {
			ok++
		}
	}
	if ok != 60 {
		t.Errorf("successful usage records: %d, want 60 (each line answered once)", ok)
	}
}

// TestBatchLineUsageWrittenBeforeItsAnswer: a batch line's usage record is
// written before its answer is saved as done, not queued for the next
// flush: a replica killed between the two would leave an answered line
// that never runs again and is never billed. With the queue's flush an
// hour away, every answered line's record is in the store as soon as the
// batch completes.
func TestBatchLineUsageWrittenBeforeItsAnswer(t *testing.T) {
	extra := strings.Replace(sqliteExtra(t, ""), "flush_interval: 20ms", "flush_interval: 1h", 1)
	s := startTenantStack(t, startSim(t, fastSim()), extra)
	k := s.newKey("acme", admin.KeyCreate{Name: "batcher"})
	c := s.sdkFor(k.Secret)
	b := awaitBatch(t, c, runBatch(t, c, jsonl([2]string{"one", "cheap"}, [2]string{"two", "cheap"}, [2]string{"three", "auto"})).ID)
	if b.Status != "completed" || b.RequestCounts.Completed != 3 {
		t.Fatalf("batch: status %q counts %+v, want 3 completed", b.Status, b.RequestCounts)
	}
	recs := s.exportUsage()
	for _, l := range fileLines(t, c, b.OutputFileID) {
		if r, ok := recs[l.Response.RequestID]; !ok || r.KeyID != k.ID || r.Status != 200 {
			t.Errorf("line %s (request %s): record %+v present %v, want its usage record stored", l.CustomID, l.Response.RequestID, r, ok)
		}
	}
}
