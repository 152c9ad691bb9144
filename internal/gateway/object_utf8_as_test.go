package gateway

import (
	"strings"
	"testing"
)

// TestRelayedObjectBodiesMustBeUTF8: the bodies the gateway relays as
// they are (a conversation's, a compaction's) are refused when not UTF-8,
// as the parsed endpoints' are, instead of reaching the upstream as sent
// (audit AS, AS1).
func TestRelayedObjectBodiesMustBeUTF8(t *testing.T) {
	bad := []byte("{\"model\":\"m\",\"metadata\":{\"topic\":\"caf\xe9\"}}")
	if _, err := conversationBody(bad); err == nil || !strings.Contains(err.Error(), "UTF-8, and byte 37 is not") {
		t.Errorf("conversation body: got %v, want refused naming byte 37", err)
	}
	if _, err := compactModel(bad); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("compaction body: got %v, want refused as not UTF-8", err)
	}
	if _, err := conversationBody([]byte(`{"metadata":{"topic":"café \ud800"}}`)); err != nil {
		t.Errorf("valid UTF-8 with an escaped lone surrogate: got %v, want accepted", err)
	}
}
