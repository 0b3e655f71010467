package micro

//lint:file-ignore SA1012 CurrentSpan(nil), the goroutine's span, is what is measured and checked

import (
	"net/http"
	"os"
	"testing"

	"github.com/opentracing/opentracing-go"

	"github.com/ottoolexec/ottoolexec/runtime/ottrace"
)

// TestCheck makes sure a binary is what the driver thinks it runs before
// it times it. MICRO_EXPECT says what that is:
//
//   - traced: the client hook is set (a request sent through the stub
//     transport carries an uber-trace-id header) and the goroutine slot
//     works (a span made current is CurrentSpan(nil), here and in a
//     goroutine started afterwards);
//   - off (a plain build, or a traced one with OTTOOLEXEC_DISABLED=1): no
//     header, and the slot holds nothing.
//
// Without MICRO_EXPECT it checks nothing.
func TestCheck(t *testing.T) {
	expect := os.Getenv("MICRO_EXPECT")
	if expect == "" {
		t.Skip("MICRO_EXPECT not set")
	}
	traced := expect == "traced"

	var header string
	c := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		header = req.Header.Get("Uber-Trace-Id")
		return stubTransport{}.RoundTrip(req)
	})}
	resp, err := c.Get("http://bench.invalid/check")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if traced != (header != "") {
		t.Errorf("MICRO_EXPECT=%s, but the request carried uber-trace-id %q", expect, header)
	}

	span := opentracing.NoopTracer{}.StartSpan("check")
	restore := ottrace.WithGoroutineSpan(span)
	here := ottrace.CurrentSpan(nil)
	done := make(chan opentracing.Span)
	go func() { done <- ottrace.CurrentSpan(nil) }()
	child := <-done
	restore()
	after := ottrace.CurrentSpan(nil)
	if traced && (here != span || child != span || after != nil) {
		t.Errorf("MICRO_EXPECT=traced, but the goroutine slot does not work: current %v, in a child goroutine %v, after restore %v", here, child, after)
	}
	if !traced && (here != nil || child != nil) {
		t.Errorf("MICRO_EXPECT=%s, but a span is current: %v, in a child goroutine %v", expect, here, child)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
