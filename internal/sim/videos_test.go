package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	oaoption "github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/clocktest"
)

// videoT0 is when the video tests' clock starts.
var videoT0 = time.Unix(1_760_000_000, 0)

// videoSim starts a simulator on a manual clock serving sim-video (no
// latency: jobs complete at once), sora-2 (one second per second of
// video), sim-small (no video model) and models.
func videoSim(t *testing.T, models ...Model) (*Server, string, *http.Client, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(videoT0)
	cfg := Config{Models: append([]Model{{Name: "sim-video"}, {Name: "sora-2", Latency: time.Second}, testModel("sim-small")}, models...)}
	s, url, c := startSim(t, cfg, WithClock(clock.Now))
	return s, url, c, clock
}

// do sends a request without a body; the caller closes the response.
func do(t *testing.T, c *http.Client, method, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

// wantOK decodes a 200 JSON answer.
func wantOK(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	body := decode(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %v, want 200", resp.StatusCode, body)
	}
	return body
}

// wantError checks an OpenAI error answer: its status, type, param (""
// for null) and code ("" for null, "-" not to check).
func wantError(t *testing.T, resp *http.Response, status int, typ, param, code string) map[string]any {
	t.Helper()
	body := decode(t, resp)
	e, _ := body["error"].(map[string]any)
	gotParam, _ := e["param"].(string)
	gotCode, _ := e["code"].(string)
	if resp.StatusCode != status || len(body) != 1 || e["type"] != typ || gotParam != param || (code != "-" && gotCode != code) ||
		e["message"] == "" {
		t.Errorf("got %d %v, want %d type %s param %q code %q", resp.StatusCode, body, status, typ, param, code)
	}
	return e
}

// createVideo creates a video from a JSON body, which must succeed.
func createVideo(t *testing.T, c *http.Client, url string, body map[string]any) map[string]any {
	t.Helper()
	return wantOK(t, post(t, t.Context(), c, url+"/v1/videos", body))
}

// getVideo retrieves a video, which must exist.
func getVideo(t *testing.T, c *http.Client, url, id string) map[string]any {
	t.Helper()
	return wantOK(t, do(t, c, http.MethodGet, url+"/v1/videos/"+id))
}

// wantVideo checks a video object has exactly OpenAI's fields and the
// values in want (nil for null).
func wantVideo(t *testing.T, v map[string]any, want map[string]any) {
	t.Helper()
	fields := []string{"id", "object", "model", "status", "progress", "created_at", "completed_at", "expires_at",
		"prompt", "seconds", "size", "remixed_from_video_id", "error"}
	for _, k := range fields {
		if _, ok := v[k]; !ok {
			t.Errorf("got no %s in %v", k, v)
		}
	}
	if len(v) != len(fields) {
		t.Errorf("got %d fields in %v, want %d", len(v), v, len(fields))
	}
	if id, _ := v["id"].(string); !strings.HasPrefix(id, "video_") || v["object"] != "video" {
		t.Errorf("got id %v object %v, want video_... and video", v["id"], v["object"])
	}
	for k, w := range want {
		if got := v[k]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("got %s %v, want %v", k, got, w)
		}
	}
}

// unix is a time as a decoded JSON number.
func unix(tm time.Time) float64 { return float64(tm.Unix()) }

func TestVideoCreateMultipart(t *testing.T) {
	s, url, c, _ := videoSim(t)
	ctx := t.Context()
	resp := postParts(t, ctx, c, url+"/v1/videos",
		formPart{name: "prompt", value: "a red caboose at dusk"}, formPart{name: "model", value: "sim-video"},
		formPart{name: "seconds", value: "8"}, formPart{name: "size", value: "1280x720"},
		formPart{name: "input_reference", value: string(editPNG), file: true})
	if id := resp.Header.Get("x-request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("got x-request-id %q, want req_...", id)
	}
	v := wantOK(t, resp)
	wantVideo(t, v, map[string]any{"model": "sim-video", "status": "queued", "progress": 0.0, "created_at": unix(videoT0),
		"completed_at": nil, "expires_at": nil, "prompt": "a red caboose at dusk", "seconds": "8", "size": "1280x720",
		"remixed_from_video_id": nil, "error": nil})

	// No latency: completed at the first retrieve.
	got := getVideo(t, c, url, v["id"].(string))
	wantVideo(t, got, map[string]any{"id": v["id"], "status": "completed", "progress": 100.0, "completed_at": unix(videoT0),
		"expires_at": unix(videoT0.Add(24 * time.Hour)), "error": nil})

	// No model, seconds or size: the defaults.
	v = wantOK(t, postParts(t, ctx, c, url+"/v1/videos", formPart{name: "prompt", value: "steam"}))
	wantVideo(t, v, map[string]any{"model": "sim-video", "seconds": "4", "size": "720x1280", "status": "queued"})

	// A reference given by URL, as a form's bracketed fields.
	v = wantOK(t, postParts(t, ctx, c, url+"/v1/videos", formPart{name: "prompt", value: "steam"},
		formPart{name: "input_reference[image_url]", value: "https://example.com/a.png"}))
	wantVideo(t, v, map[string]any{"status": "queued"})

	calls := s.Calls("sim-video")
	if len(calls) != 3 {
		t.Fatalf("got %d calls, want the 3 creates (a retrieve is no call)", len(calls))
	}
	for i, k := range calls {
		if k.Path != "/v1/videos" || k.Status != http.StatusOK || k.Stream || k.Fault != "" || !k.Time.Equal(videoT0) {
			t.Errorf("call %d: got %+v, want a 200 on /v1/videos at %v", i, k, videoT0)
		}
	}
}

