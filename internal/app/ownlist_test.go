package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// listed is a list page as the gateway sent it, with its raw body.
type listed struct {
	status int
	body   string
	Data   []struct {
		ID string `json:"id"`
	} `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

func (p listed) ids() []string {
	var ids []string
	for _, d := range p.Data {
		ids = append(ids, d.ID)
	}
	return ids
}

// shape is p with id written as ID: the same for two pages that differ
// only in which one object they hold.
func (p listed) shape(id string) string {
	name := func(s string) string {
		if s == id {
			return "ID"
		}
		return s
	}
	var first, last string
	if p.FirstID != nil {
		first = name(*p.FirstID)
	}
	if p.LastID != nil {
		last = name(*p.LastID)
	}
	ids := p.ids()
	for i := range ids {
		ids[i] = name(ids[i])
	}
	return fmt.Sprintf("%d %v first %q last %q has_more %v", p.status, ids, first, last, p.HasMore)
}

// listAs GETs base+path?query with key.
func listAs(t *testing.T, hc *http.Client, base, key, path, query string) listed {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := listed{status: resp.StatusCode, body: string(b)}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s?%s: %v: %s", path, query, err, b)
		}
	}
	return p
}

// walk pages through path with key, limit at a time, following last_id
// while has_more, and returns the ids seen; a page that is not full
// before the end, or an extra empty one, is an error.
func walk(t *testing.T, hc *http.Client, base, key, path, query string, limit int) []string {
	t.Helper()
	var ids []string
	after := ""
	for range 100 {
		q := fmt.Sprintf("%s&limit=%d", query, limit)
		if after != "" {
			q += "&after=" + after
		}
		p := listAs(t, hc, base, key, path, q)
		if p.status != 200 {
			t.Fatalf("%s?%s: %d %s", path, q, p.status, p.body)
		}
		got := p.ids()
		ids = append(ids, got...)
		if len(got) > 0 && (p.FirstID == nil || *p.FirstID != got[0] || p.LastID == nil || *p.LastID != got[len(got)-1]) {
			t.Errorf("%s?%s: first_id %v, last_id %v for %v", path, q, p.FirstID, p.LastID, got)
		}
		if !p.HasMore {
			return ids
		}
		if len(got) != limit {
			t.Fatalf("%s?%s: %d items with has_more, want %d: %s", path, q, len(got), limit, p.body)
		}
		after = *p.LastID
	}
	t.Fatalf("%s?%s: no end after 100 pages", path, query)
	return nil
}

// noneOf fails when body names any of ids.
func noneOf(t *testing.T, what, body string, ids []string) {
	t.Helper()
	for _, id := range ids {
		if strings.Contains(body, id) {
			t.Errorf("%s names %s, not the caller's: %s", what, id, body)
		}
	}
}

// TestStoredCompletionListOwnOnly: the stored completions list of a
// tenant, on an upstream account it shares with another tenant and with
// users outside the gateway, names nothing but its own completions: not
// in data, first_id or last_id, for any limit, order, after or metadata
// filter; paging with after walks exactly its own, has_more false on the
// last; a metadata filter matching only another tenant's completions is
// answered as one matching nothing; an after naming another tenant's
// completion is the 400 of one that does not exist.
func TestStoredCompletionListOwnOnly(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startTenantStack(t, simURL, sqliteExtra(t, ""))
	acme := s.newKey("acme", admin.KeyCreate{}).Secret
	evil := s.newKey("evil", admin.KeyCreate{}).Secret
	store := func(base, key, project string) string {
		t.Helper()
		body := `{"model":"medium","store":true,"metadata":{"project":"` + project + `"},"messages":[{"role":"user","content":"hi"}]}`
		if base == simURL {
			body = strings.Replace(body, `"medium"`, `"sim-medium"`, 1)
		}
		code, resp, _ := chat(s.hc, base, key, body)
		var c struct{ ID string }
		if json.Unmarshal([]byte(resp), &c); code != 200 || c.ID == "" {
			t.Fatalf("store: %d %s", code, resp)
		}
		return c.ID
	}
	// Interleaved, oldest first: foreign ones before, between and after
	// acme's, some matching acme's metadata.
	var mine, evils, outside []string
	for i := range 5 {
		outside = append(outside, store(simURL, "other", "merger-with-globex"))
		project := "launch"
		if i%2 == 1 {
			project = "merger-with-globex"
		}
		mine = append(mine, store(s.base, acme, project))
		evils = append(evils, store(s.base, evil, "evil-"+project))
	}
	outside = append(outside, store(simURL, "other", "merger-with-globex"))
	notAcme := slices.Concat(evils, outside)
	merger := []string{mine[1], mine[3]}

	for _, order := range []string{"", "asc", "desc"} {
		want := slices.Clone(mine)
		if order == "desc" {
			slices.Reverse(want)
		}
		wantMerger := slices.Clone(merger)
		if order == "desc" {
			slices.Reverse(wantMerger)
		}
		for limit := 1; limit <= 6; limit++ {
			q := ""
			if order != "" {
				q = "order=" + order
			}
			if got := walk(t, s.hc, s.base, acme, "/v1/chat/completions", q, limit); !slices.Equal(got, want) {
				t.Errorf("acme's walk, %s limit %d: %v, want %v", q, limit, got, want)
			}
			q += "&metadata%5Bproject%5D=merger-with-globex"
			if got := walk(t, s.hc, s.base, acme, "/v1/chat/completions", q, limit); !slices.Equal(got, wantMerger) {
				t.Errorf("acme's walk, %s limit %d: %v, want %v", q, limit, got, wantMerger)
			}
		}
	}
	for _, q := range []string{"", "limit=1", "limit=2&after=" + mine[1], "limit=1&order=desc&after=" + mine[0],
		"limit=1&after=" + mine[4], "order=desc&limit=3&after=" + mine[3], "limit=1&metadata%5Bproject%5D=merger-with-globex",
		"limit=1&after=" + mine[3] + "&metadata%5Bproject%5D=merger-with-globex"} {
		p := listAs(t, s.hc, s.base, acme, "/v1/chat/completions", q)
		if p.status != 200 {
			t.Errorf("acme ?%s: %d %s", q, p.status, p.body)
		}
		noneOf(t, "acme's ?"+q, p.body, notAcme)
	}

	// The oracle: evil guesses acme's metadata. A right guess and a wrong
	// one get the same answer, with or without a completion of evil's
	// matching, and nothing of acme's or the outsiders' is named.
	own := store(s.base, evil, "merger-with-globex")
	ownWrong := store(s.base, evil, "merger-with-initech")
	for _, q := range []string{"limit=1", "", "limit=1&order=desc", "limit=100"} {
		right := listAs(t, s.hc, s.base, evil, "/v1/chat/completions", q+"&metadata%5Bproject%5D=merger-with-globex")
		wrong := listAs(t, s.hc, s.base, evil, "/v1/chat/completions", q+"&metadata%5Bproject%5D=merger-with-initech")
		if right.status != 200 || wrong.status != 200 || right.shape(own) != wrong.shape(ownWrong) {
			t.Errorf("evil's guesses ?%s differ:\nright %d %s\nwrong %d %s", q, right.status, right.body, wrong.status, wrong.body)
		}
		if !slices.Equal(right.ids(), []string{own}) || right.HasMore {
			t.Errorf("evil's right guess ?%s: %s, want only %s", q, right.body, own)
		}
		for _, p := range []listed{right, wrong} {
			noneOf(t, "evil's guess ?"+q, p.body, slices.Concat(mine, outside))
		}
		none := listAs(t, s.hc, s.base, evil, "/v1/chat/completions", q+"&metadata%5Bproject%5D=launch")
		if none.body != `{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}` {
			t.Errorf("evil's guess of acme's other project ?%s: %s", q, none.body)
		}
	}
	if got := walk(t, s.hc, s.base, evil, "/v1/chat/completions", "", 1); !slices.Equal(got, append(slices.Clone(evils), own, ownWrong)) {
		t.Errorf("evil's walk: %v, want its own %v", got, evils)
	}

	// after: another tenant's id is the 400 of one that does not exist,
	// never tried upstream; before is not taken.
	foreign := listAs(t, s.hc, s.base, evil, "/v1/chat/completions", "limit=1&after="+mine[2])
	unknown := listAs(t, s.hc, s.base, evil, "/v1/chat/completions", "limit=1&after=chatcmpl-nosuch")
	if foreign.status != 400 || unknown.status != 400 || strings.ReplaceAll(foreign.body, mine[2], "ID") != strings.ReplaceAll(unknown.body, "chatcmpl-nosuch", "ID") {
		t.Errorf("after another tenant's id: %d %s; after an unknown one: %d %s", foreign.status, foreign.body, unknown.status, unknown.body)
	}
	for _, q := range []string{"before=" + mine[2], "limit=0", "limit=101", "limit=x"} {
		if p := listAs(t, s.hc, s.base, acme, "/v1/chat/completions", q); p.status != 400 {
			t.Errorf("?%s: %d %s, want 400", q, p.status, p.body)
		}
	}
}

// TestStoredCompletionListBound: behind more of others' completions than
// one list request reads upstream, the tenant's next one is not found:
// the page says has_more, names no one else's completion, and a page that
// found nothing has no cursor.
func TestStoredCompletionListBound(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startTenantStack(t, simURL, sqliteExtra(t, ""))
	acme := s.newKey("acme", admin.KeyCreate{}).Secret
	body := `{"model":"medium","store":true,"messages":[{"role":"user","content":"hi"}]}`
	storeAcme := func() string {
		t.Helper()
		code, resp, _ := chat(s.hc, s.base, acme, body)
		var c struct{ ID string }
		if json.Unmarshal([]byte(resp), &c); code != 200 || c.ID == "" {
			t.Fatalf("store: %d %s", code, resp)
		}
		return c.ID
	}
	first := storeAcme()
	// 1050 others' completions: more than the 10 upstream pages of 100.
	var (
		mu      sync.Mutex
		outside []string
		wg      sync.WaitGroup
	)
	work := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for range work {
				code, resp, _ := chat(s.hc, simURL, "other", strings.Replace(body, `"medium"`, `"sim-medium"`, 1))
				var c struct{ ID string }
				if json.Unmarshal([]byte(resp), &c); code != 200 || c.ID == "" {
					t.Errorf("store at the sim: %d %s", code, resp)
					continue
				}
				mu.Lock()
				outside = append(outside, c.ID)
				mu.Unlock()
			}
		})
	}
	for range 1050 {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	last := storeAcme()

	p := listAs(t, s.hc, s.base, acme, "/v1/chat/completions", "limit=1")
	if p.status != 200 || !slices.Equal(p.ids(), []string{first}) || !p.HasMore || *p.LastID != first {
		t.Errorf("first page: %d %s", p.status, p.body)
	}
	p = listAs(t, s.hc, s.base, acme, "/v1/chat/completions", "limit=1&after="+first)
	if p.body != `{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":true}` {
		t.Errorf("after the first, behind 1050 others': %d %s", p.status, p.body)
	}
	for _, q := range []string{"limit=1&order=desc", "limit=2&order=desc"} {
		p = listAs(t, s.hc, s.base, acme, "/v1/chat/completions", q)
		if p.status != 200 || !slices.Equal(p.ids(), []string{last}) || !p.HasMore {
			t.Errorf("?%s: %d %s", q, p.status, p.body)
		}
		noneOf(t, "?"+q, p.body, outside)
	}
}

