package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRefusesWhatServeRefuses: check says "invalid" for a config
// serve refuses at start-up without connecting anywhere (an open gateway
// on a non-loopback address, a Postgres URL whose pool_max_conns pgx
// cannot take), with serve's reason and no password; the same file with
// a client key, or a good pool size, passes.
func TestCheckRefusesWhatServeRefuses(t *testing.T) {
	dir := t.TempDir()
	local := "store: sqlite://" + filepath.Join(dir, "sy.db") + "\nusage: {spool_path: " + filepath.Join(dir, "spool") + "}\n"
	const pg = "store: postgres://u:pw-canary-51@127.0.0.1:1/db?pool_max_conns="
	tests := []struct {
		name, text string
		want       string // in check's and serve's stderr; "" when valid
	}{
		{name: "open gateway off loopback", text: local + "server: {listen: \"0.0.0.0:18397\"}\n" + validConfig,
			want: `no API key is configured, so the gateway only serves on a loopback address; "0.0.0.0:18397" is not one`},
		{name: "keyed gateway off loopback", text: local + "server: {listen: \"0.0.0.0:18397\", api_keys: [k1]}\n" + validConfig},
		{name: "bad pool_max_conns", text: pg + "abc\n" + validConfig,
			want: `postgres: pool_max_conns "abc" is not a positive integer`},
		{name: "good pool_max_conns", text: pg + "4\n" + validConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.text)
			var out, errb bytes.Buffer
			code := run([]string{"check", "--config", path}, &out, &errb)
			if tt.want == "" {
				if code != 0 {
					t.Errorf("check: got %d (%s), want 0", code, errb.String())
				}
				return
			}
			if code != 1 || !strings.Contains(errb.String(), path+": invalid") || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("check: got %d, stdout %q, stderr %q; want 1 and %q", code, out.String(), errb.String(), tt.want)
			}
			var sout, serr bytes.Buffer
			if code := run([]string{"serve", "--config", path}, &sout, &serr); code != 1 || !strings.Contains(serr.String(), tt.want) {
				t.Errorf("serve: got %d, stderr %q; want 1 and %q", code, serr.String(), tt.want)
			}
			if all := out.String() + errb.String() + sout.String() + serr.String(); strings.Contains(all, "pw-canary-51") {
				t.Errorf("output contains the password: %s", all)
			}
		})
	}
}
