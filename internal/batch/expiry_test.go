package batch

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// upload posts a batch file with the extra multipart fields.
func upload(t *testing.T, base string, fields ...[2]string) (int, gjson.Result) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("purpose", "batch")
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", "in.jsonl")
	fw.Write([]byte(`{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}` + "\n"))
	mw.Close()
	return call(t, "POST", base+"/v1/files", mw.FormDataContentType(), body.String())
}

// TestUploadExpiresAfter: an upload's expires_after (OpenAI's
// FileNewParams.ExpiresAfter) sets its expires_at; once past it the file
// is gone from the API, and the sweep deletes it. A bad policy is a 400
// naming the field.
func TestUploadExpiresAfter(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	base := f.apiServer(t)
	ctx := context.Background()
	// The sweep looks at the files of each tenant (and of static keys).
	if err := f.st.CreateTenant(ctx, store.Tenant{ID: "t", Name: "t", Created: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	code, res := upload(t, base, [2]string{"expires_after[anchor]", "created_at"}, [2]string{"expires_after[seconds]", "3600"})
	if code != http.StatusOK || res.Get("expires_at").Int()-res.Get("created_at").Int() != 3600 {
		t.Fatalf("upload with expires_after 3600 s: %d %s, want expires_at = created_at + 3600", code, res.Raw)
	}
	id := res.Get("id").String()
	code, plain := upload(t, base)
	if code != http.StatusOK || plain.Get("expires_at").Int()-plain.Get("created_at").Int() != 30*24*3600 {
		t.Fatalf("upload without expires_after: %d %s, want expires_at = created_at + the retention", code, plain.Raw)
	}
	if code, got := call(t, "GET", base+"/v1/files/"+id, "", ""); code != http.StatusOK || got.Get("expires_at").Int() != res.Get("expires_at").Int() {
		t.Errorf("GET the file: %d %s, want its expires_at", code, got.Raw)
	}
	f.clock.Advance(time.Hour)
	for _, path := range []string{"/v1/files/" + id, "/v1/files/" + id + "/content"} {
		if code, got := call(t, "GET", base+path, "", ""); code != http.StatusNotFound {
			t.Errorf("GET %s an hour later: %d %s, want 404", path, code, got.Raw)
		}
	}
	if _, got := call(t, "GET", base+"/v1/files", "", ""); got.Get(`data.#(id=="`+id+`")`).Exists() || !got.Get(`data.#(id=="`+plain.Get("id").String()+`")`).Exists() {
		t.Errorf("GET /v1/files an hour later: %s, want the expired file left out and the other listed", got.Raw)
	}
	if err := Sweep(ctx, f.st, 30*24*time.Hour, f.clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetFile(ctx, "t", id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the expired file after the sweep: %v, want deleted", err)
	}
	if _, err := f.st.GetFile(ctx, "t", plain.Get("id").String()); err != nil {
		t.Errorf("the file without expires_after after the sweep: %v, want kept", err)
	}

	for _, tt := range []struct {
		fields [][2]string
		param  string
	}{
		{[][2]string{{"expires_after[anchor]", "last_active_at"}, {"expires_after[seconds]", "3600"}}, "expires_after[anchor]"},
		{[][2]string{{"expires_after[seconds]", "3600"}}, "expires_after[anchor]"},
		{[][2]string{{"expires_after[anchor]", "created_at"}}, "expires_after[seconds]"},
		{[][2]string{{"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "3599"}}, "expires_after[seconds]"},
		{[][2]string{{"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "2592001"}}, "expires_after[seconds]"},
		{[][2]string{{"expires_after[anchor]", "created_at"}, {"expires_after[seconds]", "an hour"}}, "expires_after[seconds]"},
	} {
		if code, got := upload(t, base, tt.fields...); code != http.StatusBadRequest || got.Get("error.param").String() != tt.param {
			t.Errorf("upload with %v: %d %s, want 400 with param %s", tt.fields, code, got.Raw, tt.param)
		}
	}
}

// TestOutputExpiresAfter: a batch's output_expires_after sets the expiry
// of its output and error files; a bad policy is a 400 naming the field.
func TestOutputExpiresAfter(t *testing.T) {
	f := newRunFixture(t, 2, 24*time.Hour)
	base := f.apiServer(t)
	create := func(extra string) (int, gjson.Result) {
		return call(t, "POST", base+"/v1/batches", "application/json",
			`{"input_file_id":"file-in","endpoint":"/v1/embeddings","completion_window":"24h"`+extra+`}`)
	}
	for _, tt := range []struct{ extra, param string }{
		{`,"output_expires_after":{"anchor":"nope","seconds":7200}`, "output_expires_after.anchor"},
		{`,"output_expires_after":{"seconds":7200}`, "output_expires_after.anchor"},
		{`,"output_expires_after":{"anchor":"created_at","seconds":60}`, "output_expires_after.seconds"},
	} {
		if code, got := create(tt.extra); code != http.StatusBadRequest || got.Get("error.param").String() != tt.param {
			t.Errorf("create with %s: %d %s, want 400 with param %s", tt.extra, code, got.Raw, tt.param)
		}
	}
	code, b := create(`,"output_expires_after":{"anchor":"created_at","seconds":7200}`)
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, b.Raw)
	}
	if err := f.runner("me", 2, time.Hour, answer).Run(context.Background(), b.Get("id").String()); err != nil {
		t.Fatal(err)
	}
	_, b = call(t, "GET", base+"/v1/batches/"+b.Get("id").String(), "", "")
	out := b.Get("output_file_id").String()
	if b.Get("status").String() != store.BatchCompleted || out == "" {
		t.Fatalf("batch: %s, want completed with an output file", b.Raw)
	}
	code, file := call(t, "GET", base+"/v1/files/"+out, "", "")
	if code != http.StatusOK || file.Get("expires_at").Int()-file.Get("created_at").Int() != 7200 {
		t.Errorf("output file: %d %s, want expires_at = created_at + 7200", code, file.Raw)
	}
	f.clock.Advance(2 * time.Hour)
	if code, got := call(t, "GET", base+"/v1/files/"+out+"/content", "", ""); code != http.StatusNotFound {
		t.Errorf("the output two hours later: %d %s, want 404", code, got.Raw)
	}
}

// TestSweepKeepsExpiredInputOfRunningBatch: a file past its own expiry
// that an unfinished batch reads stays until the batch ends, as the
// retention sweep keeps it.
func TestSweepKeepsExpiredInputOfRunningBatch(t *testing.T) {
	f := newRunFixture(t, 1, 24*time.Hour)
	ctx := context.Background()
	now := f.clock.Now()
	if err := f.st.CreateTenant(ctx, store.Tenant{ID: "t", Name: "t", Created: now}); err != nil {
		t.Fatal(err)
	}
	var ids []string // the running batch's input, and another
	for range 2 {
		id := withExpiry(store.NewSortableID(filePrefix, now), 3600)
		if err := f.st.CreateFile(ctx, store.File{ID: id, TenantID: "t", Purpose: PurposeBatch, Filename: "x.jsonl", Bytes: 1, Created: now}, []byte("x")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	id := ids[0]
	b := f.status(t)
	o, _ := decode(b)
	o.InputFileID = id
	if err := f.st.UpdateBatch(ctx, o.encode("t", "key-1", now), b.Status); err != nil {
		t.Fatal(err)
	}
	if err := Sweep(ctx, f.st, 30*24*time.Hour, now.Add(2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.GetFile(ctx, "t", id); err != nil {
		t.Errorf("the running batch's input after the sweep: %v, want kept", err)
	}
	if _, err := f.st.GetFile(ctx, "t", ids[1]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the other expired file after the sweep: %v, want deleted", err)
	}
}