func TestVideoCreateJSON(t *testing.T) {
	s, url, c, _ := videoSim(t)
	v := createVideo(t, c, url, map[string]any{"model": "sora-2", "prompt": "a lighthouse", "seconds": "12",
		"size": "1792x1024", "input_reference": map[string]any{"file_id": "file_123"}})
	wantVideo(t, v, map[string]any{"model": "sora-2", "status": "queued", "progress": 0.0, "prompt": "a lighthouse",
		"seconds": "12", "size": "1792x1024", "created_at": unix(videoT0), "completed_at": nil})
	v = createVideo(t, c, url, map[string]any{"prompt": "a lighthouse"})
	wantVideo(t, v, map[string]any{"model": "sim-video", "seconds": "4", "size": "720x1280"})
	if n, m := len(s.Calls("sora-2")), len(s.Calls("sim-video")); n != 1 || m != 1 {
		t.Errorf("got %d sora-2 and %d sim-video calls, want one each", n, m)
	}
}

func TestVideoProgress(t *testing.T) {
	_, url, c, clock := videoSim(t)
	for _, tc := range []struct {
		seconds string
		took    time.Duration   // the job's time
		steps   []time.Duration // clock offsets from creation
		want    []string        // status/progress at each
	}{
		{"4", 4 * time.Second, []time.Duration{0, 399 * time.Millisecond, 400 * time.Millisecond, time.Second, 3990 * time.Millisecond, 4 * time.Second, time.Hour},
			[]string{"queued/0", "queued/0", "in_progress/10", "in_progress/25", "in_progress/99", "completed/100", "completed/100"}},
		{"8", 8 * time.Second, []time.Duration{799 * time.Millisecond, 4 * time.Second, 7999 * time.Millisecond, 8 * time.Second},
			[]string{"queued/0", "in_progress/50", "in_progress/99", "completed/100"}},
	} {
		t.Run(tc.seconds, func(t *testing.T) {
			start := clock.Now()
			v := createVideo(t, c, url, map[string]any{"model": "sora-2", "prompt": "a slow train", "seconds": tc.seconds})
			id := v["id"].(string)
			for i, d := range tc.steps {
				clock.Set(start.Add(d))
				got := getVideo(t, c, url, id)
				if s := fmt.Sprint(got["status"], "/", got["progress"]); s != tc.want[i] {
					t.Errorf("at +%v: got %s, want %s", d, s, tc.want[i])
				}
				done := tc.want[i] == "completed/100"
				if done != (got["completed_at"] != nil) || done != (got["expires_at"] != nil) {
					t.Errorf("at +%v: got completed_at %v expires_at %v, want them set only when completed", d, got["completed_at"], got["expires_at"])
				}
				if done {
					end := start.Add(tc.took)
					wantVideo(t, got, map[string]any{"created_at": unix(start), "completed_at": unix(end),
						"expires_at": unix(end.Add(24 * time.Hour))})
				}
				// Content is refused until the job completes.
				resp := do(t, c, http.MethodGet, url+"/v1/videos/"+id+"/content")
				if done {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("at +%v: got content %d, want 200", d, resp.StatusCode)
					}
				} else if e := wantError(t, resp, http.StatusBadRequest, "invalid_request_error", "", ""); !strings.Contains(fmt.Sprint(e["message"]), "not ready") {
					t.Errorf("at +%v: got %v, want a not ready message", d, e["message"])
				}
			}
		})
	}
}