// TestVideoListOwnOnly: the videos list of a tenant names only its own
// videos, among another tenant's and an outsider's at the same account:
// paging with after walks exactly its own in either order, has_more false
// on the last page, and no page names another's video (the upstream's
// cursor of a page of others' videos included).
func TestVideoListOwnOnly(t *testing.T) {
	simURL := startSim(t, fastSim())
	s := startEditedTenantStack(t, simURL, sqliteExtra(t, ""), func(c string) string {
		return strings.Replace(c, "routes:\n", videoDeployments, 1)
	})
	acme := s.newKey("acme", admin.KeyCreate{}).Secret
	evil := s.newKey("evil", admin.KeyCreate{}).Secret
	create := func(base, key string) string {
		t.Helper()
		model := "sora"
		if base == simURL {
			model = "sim-video"
		}
		req, _ := http.NewRequest("POST", base+"/v1/videos", strings.NewReader(`{"model":"`+model+`","prompt":"a train","seconds":"4"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ ID string }
		b, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(b, &v); resp.StatusCode != 200 || v.ID == "" {
			t.Fatalf("create: %d %s", resp.StatusCode, b)
		}
		return v.ID
	}
	var mine, others []string
	for range 4 {
		others = append(others, create(simURL, "other"), create(s.base, evil))
		mine = append(mine, create(s.base, acme))
	}
	others = append(others, create(s.base, evil), create(simURL, "other"))

	for _, order := range []string{"", "desc", "asc"} {
		want := slices.Clone(mine)
		if order != "asc" { // newest first by default
			slices.Reverse(want)
		}
		for limit := 1; limit <= 5; limit++ {
			q := ""
			if order != "" {
				q = "order=" + order
			}
			if got := walk(t, s.hc, s.base, acme, "/v1/videos", q, limit); !slices.Equal(got, want) {
				t.Errorf("acme's walk, order %q limit %d: %v, want %v", order, limit, got, want)
			}
		}
	}
	for _, q := range []string{"limit=1", "limit=2&after=" + mine[2], "limit=1&after=" + mine[0], "order=asc&limit=1&after=" + mine[3]} {
		p := listAs(t, s.hc, s.base, acme, "/v1/videos", q)
		if p.status != 200 {
			t.Errorf("acme ?%s: %d %s", q, p.status, p.body)
		}
		noneOf(t, "acme's ?"+q, p.body, others)
	}
	// A tenant with no video of its own sees an empty list and no cursor.
	bystander := s.newKey("bystander", admin.KeyCreate{}).Secret
	for _, q := range []string{"limit=1", "", "order=asc&limit=1"} {
		if p := listAs(t, s.hc, s.base, bystander, "/v1/videos", q); p.body != `{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}` {
			t.Errorf("bystander ?%s: %d %s", q, p.status, p.body)
		}
	}
	q := url.Values{"limit": {"1"}, "after": {mine[1]}}.Encode()
	if p := listAs(t, s.hc, s.base, evil, "/v1/videos", q); p.status != 400 || strings.Contains(p.body, mine[0]) {
		t.Errorf("evil after acme's video: %d %s, want 400", p.status, p.body)
	}
	if p := listAs(t, s.hc, s.base, acme, "/v1/videos", "before="+mine[1]); p.status != 400 {
		t.Errorf("before: %d %s, want 400", p.status, p.body)
	}
}
