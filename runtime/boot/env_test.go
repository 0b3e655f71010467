package boot

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// mapEnv is a lookupFunc over a map, so tests never touch the process env.
func mapEnv(m map[string]string) lookupFunc {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// The hooks decide on their own whether to stay uninstalled
// (spans.Disabled): they must agree with boot on every value of both
// variables, or a "disabled" program would still splice headers in.
func TestHooksReadDisabledAsBoot(t *testing.T) {
	values := []string{"", "1", "true", "TRUE", "True", "t", "T", "yes", "Y", "on", " 1 ", "tRuE", "YeS", "0", "false", "FaLsE", "no", "off", "maybe"}
	for _, key := range []string{envDisabled, envJaegerDisabled} {
		for _, v := range values {
			t.Setenv(envDisabled, "")
			t.Setenv(envJaegerDisabled, "")
			t.Setenv(key, v)
			boot, _ := disabled(os.LookupEnv)
			if hooks := spans.Disabled(); hooks != boot {
				t.Errorf("%s=%q: boot disabled %v, hooks disabled %v", key, v, boot, hooks)
			}
		}
	}
}

func TestServiceName(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{envServiceName: "orders", envJaegerServiceName: "jaeger-name"}, []string{"/bin/app"}, "orders"},
		{map[string]string{envServiceName: " ", envJaegerServiceName: "jaeger-name"}, []string{"/bin/app"}, "jaeger-name"},
		{map[string]string{envJaegerServiceName: "jaeger-name"}, []string{"/bin/app"}, "jaeger-name"},
		{nil, []string{"/usr/local/bin/checkout"}, "checkout"},
		{nil, []string{"./server.exe"}, "server"},
		{nil, []string{"/opt/SERVER.EXE"}, "SERVER"},
		{nil, []string{"/tmp/go-build123/b001/boot.test"}, "boot.test"},
		{nil, []string{"relative-name"}, "relative-name"},
		{nil, []string{".exe"}, ".exe"},
		{nil, nil, "unknown_service"},
		{nil, []string{""}, "unknown_service"},
	}
	for _, c := range cases {
		if got := serviceName(mapEnv(c.env), c.args); got != c.want {
			t.Errorf("serviceName(%v, %q) = %q, want %q", c.env, c.args, got, c.want)
		}
	}
}

func TestDisabled(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{envDisabled: "1"}, true},
		{map[string]string{envDisabled: "true"}, true},
		{map[string]string{envDisabled: "0"}, false},
		{map[string]string{envDisabled: ""}, false},
		{map[string]string{envJaegerDisabled: "true"}, true},
		{map[string]string{envDisabled: "maybe"}, false},
	} {
		if got, _ := disabled(mapEnv(c.env)); got != c.want {
			t.Errorf("disabled(%v) = %v, want %v", c.env, got, c.want)
		}
	}
	if _, errs := disabled(mapEnv(map[string]string{envDisabled: "maybe"})); len(errs) != 1 || !strings.Contains(errs[0].Error(), envDisabled) {
		t.Errorf("a bad value should be reported naming the variable: %v", errs)
	}
}

func TestJaegerWanted(t *testing.T) {
	if jaegerWanted(mapEnv(map[string]string{"JAEGER_SERVICE_NAME": "x", "JAEGER_SAMPLER_TYPE": "const"})) {
		t.Error("service name and sampler alone should not switch to jaeger reporting")
	}
	for _, key := range []string{envJaegerEndpoint, envJaegerAgentHost, envJaegerAgentPort} {
		if !jaegerWanted(mapEnv(map[string]string{key: "x"})) {
			t.Errorf("%s should switch to jaeger reporting", key)
		}
	}
}

func TestFlushTimeout(t *testing.T) {
	for _, c := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", defaultFlushTimeout, false},
		{"250ms", 250 * time.Millisecond, false},
		{"2s", 2 * time.Second, false},
		{"soon", defaultFlushTimeout, true},
		{"-1s", defaultFlushTimeout, true},
		{"0", defaultFlushTimeout, true},
	} {
		got, err := flushTimeout(mapEnv(map[string]string{envFlushTimeout: c.value}))
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%s=%q: got %v, %v", envFlushTimeout, c.value, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), envFlushTimeout) {
			t.Errorf("error %q does not name the variable", err)
		}
	}
}