// TestVideoCreateNoWait checks that a create answers at once: the job, not
// the request, spends the model's latency.
func TestVideoCreateNoWait(t *testing.T) {
	_, url, c, clock := videoSim(t, Model{Name: "sora-hour", Latency: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	v := wantOK(t, post(t, ctx, c, url+"/v1/videos", map[string]any{"model": "sora-hour", "prompt": "a long haul"}))
	id := v["id"].(string)
	for _, step := range []struct {
		after time.Duration
		want  string
	}{{24*time.Minute - time.Second, "queued/0"}, {24 * time.Minute, "in_progress/10"}, {2 * time.Hour, "in_progress/50"}, {4 * time.Hour, "completed/100"}} {
		clock.Set(videoT0.Add(step.after))
		got := getVideo(t, c, url, id)
		if s := fmt.Sprint(got["status"], "/", got["progress"]); s != step.want {
			t.Errorf("at +%v: got %s, want %s", step.after, s, step.want)
		}
	}
}

func TestVideoFailed(t *testing.T) {
	_, url, c, clock := videoSim(t)
	for _, model := range []string{"sora-2", "sim-video"} {
		t.Run(model, func(t *testing.T) {
			start := clock.Now()
			v := createVideo(t, c, url, map[string]any{"model": model, "prompt": "a FORBIDDEN dance"})
			wantVideo(t, v, map[string]any{"status": "queued", "error": nil})
			id := v["id"].(string)
			if model == "sora-2" {
				clock.Set(start.Add(399 * time.Millisecond))
				wantVideo(t, getVideo(t, c, url, id), map[string]any{"status": "queued", "error": nil})
				clock.Set(start.Add(400 * time.Millisecond))
			}
			got := getVideo(t, c, url, id)
			wantVideo(t, got, map[string]any{"status": "failed", "progress": 0.0, "completed_at": nil, "expires_at": nil})
			if e, _ := got["error"].(map[string]any); len(e) != 2 || e["code"] != "moderation_blocked" || e["message"] == "" {
				t.Errorf("got error %v, want code moderation_blocked and a message", got["error"])
			}
			clock.Set(start.Add(time.Hour))
			wantVideo(t, getVideo(t, c, url, id), map[string]any{"status": "failed"})
			e := wantError(t, do(t, c, http.MethodGet, url+"/v1/videos/"+id+"/content"), http.StatusBadRequest, "invalid_request_error", "", "")
			if !strings.Contains(fmt.Sprint(e["message"]), "failed") {
				t.Errorf("got %v, want a message saying the video failed", e["message"])
			}
		})
	}
}

// content downloads a variant ("" for none), which must succeed, and
// checks its type.
func content(t *testing.T, c *http.Client, url, id, variant, ctype string) []byte {
	t.Helper()
	u := url + "/v1/videos/" + id + "/content"
	if variant != "" {
		u += "?variant=" + variant
	}
	resp := do(t, c, http.MethodGet, u)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype || resp.ContentLength != int64(len(b)) {
		t.Fatalf("got %d %s (%d bytes of %d), want 200 %s", resp.StatusCode, resp.Header.Get("Content-Type"), len(b), resp.ContentLength, ctype)
	}
	return b
}

// webpSize checks b is a lossless WEBP and returns its width and height.
func webpSize(t *testing.T, b []byte) (int, int) {
	t.Helper()
	if len(b) < 25 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WEBPVP8L" || b[20] != 0x2f ||
		int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 || int(binary.LittleEndian.Uint32(b[16:]))+20 > len(b) {
		t.Fatalf("got % x, want a lossless WEBP", b)
	}
	bits := binary.LittleEndian.Uint32(b[21:])
	return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1
}

func TestVideoContent(t *testing.T) {
	_, url, c, _ := videoSim(t)
	prompt := "a caboose\nin two lines"
	v := createVideo(t, c, url, map[string]any{"prompt": prompt, "seconds": "8", "size": "1280x720"})
	id := v["id"].(string)

	mp4 := content(t, c, url, id, "", "video/mp4")
	if string(mp4[4:12]) != "ftypisom" || binary.BigEndian.Uint32(mp4) < 16 {
		t.Errorf("got % x, want an ftyp box of brand isom first", mp4[:12])
	}
	meta, ok := readSimVideo(mp4)
	if want := (simVideo{model: "sim-video", seconds: "8", size: "1280x720", prompt: prompt}); !ok || meta != want {
		t.Errorf("got %+v (%v), want %+v", meta, ok, want)
	}
	if again := content(t, c, url, id, "video", "video/mp4"); !bytes.Equal(again, mp4) {
		t.Errorf("got other bytes for variant video than for the default")
	}

	thumb := content(t, c, url, id, "thumbnail", "image/webp")
	if w, h := webpSize(t, thumb); w != 128 || h != 72 {
		t.Errorf("got a %dx%d thumbnail, want 128x72", w, h)
	}
	sheet := content(t, c, url, id, "spritesheet", "image/jpeg")
	if !bytes.HasPrefix(sheet, []byte("\xff\xd8\xff")) {
		t.Fatalf("got % x, want a JPEG", sheet[:3])
	}
	img, err := jpeg.Decode(bytes.NewReader(sheet))
	if err != nil {
		t.Fatalf("decode spritesheet: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 4*64 || r.Dy() != 2*36 {
		t.Errorf("got a %v spritesheet, want 8 frames of 64x36 in two rows of four", r)
	}

	// The same request gets the same bytes; another prompt others.
	same := createVideo(t, c, url, map[string]any{"prompt": prompt, "seconds": "8", "size": "1280x720"})
	other := createVideo(t, c, url, map[string]any{"prompt": "another", "seconds": "8", "size": "1280x720"})
	for _, variant := range []struct{ name, ctype string }{{"video", "video/mp4"}, {"thumbnail", "image/webp"}, {"spritesheet", "image/jpeg"}} {
		a := content(t, c, url, id, variant.name, variant.ctype)
		b := content(t, c, url, same["id"].(string), variant.name, variant.ctype)
		o := content(t, c, url, other["id"].(string), variant.name, variant.ctype)
		if !bytes.Equal(a, b) || bytes.Equal(a, o) {
			t.Errorf("%s: got same request equal %v, other prompt equal %v; want true, false", variant.name, bytes.Equal(a, b), bytes.Equal(a, o))
		}
	}

	wantError(t, do(t, c, http.MethodGet, url+"/v1/videos/"+id+"/content?variant=gif"), http.StatusBadRequest, "invalid_request_error", "variant", "")
	wantError(t, do(t, c, http.MethodGet, url+"/v1/videos/video_nope/content"), http.StatusNotFound, "invalid_request_error", "", "video_not_found")
	if _, ok := readSimVideo([]byte("\x00\x00\x00\x08free")); ok {
		t.Errorf("readSimVideo read a file with no metadata")
	}
}

func TestVideoDelete(t *testing.T) {
	s, url, c, _ := videoSim(t)
	id := createVideo(t, c, url, map[string]any{"prompt": "gone soon"})["id"].(string)
	keep := createVideo(t, c, url, map[string]any{"prompt": "stays"})["id"].(string)
	body := wantOK(t, do(t, c, http.MethodDelete, url+"/v1/videos/"+id))
	if len(body) != 3 || body["id"] != id || body["object"] != "video.deleted" || body["deleted"] != true {
		t.Errorf("got %v, want id, object video.deleted and deleted true", body)
	}
	resp := do(t, c, http.MethodGet, url+"/v1/videos/"+id)
	e := wantError(t, resp, http.StatusNotFound, "invalid_request_error", "", "video_not_found")
	if e["message"] != "Video with id '"+id+"' not found." || e["param"] != nil {
		t.Errorf("got %v, want OpenAI's not found message and a null param", e)
	}
	wantError(t, do(t, c, http.MethodDelete, url+"/v1/videos/"+id), http.StatusNotFound, "invalid_request_error", "", "video_not_found")
	wantError(t, do(t, c, http.MethodGet, url+"/v1/videos/"+id+"/content"), http.StatusNotFound, "invalid_request_error", "", "video_not_found")
	list := wantOK(t, do(t, c, http.MethodGet, url+"/v1/videos"))
	if data, _ := list["data"].([]any); len(data) != 1 || get(data, 0, "id") != keep {
		t.Errorf("got %v, want only %s listed", list["data"], keep)
	}
	getVideo(t, c, url, keep)
	if n := len(s.Calls("sim-video")); n != 2 {
		t.Errorf("got %d calls, want the 2 creates (deletes, retrieves, content and lists are no calls)", n)
	}
}

func TestVideoRemix(t *testing.T) {
	s, url, c, clock := videoSim(t)
	ctx := t.Context()
	src := createVideo(t, c, url, map[string]any{"prompt": "a steam engine", "seconds": "12", "size": "1024x1792"})
	srcID := src["id"].(string)
	getVideo(t, c, url, srcID)
	clock.Advance(time.Minute)

	resp := post(t, ctx, c, url+"/v1/videos/"+srcID+"/remix", map[string]any{"prompt": "the same engine at night"})
	remix := wantOK(t, resp)
	wantVideo(t, remix, map[string]any{"model": "sim-video", "status": "queued", "progress": 0.0, "prompt": "the same engine at night",
		"seconds": "12", "size": "1024x1792", "remixed_from_video_id": srcID, "created_at": unix(videoT0.Add(time.Minute))})
	if remix["id"] == srcID {
		t.Fatalf("got the source's id for the remix")
	}
	id := remix["id"].(string)
	wantVideo(t, getVideo(t, c, url, id), map[string]any{"status": "completed", "remixed_from_video_id": srcID})
	meta, ok := readSimVideo(content(t, c, url, id, "", "video/mp4"))
	if want := (simVideo{model: "sim-video", seconds: "12", size: "1024x1792", prompt: "the same engine at night"}); !ok || meta != want {
		t.Errorf("got %+v, want %+v", meta, want)
	}

	// A form works too.
	wantOK(t, postParts(t, ctx, c, url+"/v1/videos/"+srcID+"/remix", formPart{name: "prompt", value: "at dawn"}))

	wantError(t, post(t, ctx, c, url+"/v1/videos/video_nope/remix", map[string]any{"prompt": "x"}),
		http.StatusNotFound, "invalid_request_error", "", "video_not_found")
	wantError(t, post(t, ctx, c, url+"/v1/videos/"+srcID+"/remix", map[string]any{}),
		http.StatusBadRequest, "invalid_request_error", "prompt", "")
	wantError(t, post(t, ctx, c, url+"/v1/videos/"+srcID+"/remix", map[string]any{"prompt": "x", "seconds": "8"}),
		http.StatusBadRequest, "invalid_request_error", "", "")

	// A source still in progress cannot be remixed.
	slow := createVideo(t, c, url, map[string]any{"model": "sora-2", "prompt": "slow"})["id"].(string)
	e := wantError(t, post(t, ctx, c, url+"/v1/videos/"+slow+"/remix", map[string]any{"prompt": "x"}),
		http.StatusBadRequest, "invalid_request_error", "", "")
	if !strings.Contains(fmt.Sprint(e["message"]), "not ready") {
		t.Errorf("got %v, want a not ready message", e["message"])
	}

	var remixes []Call
	for _, k := range slices.Concat(s.Calls("sim-video"), s.Calls("sora-2"), s.Calls("")) {
		if k.Path == "/v1/videos/remix" {
			remixes = append(remixes, k)
		}
	}
	want := []int{200, 200, 404, 400, 400, 400}
	if len(remixes) != len(want) {
		t.Fatalf("got %d remix calls, want %d", len(remixes), len(want))
	}
	var got []int
	for _, k := range remixes {
		got = append(got, k.Status)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got remix statuses %v, want %v", got, want)
	}
}

// listIDs lists videos with a query, which must succeed, and returns the
// ids and the page's other fields.
func listIDs(t *testing.T, c *http.Client, url, query string) ([]string, map[string]any) {
	t.Helper()
	body := wantOK(t, do(t, c, http.MethodGet, url+"/v1/videos"+query))
	if len(body) != 5 || body["object"] != "list" {
		t.Errorf("got %v, want object, data, first_id, last_id and has_more", body)
	}
	var ids []string
	data, _ := body["data"].([]any)
	for _, d := range data {
		ids = append(ids, fmt.Sprint(get(d, "id")))
	}
	return ids, body
}

func TestVideoList(t *testing.T) {
	_, url, c, clock := videoSim(t)
	ids, body := listIDs(t, c, url, "")
	if len(ids) != 0 || body["first_id"] != nil || body["last_id"] != nil || body["has_more"] != false {
		t.Errorf("got %v, want an empty page", body)
	}
	var v []string // oldest first
	for i := range 5 {
		v = append(v, createVideo(t, c, url, map[string]any{"prompt": fmt.Sprint("video ", i)})["id"].(string))
		clock.Advance(time.Second)
	}
	rev := slices.Clone(v)
	slices.Reverse(rev)
	for _, tc := range []struct {
		query       string
		want        []string
		more        bool
		first, last string
	}{
		{"", rev, false, v[4], v[0]},
		{"?order=desc&limit=20", rev, false, v[4], v[0]},
		{"?limit=2", rev[:2], true, v[4], v[3]},
		{"?limit=2&after=" + v[3], []string{v[2], v[1]}, true, v[2], v[1]},
		{"?limit=2&after=" + v[1], []string{v[0]}, false, v[0], v[0]},
		{"?after=" + v[0], nil, false, "", ""},
		{"?order=asc", v, false, v[0], v[4]},
		{"?order=asc&limit=2&after=" + v[1], []string{v[2], v[3]}, true, v[2], v[3]},
		{"?limit=5", rev, false, v[4], v[0]},
		{"?limit=4", rev[:4], true, v[4], v[1]},
	} {
		ids, body := listIDs(t, c, url, tc.query)
		first, _ := body["first_id"].(string)
		last, _ := body["last_id"].(string)
		if !slices.Equal(ids, tc.want) || body["has_more"] != tc.more || first != tc.first || last != tc.last {
			t.Errorf("%q: got %v has_more %v first %q last %q, want %v %v %q %q", tc.query, ids, body["has_more"], first, last, tc.want, tc.more, tc.first, tc.last)
		}
	}
	// Listed videos stand as they do now.
	_, body = listIDs(t, c, url, "?limit=1")
	wantVideo(t, get(body, "data", 0).(map[string]any), map[string]any{"id": v[4], "status": "completed", "progress": 100.0})

	for _, tc := range []struct{ query, param string }{
		{"?limit=0", "limit"}, {"?limit=101", "limit"}, {"?limit=two", "limit"},
		{"?order=up", "order"}, {"?after=video_nope", "after"},
	} {
		wantError(t, do(t, c, http.MethodGet, url+"/v1/videos"+tc.query), http.StatusBadRequest, "invalid_request_error", tc.param, "")
	}
}

func TestVideoBadRequests(t *testing.T) {
	s, url, c, _ := videoSim(t)
	ctx := t.Context()
	endpoint := url + "/v1/videos"
	form := func(fields ...string) []formPart {
		var parts []formPart
		for i := 0; i+1 < len(fields); i += 2 {
			parts = append(parts, formPart{name: fields[i], value: fields[i+1]})
		}
		return parts
	}
	for _, tc := range []struct {
		name        string
		parts       []formPart     // a form, or
		json        map[string]any // a JSON body
		status      int
		param, code string
	}{
		{"seconds 5", form("prompt", "p", "seconds", "5"), nil, 400, "seconds", ""},
		{"size", form("prompt", "p", "size", "640x480"), nil, 400, "size", ""},
		{"missing prompt", form("model", "sim-video"), nil, 400, "prompt", ""},
		{"empty prompt", form("prompt", ""), nil, 400, "prompt", ""},
		{"not a video model", form("prompt", "p", "model", "sim-small"), nil, 400, "model", ""},
		{"unknown model", form("prompt", "p", "model", "sora-9"), nil, 404, "", "model_not_found"},
		{"unknown field", form("prompt", "p", "quality", "high"), nil, 400, "", ""},
		{"reference not an image", append(form("prompt", "p"), formPart{name: "input_reference", value: "plain text", file: true}),
			nil, 400, "input_reference", "unsupported_file_mimetype"},
		{"json seconds as a number", nil, map[string]any{"prompt": "p", "seconds": 4}, 400, "seconds", ""},
		{"json size", nil, map[string]any{"prompt": "p", "size": "1x1"}, 400, "size", ""},
		{"json missing prompt", nil, map[string]any{"seconds": "4"}, 400, "prompt", ""},
		{"json prompt not a string", nil, map[string]any{"prompt": []string{"p"}}, 400, "prompt", ""},
		{"json model not a string", nil, map[string]any{"prompt": "p", "model": 2}, 400, "model", ""},
		{"json not a video model", nil, map[string]any{"prompt": "p", "model": "sim-small"}, 400, "model", ""},
		{"json bad reference", nil, map[string]any{"prompt": "p", "input_reference": map[string]any{"url": "x"}}, 400, "input_reference", ""},
		{"json reference not an object", nil, map[string]any{"prompt": "p", "input_reference": "x"}, 400, "input_reference", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			if tc.json != nil {
				resp = post(t, ctx, c, endpoint, tc.json)
			} else {
				resp = postParts(t, ctx, c, endpoint, tc.parts...)
			}
			typ := "invalid_request_error"
			wantError(t, resp, tc.status, typ, tc.param, tc.code)
		})
	}
	t.Run("bad json", func(t *testing.T) {
		wantError(t, post(t, ctx, c, endpoint, []byte(`{"prompt":`)), 400, "invalid_request_error", "", "")
	})
	for _, name := range []string{"form", "json"} {
		t.Run("too large "+name, func(t *testing.T) {
			big := strings.Repeat("x", maxFormBody+1)
			var resp *http.Response
			if name == "form" {
				resp = postParts(t, ctx, c, endpoint, formPart{name: "prompt", value: "p"}, formPart{name: "input_reference", value: big, file: true})
			} else {
				resp = post(t, ctx, c, endpoint, map[string]any{"prompt": big})
			}
			wantError(t, resp, http.StatusRequestEntityTooLarge, "server_error", "", "")
		})
	}
	if ids, _ := listIDs(t, c, url, ""); len(ids) != 0 {
		t.Errorf("got %d videos kept, want none from refused creates", len(ids))
	}
	// No model and no sim-video: the model is required.
	_, url2, c2 := startSim(t, Config{Models: []Model{{Name: "sora-2"}}})
	e := wantError(t, post(t, ctx, c2, url2+"/v1/videos", map[string]any{"prompt": "p"}), 400, "invalid_request_error", "", "")
	if e["message"] != "you must provide a model parameter" {
		t.Errorf("got %v, want the missing model message", e["message"])
	}
	for i, k := range s.Calls("sim-video") {
		if k.Path != "/v1/videos" || k.Status < 400 {
			t.Errorf("call %d: got %+v, want a refused create on /v1/videos", i, k)
		}
	}
}

func TestVideoCreateFault(t *testing.T) {
	m := Model{Name: "sora-flaky", Faults: []Fault{{Type: FaultStatus, Status: 429, RetryAfter: 2 * time.Second, Times: 1}}}
	s, url, c, _ := videoSim(t, m)
	ctx := t.Context()
	body := map[string]any{"model": "sora-flaky", "prompt": "p"}

	resp := post(t, ctx, c, url+"/v1/videos", body)
	if ra := resp.Header.Get("Retry-After"); ra != "2" {
		t.Errorf("got Retry-After %q, want 2", ra)
	}
	wantError(t, resp, http.StatusTooManyRequests, "requests", "", "rate_limit_exceeded")
	createVideo(t, c, url, body)

	// A fault picked by header: content policy, then a reset connection.
	wantError(t, post(t, ctx, c, url+"/v1/videos", body, "X-Sim-Fault", "content_policy"),
		http.StatusBadRequest, "invalid_request_error", "", "content_policy_violation")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/videos", strings.NewReader(`{"model":"sora-flaky","prompt":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Sim-Fault", "reset")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("got %d, want the connection reset", resp.StatusCode)
	}

	// A remix gets faults too.
	src := createVideo(t, c, url, body)["id"].(string)
	wantError(t, post(t, ctx, c, url+"/v1/videos/"+src+"/remix", map[string]any{"prompt": "q"}, "X-Sim-Fault", "status;status=503"),
		http.StatusServiceUnavailable, "server_error", "", "")

	type outcome struct {
		path   string
		status int
		fault  FaultType
	}
	var got []outcome
	for _, k := range s.Calls("sora-flaky") {
		got = append(got, outcome{k.Path, k.Status, k.Fault})
	}
	want := []outcome{
		{"/v1/videos", 429, FaultStatus}, {"/v1/videos", 200, ""}, {"/v1/videos", 400, FaultContentPolicy},
		{"/v1/videos", 0, FaultReset}, {"/v1/videos", 200, ""}, {"/v1/videos/remix", 503, FaultStatus},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got calls %v, want %v", got, want)
	}
	if ids, _ := listIDs(t, c, url, ""); len(ids) != 2 {
		t.Errorf("got %d videos, want the 2 that were created", len(ids))
	}
}

