package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTenancyParse(t *testing.T) {
	env := func(name string) string {
		return map[string]string{"PG": "postgres://u:pw-canary@127.0.0.1:5432/db", "ADMIN": "adm-canary"}[name]
	}
	data := `
store: ${PG}
limits: redis://127.0.0.1:6379/0
replicas: 3
admin: {listen: "127.0.0.1:9091", key: "${ADMIN}"}
usage: {queue_size: 10, batch_size: 5, flush_interval: 250ms, spool_path: /tmp/x.spool}
auth: {key_cache_ttl: 2s}
` + validTail
	c, err := Parse([]byte(data), env)
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	if got, want := c.Store.Value(), "postgres://u:pw-canary@127.0.0.1:5432/db"; got != want {
		t.Errorf("got store %q, want %q", got, want)
	}
	if got, want := c.Admin.Key.Value(), "adm-canary"; got != want {
		t.Errorf("got admin key %q, want %q", got, want)
	}
	if c.Replicas != 3 || c.Usage.BatchSize != 5 || c.Auth.KeyCacheTTL.D() != 2*time.Second || c.Usage.FlushInterval.D() != 250*time.Millisecond {
		t.Errorf("got %+v %+v %+v, want the file's values", c.Replicas, c.Usage, c.Auth)
	}
	red := c.Redacted()
	for _, canary := range []string{"pw-canary", "adm-canary"} {
		if strings.Contains(red, canary) {
			t.Errorf("got Redacted containing %q, want it hidden", canary)
		}
	}
	if _, err := Parse([]byte(red), env); err != nil {
		t.Errorf("got %v reparsing Redacted output, want no error", err)
	}
}

func TestTenancyDefaults(t *testing.T) {
	c, err := Parse([]byte(validTail), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != DefaultStore || c.Limits != LimitsMemory || c.Admin.Listen != DefaultAdminListen || c.Auth.KeyCacheTTL.D() != 5*time.Second {
		t.Errorf("got store %q limits %q admin %q ttl %s, want the defaults", c.Store, c.Limits, c.Admin.Listen, c.Auth.KeyCacheTTL)
	}
}

func TestTenancyInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, path, msg string
	}{
		{name: "store scheme", yaml: "store: mysql://u:secretpw@h/db", path: "store", msg: `got scheme "mysql"`},
		{name: "store sqlite no path", yaml: "store: sqlite://", path: "store", msg: "needs a path"},
		{name: "limits scheme", yaml: "limits: memcache://h", path: "limits", msg: `got scheme "memcache"`},
		{name: "limits no scheme", yaml: "limits: secretpw", path: "limits", msg: `got scheme "(none)"`},
		{name: "replicas", yaml: "replicas: -1", path: "replicas", msg: "must be positive"},
		{name: "admin listen", yaml: "admin: {listen: nope}", path: "admin.listen", msg: "want host:port"},
		{name: "same listener", yaml: "server: {listen: 127.0.0.1:8080}\nadmin: {listen: 127.0.0.1:8080, key: k}", path: "admin.listen", msg: "must differ"},
		{name: "same port, wildcard admin", yaml: "server: {listen: 127.0.0.1:8080}\nadmin: {listen: 0.0.0.0:8080, key: k}", path: "admin.listen", msg: "must differ"},
		{name: "same port, empty host", yaml: "server: {listen: ':8080'}\nadmin: {listen: 127.0.0.1:8080, key: k}", path: "admin.listen", msg: "must differ"},
		{name: "same port, localhost", yaml: "server: {listen: 127.0.0.1:8080}\nadmin: {listen: localhost:8080, key: k}", path: "admin.listen", msg: "must differ"},
		{name: "same port, IPv6 spelling", yaml: "server: {listen: '[::1]:8080'}\nadmin: {listen: '[0:0:0:0:0:0:0:1]:8080', key: k}", path: "admin.listen", msg: "must differ"},
		{name: "batch", yaml: "usage: {batch_size: -2}", path: "usage.batch_size", msg: "must be positive"},
		{name: "admin key is the master key", yaml: "server: {master_key: secretpw}\nadmin: {key: secretpw}", path: "admin.key", msg: "must differ"},
		{name: "admin key is a client key", yaml: "server: {api_keys: [a-key, secretpw]}\nadmin: {key: secretpw}", path: "admin.key", msg: "must differ"},
		{name: "ttl", yaml: "auth: {key_cache_ttl: -1s}", path: "auth.key_cache_ttl", msg: "positive duration"},
		{name: "batch queue scheme", yaml: "batch: {queue: 'redis://u:secretpw@h'}", path: "batch.queue", msg: `got scheme "redis"`},
		// NATS's own error would quote the URL, password and all
		// (found by audit R).
		{name: "batch queue URL", yaml: "batch: {queue: 'nats://u:Zm9v/secretpw@h:4222'}", path: "batch.queue", msg: "not a valid URL"},
		{name: "batch queue second URL", yaml: "batch: {queue: 'nats://h:4222,nats://u:a%zsecretpw@h2:4222'}", path: "batch.queue", msg: "not a valid URL"},
		{name: "batch stream", yaml: "batch: {stream: a.b}", path: "batch.stream", msg: "only letters"},
		{name: "batch workers", yaml: "batch: {workers: -1}", path: "batch.workers", msg: "must be positive"},
		{name: "batch concurrency", yaml: "batch: {concurrency: -1}", path: "batch.concurrency", msg: "must be positive"},
		{name: "batch max file", yaml: "batch: {max_file_bytes: -1}", path: "batch.max_file_bytes", msg: "must be positive"},
		{name: "batch retention", yaml: "batch: {retention: 24h}", path: "batch.retention", msg: "at least 48h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml+"\n"+validTail), getenv)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			found := false
			for _, p := range verr.Problems {
				if p.Path == tt.path && strings.Contains(p.Msg, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v, want a problem at %s containing %q", err, tt.path, tt.msg)
			}
			if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("got %v, want the password kept out", err)
			}
		})
	}
}

