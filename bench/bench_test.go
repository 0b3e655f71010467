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
