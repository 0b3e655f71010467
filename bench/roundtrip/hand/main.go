// Command hand is the plain program traced by hand, as users do today:
// github.com/opentracing-contrib/go-stdlib/nethttp's Middleware on the
// server, its Transport and TraceRequest on the client, and jaeger-client-go
// with a const sampler and a null reporter (an in-memory one under -check,
// to count spans).
package main

import (
	"example.com/handtracer"
	"flag"
	"net/http"

	"github.com/opentracing-contrib/go-stdlib/nethttp"
	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"

	"example.com/roundtrip/loop"
)

func main() {
	clientTrace := flag.Bool("clienttrace", true, "nethttp.ClientTrace: log httptrace events on the client span (the library's default)")
	check := flag.Bool("check", false, "count finished spans with an in-memory reporter")
	// loop.Main parses the flags.

	var counted *jaeger.InMemoryReporter
	reporter := jaeger.NewNullReporter()
	cfg := loop.Config{}
	cfg.Spans = func() int {
		if counted == nil {
			return -1
		}
		return counted.SpansSubmitted()
	}
	var tracer opentracing.Tracer
	cfg.Handler = func(h http.Handler) http.Handler {
		// Flags are parsed by now.
		if *check {
			counted = jaeger.NewInMemoryReporter()
			reporter = counted
		}
		// The tracer ottoolexec's runtime builds with no JAEGER_*
		// variables (see handtracer).
		tracer, _ = handtracer.New("roundtrip-hand", reporter)
		opentracing.SetGlobalTracer(tracer)
		return nethttp.Middleware(tracer, h)
	}
	cfg.Transport = func(rt http.RoundTripper) http.RoundTripper {
		return &nethttp.Transport{RoundTripper: rt}
	}
	cfg.Send = func(c *http.Client, req *http.Request) (*http.Response, func(), error) {
		req, ht := nethttp.TraceRequest(tracer, req, nethttp.ClientTrace(*clientTrace))
		resp, err := c.Do(req)
		return resp, ht.Finish, err
	}
	loop.Main(cfg)
}