func TestVideoStoreBound(t *testing.T) {
	var st videoStore
	for i := range maxVideos + 5 {
		st.put(&videoJob{id: fmt.Sprint("video_", i)})
	}
	if _, ok := st.get("video_4"); ok || len(st.order) != maxVideos || len(st.byID) != maxVideos {
		t.Errorf("got video_4 kept or %d/%d videos, want the oldest 5 dropped and %d kept", len(st.order), len(st.byID), maxVideos)
	}
	if _, ok := st.get("video_5"); !ok {
		t.Errorf("got video_5 dropped, want it kept")
	}
}

func TestVideoSDK(t *testing.T) {
	s, url, c, _ := videoSim(t)
	oa := openai.NewClient(oaoption.WithBaseURL(url+"/v1"), oaoption.WithAPIKey("sk-test"),
		oaoption.WithMaxRetries(0), oaoption.WithHTTPClient(c))
	ctx := t.Context()
	noExtra := func(v *openai.Video) {
		t.Helper()
		if len(v.JSON.ExtraFields) != 0 {
			t.Errorf("got unexpected fields in %s", v.RawJSON())
		}
	}

	v, err := oa.Videos.New(ctx, openai.VideoNewParams{
		Prompt: "a red caboose", Model: "sim-video", Seconds: openai.VideoSeconds8, Size: openai.VideoSize1280x720,
		InputReference: openai.VideoNewParamsInputReferenceUnion{OfFile: openai.File(bytes.NewReader(editPNG), "ref.png", "image/png")},
	})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	noExtra(v)
	if v.Status != openai.VideoStatusQueued || v.Model != "sim-video" || v.Seconds != openai.VideoSeconds8 || v.Size != openai.VideoSize1280x720 ||
		v.Prompt != "a red caboose" || v.CreatedAt != videoT0.Unix() || v.JSON.CompletedAt.Valid() || v.JSON.Error.Valid() {
		t.Errorf("got %s, want a queued video of the request", v.RawJSON())
	}
	if k := s.Calls("sim-video"); len(k) != 1 || k[0].Status != http.StatusOK {
		t.Errorf("got calls %+v, want one 200 (a multipart create)", k)
	}

	got, err := oa.Videos.Get(ctx, v.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	noExtra(got)
	if got.Status != openai.VideoStatusCompleted || got.Progress != 100 || got.CompletedAt != videoT0.Unix() ||
		got.ExpiresAt != videoT0.Add(24*time.Hour).Unix() {
		t.Errorf("got %s, want it completed", got.RawJSON())
	}

	download := func(id string, variant openai.VideoDownloadContentParamsVariant) ([]byte, string) {
		t.Helper()
		resp, err := oa.Videos.DownloadContent(ctx, id, openai.VideoDownloadContentParams{Variant: variant})
		if err != nil {
			t.Fatalf("download %s: %v", variant, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b, resp.Header.Get("Content-Type")
	}
	mp4, ctype := download(v.ID, "")
	if meta, ok := readSimVideo(mp4); ctype != "video/mp4" || !ok || meta.prompt != "a red caboose" || meta.seconds != "8" || meta.size != "1280x720" {
		t.Errorf("got %s %+v, want the video of the request", ctype, meta)
	}
	if thumb, ctype := download(v.ID, openai.VideoDownloadContentParamsVariantThumbnail); ctype != "image/webp" || !bytes.HasPrefix(thumb, []byte("RIFF")) {
		t.Errorf("got %s % x, want a WEBP", ctype, thumb[:4])
	}

	remix, err := oa.Videos.Remix(ctx, v.ID, openai.VideoRemixParams{Prompt: "at night"})
	if err != nil {
		t.Fatalf("remix: %v", err)
	}
	noExtra(remix)
	if remix.RemixedFromVideoID != v.ID || remix.Prompt != "at night" || remix.Seconds != openai.VideoSeconds8 || remix.Status != openai.VideoStatusQueued {
		t.Errorf("got %s, want a queued remix of %s", remix.RawJSON(), v.ID)
	}

	page, err := oa.Videos.List(ctx, openai.VideoListParams{Limit: openai.Int(1)})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != remix.ID || !page.HasMore || page.LastID != remix.ID {
		t.Errorf("got %s, want the remix first with more to come", page.RawJSON())
	}
	var all []string
	iter := oa.Videos.ListAutoPaging(ctx, openai.VideoListParams{Limit: openai.Int(1), Order: openai.VideoListParamsOrderAsc})
	for iter.Next() {
		all = append(all, iter.Current().ID)
	}
	if err := iter.Err(); err != nil || !slices.Equal(all, []string{v.ID, remix.ID}) {
		t.Errorf("got %v (%v) paging ascending, want %s then %s", all, err, v.ID, remix.ID)
	}

	del, err := oa.Videos.Delete(ctx, v.ID)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if del.ID != v.ID || !del.Deleted || del.Object != "video.deleted" || len(del.JSON.ExtraFields) != 0 {
		t.Errorf("got %s, want it deleted", del.RawJSON())
	}
	_, err = oa.Videos.Get(ctx, v.ID)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "video_not_found" {
		t.Errorf("got %v, want a 404 video_not_found", err)
	}
}
