package admin

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/tenancy"
)

// TestFailedSignInsLimited: after maxFailures invalid keys from one
// address within failureWindow, that address is refused at once, the
// admin key too, with a Retry-After, until the window ends; the first
// failure and the one at the limit are logged with the address and never
// the key; a request without a key is not counted (found by audit H: a
// hand-chosen admin.key could be guessed at the listener's rate, unseen).
func TestFailedSignInsLimited(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.srv.Close()
	e.srv = httptest.NewServer(New(Options{Store: e.st, AdminKey: adminKey, Now: func() time.Time { return e.now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
	defer e.srv.Close()
	for range 20 {
		if code, _ := e.do("", "GET", "/admin/whoami", nil); code != 401 {
			t.Fatalf("no key: got %d, want 401", code)
		}
	}
	for i := range maxFailures {
		if code, _ := e.do("guess-"+string(rune('a'+i)), "GET", "/admin/whoami", nil); code != 401 {
			t.Fatalf("guess %d: got %d, want 401", i, code)
		}
	}
	code, b := e.do(adminKey, "GET", "/admin/whoami", nil)
	if code != 429 || !strings.Contains(string(b), "too_many_failed_sign_ins") {
		t.Errorf("the admin key after %d guesses: got %d %s, want 429 too_many_failed_sign_ins", maxFailures, code, b)
	}
	if got := strings.Count(logs.String(), "sign-in refused"); got != 2 || strings.Contains(logs.String(), "guess-") {
		t.Errorf("logs %q: want 2 sign-in lines (the first failure and the limit), no key", logs.String())
	}
	e.now = e.now.Add(failureWindow)
	if code, b := e.do(adminKey, "GET", "/admin/whoami", nil); code != 200 {
		t.Errorf("the admin key once the window ended: got %d %s, want 200", code, b)
	}
}

// The count of failed sign-ins holds against what audit V tried: a good
// key (a tenant admin's own) signing in between guesses does not clear
// them; tries sent together are counted before their keys are checked, so
// no more than maxFailures pass; and the addresses counted are bounded
// without dropping a blocked one: past maxTracked, addresses share one
// count; an IPv6 client is counted by its /64.
func TestSignInCountHolds(t *testing.T) {
	e := newEnv(t)
	e.tenant("t1", tenancy.Limits{})
	ta := e.key(KeyCreate{TenantID: "t1", Role: store.RoleTenantAdmin})
	refused := 0
	for i := range 30 {
		if i%5 == 4 {
			e.do(ta.Secret, "GET", "/admin/whoami", nil)
			continue
		}
		if code, _ := e.do("guess", "GET", "/admin/whoami", nil); code == 429 {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("24 guesses with a tenant admin's sign-in every 4: none refused, want the address blocked after %d", maxFailures)
	}

	var s signins
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var passed atomic.Int32
	for range 100 {
		wg.Go(func() {
			if s.attempt("10.0.0.1", now) == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if passed.Load() != maxFailures {
		t.Errorf("100 tries at once: %d passed, want %d", passed.Load(), maxFailures)
	}
	for i := range maxTracked + 50 {
		s.attempt(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String(), now)
	}
	if len(s.byAddr) > maxTracked+1 {
		t.Errorf("got %d addresses, want at most %d and the shared count", len(s.byAddr), maxTracked)
	}
	if s.attempt("10.0.0.1", now) == 0 {
		t.Error("the blocked address was let in once the table filled")
	}
	blockedShared := false
	for i := range maxFailures + 1 {
		if s.attempt(netip.AddrFrom4([4]byte{10, 2, 0, byte(i)}).String(), now) > 0 {
			blockedShared = true
		}
	}
	if !blockedShared {
		t.Error("addresses past the table's size are not limited")
	}
	if a, b := clientAddr("[2001:db8::1]:5000"), clientAddr("[2001:db8::ffff]:6000"); a != b || a != "2001:db8::/64" {
		t.Errorf("IPv6 clients of one /64: counted as %q and %q, want both 2001:db8::/64", a, b)
	}
	if got := clientAddr("[::ffff:127.0.0.2]:80"); got != "127.0.0.2" {
		t.Errorf("an IPv4-mapped address: counted as %q, want 127.0.0.2", got)
	}
}

// reset forgets every count (tests whose cases are sign-ins of their own).
func (s *signins) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.byAddr)
}