func TestListenersThatCanShareAPort(t *testing.T) {
	for _, tt := range []struct{ server, admin string }{
		{"127.0.0.1:8080", "127.0.0.1:8081"},
		{"127.0.0.1:0", "127.0.0.1:0"},
		{"127.0.0.1:8080", "[::1]:8080"},
		{"10.0.0.1:8080", "127.0.0.1:8080"},
	} {
		yaml := "server: {listen: '" + tt.server + "'}\nadmin: {listen: '" + tt.admin + "', key: k}\n" + validTail
		if _, err := Parse([]byte(yaml), getenv); err != nil {
			t.Errorf("server %s, admin %s: got %v, want no error", tt.server, tt.admin, err)
		}
	}
}

func TestDSNString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "password", in: "postgres://u:pw@h/db", want: "postgres://u:xxxxx@h/db"},
		{name: "none", in: "redis://h:6379/0", want: "redis://h:6379/0"},
		{name: "unparsable with at", in: "postgres://u:p%zz@h", want: "<redacted>"},
		{name: "query password", in: "postgres://u@h/db?sslmode=disable&password=PGSECRET99", want: "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{name: "query sslpassword and user info", in: "postgres://u:pw@h/db?sslpassword=k", want: "postgres://u:xxxxx@h/db?sslpassword=xxxxx"},
		{name: "query without secrets untouched", in: "redis://h:6379/0?key_prefix=a%3Ab", want: "redis://h:6379/0?key_prefix=a%3Ab"},
		{name: "key value", in: "host=h user=u password=PGSECRET99 dbname=x", want: "host=h user=u password=xxxxx dbname=x"},
		{name: "key value quoted", in: "host=h password='a b'", want: "<redacted>"},
		{name: "plain word", in: "memory", want: "memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DSN(tt.in).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
