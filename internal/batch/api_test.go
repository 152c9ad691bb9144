package batch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/gateway"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// tenantT authenticates every request as tenant t.
type tenantT struct{}

func (tenantT) Authenticate(context.Context, http.Header) (*gateway.Principal, error) {
	return &gateway.Principal{TenantID: "t", KeyID: "key-1"}, nil
}

// TestCreateBatchFromMessageBatchInput: a Message Batch's internal input
// file (msgfile-…) is not found by POST /v1/batches, as GET /v1/files
// does not find it either; a file of the Files API is.
func TestCreateBatchFromMessageBatchInput(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	content, err := f.st.FileContent(context.Background(), "t", "file-in")
	if err != nil {
		t.Fatal(err)
	}
	msgFile := store.File{ID: msgFilePrefix + "01abc" + "i", TenantID: "t", Purpose: PurposeBatch, Filename: "x.jsonl", Bytes: int64(len(content)), Created: f.clock.Now()}
	if err := f.st.CreateFile(context.Background(), msgFile, content); err != nil {
		t.Fatal(err)
	}
	q := NewEmbedded(4, nil)
	defer q.Close()
	mux := http.NewServeMux()
	NewAPI(APIOptions{Store: f.st, Auth: tenantT{}, Queue: q, Now: f.clock.Now}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tt := range []struct {
		path, file string
		want       int
	}{
		{"/v1/files/" + msgFile.ID, "", http.StatusNotFound},
		{"/v1/batches", msgFile.ID, http.StatusNotFound},
		{"/v1/batches", "file-in", http.StatusOK},
	} {
		var res *http.Response
		var err error
		if tt.file == "" {
			res, err = http.Get(srv.URL + tt.path)
		} else {
			res, err = http.Post(srv.URL+tt.path, "application/json", strings.NewReader(`{"input_file_id":"`+tt.file+`","endpoint":"/v1/embeddings","completion_window":"24h"}`))
		}
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.path, tt.file, res.StatusCode, tt.want)
		}
	}
}
