package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/clocktest"
	"github.com/switchyard-gw/switchyard/internal/sim"
)

// videoDeployments serve the Videos API, priced per second as sora-2 is.
const videoDeployments = `  - name: sora
    provider: sim-openai
    model: sim-video
    price: {per_second: 0.1}
    capabilities: {chat: false, video: true}
routes:
`

// TestVideos: the official SDK's Videos API through the gateway. A job is
// created (its first attempt refused and retried) and charged for its
// seconds; it is polled, downloaded, remixed (at the deployment that made
// it, charged again), listed and deleted through the gateway, which
// remembers the deployment of each video; a video the gateway did not
// make is neither listed nor reachable; bad requests get 400s naming the
// field.
func TestVideos(t *testing.T) {
	simCfg := withFaults(fastSim(), "sim-video", sim.Fault{Type: sim.FaultStatus, Status: 503, Times: 1})
	s := startStack(t, simCfg, strings.Replace(baseConfig, "routes:\n", videoDeployments, 1))
	ctx := context.Background()
	oa := s.openai()
	cost := func(hr *http.Response) float64 {
		c, _ := strconv.ParseFloat(hr.Header.Get("X-Switchyard-Cost"), 64)
		return c
	}

	var hr *http.Response
	v, err := oa.Videos.New(ctx, openai.VideoNewParams{Model: "sora", Prompt: "A night train crossing a viaduct", Seconds: openai.VideoSeconds8},
		option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == "" || v.Seconds != "8" || cost(hr) != 0.8 || hr.Header.Get("X-Switchyard-Deployment") != "sora" {
		t.Fatalf("create: %+v, cost %v, headers %v", v, cost(hr), hr.Header)
	}
	if n := len(s.sim.Calls("sim-video")); n != 2 {
		t.Errorf("sim saw %d creates, want 2 (the refused one, then the retry)", n)
	}
	if line := s.requestLog(hr.Header.Get("X-Request-Id")); line["cost_usd"] != 0.8 || line["status"] != float64(200) {
		t.Errorf("create's request log: %v", line)
	}

	clocktest.WaitFor(t, "the job to complete", func() bool {
		got, err := oa.Videos.Get(ctx, v.ID)
		return err == nil && got.Status == openai.VideoStatusCompleted
	})
	content, err := oa.Videos.DownloadContent(ctx, v.ID, openai.VideoDownloadContentParams{})
	if err != nil {
		t.Fatal(err)
	}
	mp4, _ := io.ReadAll(content.Body)
	content.Body.Close()
	if content.Header.Get("Content-Type") != "video/mp4" || !bytes.Contains(mp4, []byte("ftyp")) || !bytes.Contains(mp4, []byte("A night train crossing a viaduct")) {
		t.Errorf("content: %s, %d bytes", content.Header.Get("Content-Type"), len(mp4))
	}

	remix, err := oa.Videos.Remix(ctx, v.ID, openai.VideoRemixParams{Prompt: "The same, at dawn"}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if remix.RemixedFromVideoID != v.ID || remix.ID == v.ID || cost(hr) != 0.8 {
		t.Errorf("remix: %+v, cost %v", remix, cost(hr))
	}

	// A video made at the deployment by someone else (not through the
	// gateway) is not this caller's.
	foreign := createAtSim(t, s)
	page, err := oa.Videos.List(ctx, openai.VideoListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range page.Data {
		ids = append(ids, d.ID)
	}
	if !slices.Contains(ids, v.ID) || !slices.Contains(ids, remix.ID) || slices.Contains(ids, foreign) || len(ids) != 2 {
		t.Errorf("list: %v (foreign %s)", ids, foreign)
	}
	for _, path := range []string{"/v1/videos/" + foreign, "/v1/videos/" + foreign + "/content"} {
		if resp, body := getBody(t, s.hc, s.base+path); resp.StatusCode != 404 || !strings.Contains(body, "video_not_found") {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
	}
	if _, err := oa.Videos.Remix(ctx, foreign, openai.VideoRemixParams{Prompt: "mine now"}); !isStatus(err, 404) {
		t.Errorf("remix of a foreign video: %v, want 404", err)
	}

	if del, err := oa.Videos.Delete(ctx, v.ID); err != nil || !del.Deleted {
		t.Errorf("delete: %+v %v", del, err)
	}
	if _, err := oa.Videos.Get(ctx, v.ID); !isStatus(err, 404) {
		t.Errorf("get after delete: %v, want 404", err)
	}

	for _, tc := range []struct{ body, says string }{
		{`{"model":"sora","seconds":"4"}`, "prompt"},
		{`{"model":"sora","prompt":"x","seconds":"0"}`, "seconds"},
		{`{"model":"sora","prompt":"x","seconds":4.5}`, "seconds"},
		{`{"model":"small","prompt":"x"}`, "supports video"},
	} {
		resp, body := s.post("/v1/videos", tc.body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), tc.says) {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, body)
		}
	}
	if resp, body := s.post("/v1/videos/edits", `{}`); resp.StatusCode != 404 || !strings.Contains(string(body), "unknown_url") {
		t.Errorf("video edits: %d %s", resp.StatusCode, body)
	}
}

// createAtSim makes a video at the simulator directly, as another user of
// the upstream account would, and returns its id.
func createAtSim(t *testing.T, s *stack) string {
	t.Helper()
	oa := openai.NewClient(option.WithBaseURL(s.simURL+"/v1"), option.WithAPIKey("other"), option.WithMaxRetries(0))
	v, err := oa.Videos.New(context.Background(), openai.VideoNewParams{Model: "sim-video", Prompt: "someone else's"})
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// isStatus reports whether err is an OpenAI API error of that status.
func isStatus(err error, status int) bool {
	var ae *openai.Error
	return errors.As(err, &ae) && ae.StatusCode == status
}

// TestVideosPerTenant: a video is reachable only by the tenant whose key
// made it; another tenant's key gets the same 404 as for a video that
// does not exist, and does not see it listed.
func TestVideosPerTenant(t *testing.T) {
	s := startEditedTenantStack(t, startSim(t, fastSim()), sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", videoDeployments, 1)
	})
	a := s.newKey("acme", admin.KeyCreate{})
	b := s.newKey("globex", admin.KeyCreate{})
	client := func(key string) *openai.Client {
		c := openai.NewClient(option.WithBaseURL(s.base+"/v1"), option.WithAPIKey(key), option.WithHTTPClient(s.hc), option.WithMaxRetries(0))
		return &c
	}
	ctx := context.Background()
	v, err := client(a.Secret).Videos.New(ctx, openai.VideoNewParams{Prompt: "acme's launch film"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client(a.Secret).Videos.Get(ctx, v.ID); err != nil {
		t.Errorf("the owner's GET: %v", err)
	}
	if _, err := client(b.Secret).Videos.Get(ctx, v.ID); !isStatus(err, 404) {
		t.Errorf("another tenant's GET: %v, want 404", err)
	}
	if _, err := client(b.Secret).Videos.Delete(ctx, v.ID); !isStatus(err, 404) {
		t.Errorf("another tenant's DELETE: %v, want 404", err)
	}
	if page, err := client(b.Secret).Videos.List(ctx, openai.VideoListParams{}); err != nil || len(page.Data) != 0 {
		t.Errorf("another tenant's list: %v %v", page, err)
	}
	if page, err := client(a.Secret).Videos.List(ctx, openai.VideoListParams{}); err != nil || len(page.Data) != 1 || page.Data[0].ID != v.ID {
		t.Errorf("the owner's list: %v %v", page, err)
	}
}
