package admin

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// TestSignInWindowBounded: the addresses counted are bounded.
func TestSignInWindowBounded(t *testing.T) {
	var s signins
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxTracked + 5 {
		s.failed(strings.Repeat("a", i%7)+string(rune(i)), now)
	}
	if len(s.byAddr) > maxTracked {
		t.Errorf("got %d addresses, want at most %d", len(s.byAddr), maxTracked)
	}
}
