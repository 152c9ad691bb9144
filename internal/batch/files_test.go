package batch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
