package gateway

import (
	"strings"
	"testing"
	"time"
)

// TestClientSecretTokens: a minted client secret reads back until it
// expires; a changed payload, a changed signature, another signing key
// and malformed tokens are all refused.
func TestClientSecretTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	cs := clientSecret{ID: "abc", KeyID: "key_1", Tenant: "acme", Expires: now.Add(time.Minute).Unix(), Model: "voice"}
	token, err := mintClientSecret(key, cs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, clientSecretPrefix) {
		t.Fatalf("token %q", token)
	}
	if got, err := readClientSecret(key, token, now); err != nil || got != cs {
		t.Fatalf("read back %+v, %v; want %+v", got, err, cs)
	}
	if _, err := readClientSecret(key, token, now.Add(time.Minute)); err == nil {
		t.Error("an expired secret was read")
	}
	if _, err := readClientSecret([]byte("another key, also thirty-two chars"), token, now); err == nil {
		t.Error("a secret signed with another key was read")
	}
	payload, mac, _ := strings.Cut(strings.TrimPrefix(token, clientSecretPrefix), ".")
	other, _ := mintClientSecret(key, clientSecret{ID: "abc", KeyID: "key_2", Tenant: "acme", Expires: cs.Expires})
	otherPayload, otherMAC, _ := strings.Cut(strings.TrimPrefix(other, clientSecretPrefix), ".")
	for name, bad := range map[string]string{
		"another key's payload":   clientSecretPrefix + otherPayload + "." + mac,
		"another payload's MAC":   clientSecretPrefix + payload + "." + otherMAC,
		"no MAC":                  clientSecretPrefix + payload,
		"no prefix":               strings.TrimPrefix(token, clientSecretPrefix),
		"bad base64":              clientSecretPrefix + "!!!." + mac,
		"empty":                   "",
		"too long":                token + strings.Repeat("A", maxClientSecretLen),
		"a flipped payload byte":  clientSecretPrefix + flip(payload) + "." + mac,
		"a flipped MAC character": clientSecretPrefix + payload + "." + flip(mac),
	} {
		if _, err := readClientSecret(key, bad, now); err == nil {
			t.Errorf("%s: read", name)
		}
	}
}

// flip changes the first character of s.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestSessionUpdate: a client secret's settings go upstream as a
// session.update of type realtime.
func TestSessionUpdate(t *testing.T) {
	if got := string(sessionUpdate([]byte(`{"instructions":"be brief"}`))); got != `{"type":"session.update","session":{"instructions":"be brief","type":"realtime"}}` {
		t.Errorf("got %s", got)
	}
}
