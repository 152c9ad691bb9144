package gateway

import (
	"strings"
	"testing"
)

// TestSettle: while a client secret's settings are applied, the upstream's
// session.created is held and sent once, carrying the session of the
// session.updated that answers the settings; anything else first ends the
// wait with every event passed on as it came.
func TestSettle(t *testing.T) {
	const (
		created = `{"type":"session.created","event_id":"e1","session":{"instructions":""}}`
		updated = `{"type":"session.updated","event_id":"e2","session":{"instructions":"be brief"}}`
		refused = `{"type":"error","event_id":"e2","error":{"code":"invalid_value"}}`
		other   = `{"type":"conversation.item.created","event_id":"e3"}`
	)
	for _, tc := range []struct {
		name   string
		events []string
		want   []string // frames sent, one slice per event
	}{
		{"applied", []string{created, updated, other},
			[]string{"", `{"type":"session.created","event_id":"e1","session":{"instructions":"be brief"}}`, other}},
		{"refused", []string{created, refused, updated},
			[]string{"", created + "|" + refused, updated}},
		{"another event first", []string{created, other, updated},
			[]string{"", created + "|" + other, updated}},
		{"updated without a created", []string{updated, created},
			[]string{updated, created}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &session{settling: true}
			for i, ev := range tc.events {
				var got []string
				frames := [][]byte{[]byte(ev)}
				if s.settling {
					frames = s.settle([]byte(ev))
				}
				for _, f := range frames {
					got = append(got, string(f))
				}
				if g := strings.Join(got, "|"); g != tc.want[i] {
					t.Errorf("event %d: sent %q, want %q", i, g, tc.want[i])
				}
			}
			if s.settling {
				t.Error("still settling after every event")
			}
		})
	}
}
