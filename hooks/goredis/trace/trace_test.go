package trace

import (
	"strings"
	"testing"
)

func TestStatement(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		args      []interface{}
		short     string // the default: command and key
		all       string // OTTOOLEXEC_REDIS_ARGS=1
		forbidden string // must appear in neither
	}{
		{[]interface{}{"set", "user:1", "value", "ex", 60}, "SET user:1", "SET user:1 value ex 60", ""},
		{[]interface{}{"get", []byte("k")}, "GET k", "GET k", ""},
		{[]interface{}{"ping"}, "PING", "PING", ""},
		{[]interface{}{"client", "setinfo", "lib-name", "go-redis"}, "CLIENT setinfo", "CLIENT setinfo lib-name go-redis", ""},
		{[]interface{}{"auth", "s3cret"}, "AUTH", "AUTH ?", "s3cret"},
		{[]interface{}{"auth", "user", "s3cret"}, "AUTH", "AUTH ? ?", "s3cret"},
		{[]interface{}{"hello", 3, "auth", "user", "s3cret", "setname", "app"}, "HELLO 3", "HELLO 3 auth ? ? ? ?", "s3cret"},
		{[]interface{}{"migrate", "host", 6379, "", 0, 5000, "auth2", "user", "s3cret", "keys", "a"}, "MIGRATE host", "MIGRATE host 6379  0 5000 auth2 ? ? ? ?", "s3cret"},
		{[]interface{}{"acl", "setuser", "ada", "on", ">s3cret"}, "ACL setuser", "ACL setuser ada ? ?", "s3cret"},
		{[]interface{}{"config", "set", "requirepass", "s3cret"}, "CONFIG set", "CONFIG set requirepass ?", "s3cret"},
		{[]interface{}{"evalsha", "abc123", 1, "lock:1", "arg"}, "EVALSHA lock:1", "EVALSHA abc123 1 lock:1 arg", ""},
		{[]interface{}{"eval", "return 1", 0}, "EVAL", "EVAL return 1 0", ""},
		{[]interface{}{"set", long, "v"}, "SET " + long[:maxArg] + "...", "SET " + long[:maxArg] + "... v", ""},
	} {
		for _, mode := range []struct {
			show bool
			want string
		}{{false, tc.short}, {true, tc.all}} {
			showArgs = mode.show
			got := statement(tc.args)
			if got != mode.want {
				t.Errorf("statement(%q) with args shown=%v = %q, want %q", tc.args, mode.show, got, mode.want)
			}
			if tc.forbidden != "" && strings.Contains(got, tc.forbidden) {
				t.Errorf("statement(%q) shows the credential: %q", tc.args, got)
			}
		}
	}
	showArgs = false
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo", 2); got != "h..." {
		t.Errorf("truncate cut a rune: %q", got)
	}
	if got := truncate("abc", 3); got != "abc" {
		t.Errorf("truncate(abc, 3) = %q", got)
	}
}
