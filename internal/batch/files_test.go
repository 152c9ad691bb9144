package batch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// apiServer serves the fixture's store through the Files and Batch
// endpoints on a real socket, as tenant t.
func (f *runFixture) apiServer(t *testing.T) string {
	t.Helper()
	q := NewEmbedded(16, nil)
	t.Cleanup(q.Close)
	mux := http.NewServeMux()
	NewAPI(APIOptions{Store: f.st, Auth: tenantT{}, Queue: q, Now: f.clock.Now, MaxFileBytes: 1 << 20, Retention: 30 * 24 * time.Hour}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// call sends a request and returns the status and the parsed JSON answer.
func call(t *testing.T, method, url, contentType, body string) (int, gjson.Result) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, gjson.ParseBytes(b)
}

// TestDeleteInputOfRunningBatchRefused: the input file of a batch that
// has not ended cannot be deleted (409 naming the batch): a replica that
// resumes the batch reads it again. Once the batch ended it can be.
func TestDeleteInputOfRunningBatchRefused(t *testing.T) {
	f := newRunFixture(t, 2, 24*time.Hour)
	base := f.apiServer(t)
	for _, status := range []string{store.BatchValidating, store.BatchInProgress, store.BatchFinalizing, store.BatchCancelling} {
		b := f.status(t)
		from := b.Status
		b.Status = status
		if err := f.st.UpdateBatch(context.Background(), b, from); err != nil {
			t.Fatal(err)
		}
		code, res := call(t, "DELETE", base+"/v1/files/file-in", "", "")
		if code != http.StatusConflict || res.Get("error.code").String() != "file_in_use" || !strings.Contains(res.Get("error.message").String(), f.id) {
			t.Errorf("delete the input of a %s batch: %d %s, want 409 file_in_use naming %s", status, code, res.Raw, f.id)
		}
	}
	if _, err := f.st.GetFile(context.Background(), "t", "file-in"); err != nil {
		t.Fatalf("the input file is gone: %v", err)
	}
	b := f.status(t)
	from := b.Status
	b.Status = store.BatchCompleted
	if err := f.st.UpdateBatch(context.Background(), b, from); err != nil {
		t.Fatal(err)
	}
	if code, res := call(t, "DELETE", base+"/v1/files/file-in", "", ""); code != http.StatusOK || !res.Get("deleted").Bool() {
		t.Errorf("delete the input of a completed batch: %d %s, want 200 deleted", code, res.Raw)
	}
}

// pageIDs follows a list's pages from url (which ends in a query) with
// after, and returns the IDs of each page.
func pageIDs(t *testing.T, url string) [][]string {
	t.Helper()
	var pages [][]string
	after := ""
	for range 10 {
		u := url
		if after != "" {
			u += "&after=" + after
		}
		code, res := call(t, "GET", u, "", "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, code, res.Raw)
		}
		var ids []string
		for _, d := range res.Get("data").Array() {
			ids = append(ids, d.Get("id").String())
		}
		pages = append(pages, ids)
		if !res.Get("has_more").Bool() {
			return pages
		}
		after = res.Get("last_id").String()
	}
	t.Fatalf("GET %s: more than 10 pages", url)
	return nil
}

// TestListOrderAsc: GET /v1/files and GET /v1/batches take order=asc
// (oldest first) as OpenAI's API does, paged with after in either order.
func TestListOrderAsc(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	ctx := context.Background()
	var files, batches []string // oldest first
	for range 5 {
		f.clock.Advance(time.Second)
		now := f.clock.Now()
		id := store.NewSortableID(filePrefix, now)
		if err := f.st.CreateFile(ctx, store.File{ID: id, TenantID: "t", Purpose: PurposeBatch, Filename: "x.jsonl", Bytes: 1, Created: now}, []byte("x")); err != nil {
			t.Fatal(err)
		}
		files = append(files, id)
		o := &object{ID: store.NewSortableID(batchPrefix, now), Object: "batch", Endpoint: "/v1/embeddings", InputFileID: id, CompletionWindow: "24h", Status: store.BatchCompleted, CreatedAt: now.Unix()}
		if err := f.st.CreateBatch(ctx, o.encode("t", "key-1", now)); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, o.ID)
	}
	// The fixture's, which sort last.
	files, batches = append(files, "file-in"), append(batches, f.id)
	base := f.apiServer(t)
	// The ascending walk over the newest-first store reads a few pages.
	defer func(n int) { ascStep = n }(ascStep)
	ascStep = 2
	reversed := func(ids []string) []string { r := slices.Clone(ids); slices.Reverse(r); return r }
	for _, tt := range []struct {
		url  string
		want []string
	}{
		{base + "/v1/files?order=asc&limit=2", files},
		{base + "/v1/files?order=desc&limit=2", reversed(files)},
		{base + "/v1/files?limit=4", reversed(files)},
		{base + "/v1/files?order=asc&limit=100", files},
		{base + "/v1/batches?order=asc&limit=2", batches},
		{base + "/v1/batches?limit=2", reversed(batches)},
	} {
		pages := pageIDs(t, tt.url)
		if got := slices.Concat(pages...); !slices.Equal(got, tt.want) {
			t.Errorf("GET %s: pages %v, want %v", tt.url, pages, tt.want)
		}
	}
	if code, res := call(t, "GET", base+"/v1/files?order=up", "", ""); code != http.StatusBadRequest {
		t.Errorf("order=up: %d %s, want 400", code, res.Raw)
	}
}

// TestListUnknownCursor: an after that is no ID of the list is a 400
// naming it, not the first page; an ID of the list's kind that names no
// object (deleted, say) is still a place in the list.
func TestListUnknownCursor(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	ctx := context.Background()
	var batches []string
	for range 3 {
		f.clock.Advance(time.Second)
		now := f.clock.Now()
		o := &object{ID: store.NewSortableID(batchPrefix, now), Object: "batch", Endpoint: "/v1/embeddings", InputFileID: "file-in", CompletionWindow: "24h", Status: store.BatchCompleted, CreatedAt: now.Unix()}
		if err := f.st.CreateBatch(ctx, o.encode("t", "key-1", now)); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, o.ID)
	}
	base := f.apiServer(t)
	for _, path := range []string{
		"/v1/batches?after=nope", "/v1/batches?after=batch_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "/v1/batches?after=file-" + strings.TrimPrefix(batches[1], batchPrefix),
		"/v1/files?after=batch_" + strings.TrimPrefix(batches[1], batchPrefix), "/v1/files?order=asc&after=x",
	} {
		if code, res := call(t, "GET", base+path, "", ""); code != http.StatusBadRequest || res.Get("error.param").String() != "after" {
			t.Errorf("GET %s: %d %s, want 400 with param after", path, code, res.Raw)
		}
	}
	for _, path := range []string{"/v1/messages/batches?after_id=nope", "/v1/messages/batches?before_id=" + batches[1]} {
		if code, res := call(t, "GET", base+path, "", ""); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", path, code, res.Raw)
		}
	}
	// A batch made between the second and the third, since deleted.
	gone := store.NewSortableID(batchPrefix, f.clock.Now().Add(-500*time.Millisecond))
	_, res := call(t, "GET", base+"/v1/batches?after="+gone, "", "")
	var got []string
	for _, d := range res.Get("data").Array() {
		got = append(got, d.Get("id").String())
	}
	if want := []string{batches[1], batches[0]}; !slices.Equal(got, want) {
		t.Errorf("GET /v1/batches?after=<a deleted batch's id>: %v, want the batches made before it %v", got, want)
	}
}
