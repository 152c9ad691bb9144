package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validConfig = `
providers:
  - {name: p, kind: openai, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: d, provider: p, model: m}
routes:
  - {name: r, targets: [d]}
`

// threeProblems has exactly three problems, each on its own path.
const threeProblems = `
server:
  max_body_bytes: -1
providers:
  - {name: p, kind: openai1, base_url: "http://127.0.0.1:1/v1"}
deployments:
  - {name: d, provider: p, model: m}
routes:
  - {name: r, targets: [d, nowhere]}
`

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLI(t *testing.T) {
	good := writeFile(t, "good.yaml", validConfig)
	bad := writeFile(t, "bad.yaml", threeProblems)
	missingRouter := writeFile(t, "learned.yaml", validConfig+"  - name: lr\n    policy: learned\n    targets: [d]\n    learned: {router_file: /nonexistent/router.json, quality: 0.5}\n")
	badRedis := writeFile(t, "redis.yaml", "limits: \"redis://127.0.0.1:6379/notadb\"\n"+validConfig)
	badNATS := writeFile(t, "nats.yaml", "batch: {queue: \"nats://127.0.0.1:bad\"}\n"+validConfig)
	badSim := writeFile(t, "sim.yaml", "models:\n  - name: m\n    faults: [{type: explode}]\n")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "no arguments prints usage", args: nil, wantCode: 2, wantStderr: []string{"usage: switchyard"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: []string{`unknown command "frobnicate"`, "usage: switchyard"}},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: []string{"usage: switchyard", "check"}},
		{name: "check valid file", args: []string{"check", "--config", good}, wantCode: 0,
			wantStdout: []string{good + ": ok", "1 providers, 1 deployments, 1 routes"}},
		{name: "check lists every problem", args: []string{"check", "--config", bad}, wantCode: 1,
			wantStderr: []string{bad + ": invalid", "3 problems", "server.max_body_bytes", "providers[0].kind", `routes[0].targets[1]: unknown target "nowhere"`}},
		{name: "check a router file that does not load", args: []string{"check", "--config", missingRouter}, wantCode: 1,
			wantStderr: []string{missingRouter + ": invalid", `route "lr"`, "/nonexistent/router.json"}},
		{name: "a subcommand's --help", args: []string{"check", "--help"}, wantCode: 0, wantStderr: []string{"-config"}},
		{name: "route train --help", args: []string{"route", "train", "--help"}, wantCode: 0, wantStderr: []string{"-data"}},
		{name: "check with a stray argument", args: []string{"check", "--config", good, "extra"}, wantCode: 2, wantStderr: []string{`unexpected argument "extra"`}},
		{name: "cache purge with a stray argument", args: []string{"cache", "purge", "--admin-url", "http://127.0.0.1:1", "--admin-key", "k", "t1"}, wantCode: 2,
			wantStderr: []string{`switchyard cache purge: unexpected argument "t1"`}},
		{name: "keys list with a stray argument", args: []string{"keys", "list", "--admin-url", "http://127.0.0.1:1", "--admin-key", "k", "x"}, wantCode: 2,
			wantStderr: []string{`switchyard keys list: unexpected argument "x"`}},
		{name: "check a Redis URL its client refuses", args: []string{"check", "--config", badRedis}, wantCode: 1, wantStderr: []string{"limits:"}},
		{name: "check a NATS URL with a bad port", args: []string{"check", "--config", badNATS}, wantCode: 1, wantStderr: []string{"batch.queue"}},
		{name: "check missing file", args: []string{"check", "--config", filepath.Join(t.TempDir(), "nope.yaml")}, wantCode: 1, wantStderr: []string{"invalid"}},
		{name: "check without --config", args: []string{"check"}, wantCode: 2, wantStderr: []string{"--config is required"}},
		{name: "check with an unknown flag", args: []string{"check", "--nope"}, wantCode: 2},
		{name: "sim with a bad config", args: []string{"sim", "--listen", "127.0.0.1:0", "--config", badSim}, wantCode: 1,
			wantStderr: []string{"switchyard sim:", `unknown fault type "explode"`}},
		{name: "serve with a bad config", args: []string{"serve", "--config", bad}, wantCode: 1, wantStderr: []string{"switchyard:", "server.max_body_bytes"}},
		{name: "route without subcommand", args: []string{"route"}, wantCode: 2},
		{name: "help lists route export", args: []string{"--help"}, wantCode: 0, wantStdout: []string{"train|eval|explain|export"}},
		{name: "route --help", args: []string{"route", "--help"}, wantCode: 0, wantStdout: []string{"usage: switchyard route", "export"}},
		{name: "keys --help needs no admin key", args: []string{"keys", "--help"}, wantCode: 0, wantStdout: []string{"usage: switchyard keys", "rotate KEY_ID"}},
		{name: "keys with an unknown subcommand", args: []string{"keys", "frob"}, wantCode: 2, wantStderr: []string{`unknown subcommand "frob"`}},
		{name: "cache --help", args: []string{"cache", "--help"}, wantCode: 0, wantStdout: []string{"usage: switchyard cache purge"}},
		{name: "keys revoke with a stray second id", args: []string{"keys", "revoke", "key_a", "--admin-url", "http://127.0.0.1:1", "--admin-key", "k", "key_b"}, wantCode: 2,
			wantStderr: []string{`unexpected argument "key_b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.wantCode {
				t.Errorf("exit code: got %d, want %d (stdout %q, stderr %q)", code, tt.wantCode, out.String(), errb.String())
			}
			for _, s := range tt.wantStdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout: got %q, want it to contain %q", out.String(), s)
				}
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr: got %q, want it to contain %q", errb.String(), s)
				}
			}
		})
	}
}

// TestCheckNeverPrintsSecrets: a key resolved from the environment must not
// appear in check's output, valid or not.
func TestCheckNeverPrintsSecrets(t *testing.T) {
	const canary = "sk-canary-cli-7f3e9a"
	t.Setenv("CLI_TEST_KEY", canary)
	for _, tt := range []struct {
		name, text string
		wantCode   int
	}{
		{name: "valid", text: validConfig + "server:\n  api_keys: [\"${CLI_TEST_KEY}\"]\n", wantCode: 0},
		{name: "invalid", text: strings.Replace(threeProblems, "server:\n", "server:\n  api_keys: [\"${CLI_TEST_KEY}\"]\n", 1), wantCode: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.text)
			var out, errb bytes.Buffer
			if code := run([]string{"check", "--config", path}, &out, &errb); code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d (%s)", code, tt.wantCode, errb.String())
			}
			if tt.wantCode == 1 && !strings.Contains(errb.String(), "3 problems") {
				t.Errorf("stderr: got %q, want the 3 problems of the file", errb.String())
			}
			if strings.Contains(out.String()+errb.String(), canary) {
				t.Errorf("output contains the secret: %s%s", out.String(), errb.String())
			}
		})
	}
}
