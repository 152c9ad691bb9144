package openai

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestCreateVideo: a create goes to /videos with model rewritten (JSON,
// or the form written again), a remix to /videos/{id}/remix as it came;
// the answer's id and seconds are read; an answer that is not a video
// object fails over.
func TestCreateVideo(t *testing.T) {
	type call struct{ path, ct, body string }
	calls := make(chan call, 1)
	answer := `{"id":"video_1","object":"video","status":"queued","seconds":"8"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- call{r.URL.Path, r.Header.Get("Content-Type"), string(b)}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := newClient(srv, func(cfg *provider.Config) { cfg.Model = "sora-2" })
	ctx := context.Background()

	resp, err := c.CreateVideo(ctx, &llm.VideoRequest{Model: "route", Raw: []byte(`{"model":"route","prompt":"a train","seconds":"8"}`)})
	got := <-calls
	if err != nil || resp.ID != "video_1" || resp.Seconds != 8 || got.path != "/v1/videos" || gjson.Get(got.body, "model").Str != "sora-2" || gjson.Get(got.body, "prompt").Str != "a train" {
		t.Errorf("json create: %+v %v, sent %+v", resp, err, got)
	}
	form := &llm.FormRequest{Op: "videos", Model: "route", Fields: []llm.FormField{{Name: "model", Value: "route"}, {Name: "prompt", Value: "a train"}},
		Files: []llm.FormFile{{Field: "input_reference", Filename: "r.png", ContentType: "image/png", Data: []byte("png")}}}
	if _, err := c.CreateVideo(ctx, &llm.VideoRequest{Model: "route", Form: form}); err != nil {
		t.Fatal(err)
	}
	got = <-calls
	if got.path != "/v1/videos" || !strings.HasPrefix(got.ct, "multipart/form-data") || !strings.Contains(got.body, "sora-2") || strings.Contains(got.body, "route") || !strings.Contains(got.body, `filename="r.png"`) {
		t.Errorf("form create sent %+v", got)
	}
	if _, err := c.CreateVideo(ctx, &llm.VideoRequest{RemixOf: "video_0", Raw: []byte(`{"prompt":"at dawn"}`)}); err != nil {
		t.Fatal(err)
	}
	if got = <-calls; got.path != "/v1/videos/video_0/remix" || got.body != `{"prompt":"at dawn"}` {
		t.Errorf("remix sent %+v", got)
	}

	answer = `{"id":"x","object":"list"}`
	_, err = c.CreateVideo(ctx, &llm.VideoRequest{Raw: []byte(`{"prompt":"a train"}`)})
	<-calls
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != provider.KindUnavailable {
		t.Errorf("not a video: %v", err)
	}
	azure := newClient(srv, func(cfg *provider.Config) { cfg.Azure = true })
	if _, err := azure.CreateVideo(ctx, &llm.VideoRequest{Raw: []byte(`{"prompt":"a train"}`)}); !errors.As(err, &pe) || pe.Kind != provider.KindBadRequest {
		t.Errorf("azure: %v", err)
	}
}
