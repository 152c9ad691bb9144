package main

import (
	"bytes"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeStartupFailureIsAJSONLine: when serve cannot start (a store it
// cannot reach, a port in use, a config that does not load), the reason
// is a JSON log line on stderr, level ERROR, msg "start-up failed", with
// the error (a URL's password masked) in err: what a log pipeline reads.
func TestServeStartupFailureIsAJSONLine(t *testing.T) {
	dir := t.TempDir()
	local := "store: sqlite://" + filepath.Join(dir, "sy.db") + "\nusage: {spool_path: " + filepath.Join(dir, "spool") + "}\n"
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name, text, want string
	}{
		{name: "unreachable Postgres", want: "app: store postgres://u:xxxxx@127.0.0.1:1/db",
			text: "store: postgres://u:pw-canary-77@127.0.0.1:1/db\nusage: {spool_path: " + filepath.Join(dir, "spool2") + "}\n" + validConfig},
		{name: "port in use", want: "app: listen: ",
			text: local + "server: {listen: \"" + busy.Addr().String() + "\"}\n" + validConfig},
		{name: "config that does not load", want: "server.max_body_bytes",
			text: local + "server: {max_body_bytes: -1}\n" + validConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.text)
			var out, errb bytes.Buffer
			if code := run([]string{"serve", "--config", path}, &out, &errb); code != 1 {
				t.Fatalf("serve: got %d, want 1; stderr %s", code, errb.String())
			}
			var found int
			for l := range strings.Lines(errb.String()) {
				var rec map[string]any
				if json.Unmarshal([]byte(l), &rec) != nil || rec["msg"] != "start-up failed" {
					continue
				}
				found++
				if e, _ := rec["err"].(string); rec["level"] != "ERROR" || !strings.Contains(e, tt.want) {
					t.Errorf("got %v, want level ERROR and err holding %q", rec, tt.want)
				}
			}
			if found != 1 {
				t.Errorf("got %d start-up failed lines, want 1; stderr:\n%s", found, errb.String())
			}
			if strings.Contains(errb.String(), "pw-canary-77") {
				t.Errorf("stderr holds the password:\n%s", errb.String())
			}
		})
	}
}
