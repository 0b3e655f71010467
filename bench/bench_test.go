package main

import (
	"os"
	"reflect"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestToolArgsInfo(t *testing.T) {
	pkg, v := toolArgsInfo([]string{"-o", "x.a", "-p", "net/http", "-lang=go1.26", "a.go"})
	if pkg != "net/http" || v {
		t.Errorf("got %q %v", pkg, v)
	}
	if _, v := toolArgsInfo([]string{"-V=full"}); !v {
		t.Error("-V=full not seen")
	}
}

func TestDescribeArgs(t *testing.T) {
	var d descRecord
	describeArgs(&d, []string{"/bin/ottoolexec", "/go/pkg/tool/linux_amd64/compile", "-p", "fmt", "x.go"})
	if d.Tool != "compile" || d.Pkg != "fmt" || d.Args != nil {
		t.Errorf("nested ottoolexec: %+v", d)
	}
	d = descRecord{}
	describeArgs(&d, []string{"/usr/local/go/bin/go", "list", "-deps", "-modfile=/tmp/x/go.mod"})
	if want := []string{"list", "-deps", "-modfile=/tmp/x/go.mod"}; !reflect.DeepEqual(d.Args, want) {
		t.Errorf("go command: %q, want %q", d.Args, want)
	}
	if got := goArgs(d.Args); got != "go list -deps -modfile=<temp>" {
		t.Errorf("goArgs: %q", got)
	}
}

func TestReadStat(t *testing.T) {
	ppid, ticks, ok := readStat(os.Getpid())
	if !ok || ppid != os.Getppid() || ticks <= 0 {
		t.Errorf("readStat(self) = %d, %d, %v; parent is %d", ppid, ticks, ok, os.Getppid())
	}
	st, ok := readStatus("/proc/self/status")
	if !ok || st.hwmKB <= 0 || st.name == "" {
		t.Errorf("readStatus(self) = %+v, %v", st, ok)
	}
}

func TestEnvWith(t *testing.T) {
	got := envWith([]string{"A=1", "B=2", "C=3"}, map[string]string{"B": "x", "D": "y"}, "C")
	if want := []string{"A=1", "B=x", "D=y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("envWith = %q, want %q", got, want)
	}
}

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
goarch: amd64
pkg: example.com/micro
BenchmarkCurrentSpan/nil-ctx/nospan-2         	46896175	         6.531 ns/op	         5.891 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkHookClientDo-2                       	  859029	       610.2 ns/op	       412.7 cpu-ns/op	     424 B/op	       6 allocs/op
BenchmarkGoroutine/span 	  1000	       470 ns/op
PASS
`)
	runs, order, err := parseBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CurrentSpan/nil-ctx/nospan", "HookClientDo", "Goroutine/span"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if got, want := runs["HookClientDo"], (microRun{N: 859029, NsOp: 610.2, CPUNsOp: 412.7, BOp: 424, Allocs: 6}); got != want {
		t.Errorf("HookClientDo: %+v, want %+v", got, want)
	}
	if got := runs["Goroutine/span"]; got.N != 1000 || got.NsOp != 470 {
		t.Errorf("Goroutine/span: %+v", got)
	}
	if _, _, err := parseBench([]byte("FAIL\n")); err == nil {
		t.Error("no error for output without results")
	}
}

func TestPaired(t *testing.T) {
	r := &microResult{Runs: map[string]map[string][]microRun{
		"a": {"x": {{NsOp: 10}, {NsOp: 12}, {NsOp: 30}}},
		"b": {"x": {{NsOp: 9}, {NsOp: 10}, {NsOp: 10}}},
	}}
	if got := r.pairedDiff("a", "b", "x", wallOp); got != 2 {
		t.Errorf("pairedDiff = %v, want 2", got)
	}
	if got := r.pairedRatio("a", "b", "x", wallOp); got != 1.2 {
		t.Errorf("pairedRatio = %v, want 1.2", got)
	}
}

func TestQuartiles(t *testing.T) {
	if q1, q3 := quartiles([]float64{5, 1, 4, 2, 3}); q1 != 2 || q3 != 4 {
		t.Errorf("quartiles(1..5) = %v, %v; want 2, 4", q1, q3)
	}
	if q1, q3 := quartiles([]float64{7}); q1 != 7 || q3 != 7 {
		t.Errorf("quartiles(7) = %v, %v", q1, q3)
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		med, q1, q3 float64
		want        string
	}{
		{1, 0.5, 1.5, "met"},
		{3, 2.5, 4, "**missed**"},
		{1.5, 1, 2.5, "met, within the noise"},
		{2.5, 1, 3, "**missed**, within the noise"},
	} {
		if got := verdict(c.med, c.q1, c.q3, 2); got != c.want {
			t.Errorf("verdict(%v, %v, %v, 2) = %q, want %q", c.med, c.q1, c.q3, got, c.want)
		}
	}
}

// heyReport is the shape of hey v0.1.5's report, with its doubled percent
// signs.
const heyReport = `
Summary:
  Total:	0.4163 secs
  Requests/sec:	7206.2795

Latency distribution:
  10%% in 0.0001 secs
  50%% in 0.0003 secs
  99%% in 0.0018 secs

Status code distribution:
  [200]	2999 responses
  [503]	1 responses
`

func TestParseHey(t *testing.T) {
	run, err := parseHey(heyReport)
	if err != nil {
		t.Fatal(err)
	}
	want := loadRun{P50: 0.0003, P99: 0.0018, RPS: 7206.2795, Requests: 2999}
	if run != want {
		t.Errorf("parseHey = %+v, want %+v", run, want)
	}
	if _, err := parseHey("Error distribution:\n  [3000] connection refused\n"); err == nil {
		t.Error("a report without figures parsed")
	}
}
