package main

import (
	"context"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ottoolexec/ottoolexec/internal/jaegertest"
	"github.com/ottoolexec/ottoolexec/runtime/spanfile"
)

// cmdJaeger runs a real Jaeger for a script.
//
//	jaeger start
//	    start Jaeger (built once from the module proxy and cached, see
//	    internal/jaegertest) on free loopback ports, set JAEGER_ENDPOINT
//	    for the rest of the script, and OTLP_HTTP_ENDPOINT and
//	    OTLP_GRPC_ENDPOINT to its OTLP receivers (values for
//	    OTEL_EXPORTER_OTLP_ENDPOINT), and stop it when the script ends
//	jaeger spans SERVICE N FILE
//	    wait until Jaeger's query API shows at least N spans of SERVICE and
//	    write every span of those traces to FILE in the JSONL form of
//	    OTTOOLEXEC_TRACE_FILE, for the spans command to check; the tags of
//	    a span's process (for OTLP: the resource's attributes) are among
//	    its tags, each prefixed "process."
func cmdJaeger(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: jaeger start | jaeger spans service n file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	switch args[0] {
	case "start":
		bin, err := jaegertest.Binary(ctx)
		ts.Check(err)
		srv, err := jaegertest.Start(ctx, bin)
		ts.Check(err)
		ts.Defer(srv.Stop)
		ts.Setenv("JAEGER_ENDPOINT", srv.CollectorEndpoint)
		ts.Setenv("JAEGER_QUERY_URL", srv.QueryURL)
		ts.Setenv("OTLP_HTTP_ENDPOINT", srv.OTLPHTTPEndpoint)
		ts.Setenv("OTLP_GRPC_ENDPOINT", "http://"+srv.OTLPGRPCEndpoint)
		jaegerServers.Store(ts, srv)
	case "spans":
		if len(args) != 4 {
			ts.Fatalf("usage: jaeger spans service n file")
		}
		v, ok := jaegerServers.Load(ts)
		if !ok {
			ts.Fatalf("jaeger spans before jaeger start")
		}
		srv := v.(*jaegertest.Server)
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		wait, stop := context.WithTimeout(ctx, 3*time.Minute)
		defer stop()
		traces, err := srv.WaitForSpans(wait, args[1], n)
		ts.Check(err)
		f, err := os.Create(ts.MkAbs(args[3]))
		ts.Check(err)
		defer f.Close()
		for _, tr := range traces {
			for _, s := range tr.Spans {
				tags := make(map[string]any, len(s.Tags)+len(s.ProcessTags))
				for k, v := range s.ProcessTags {
					tags["process."+k] = v
				}
				for k, v := range s.Tags {
					tags[k] = v
				}
				data, err := spanfile.Span{
					TraceID:   s.TraceID,
					SpanID:    s.SpanID,
					ParentID:  s.ParentSpanID,
					Operation: s.OperationName,
					Service:   s.ServiceName,
					Start:     s.StartTime,
					Duration:  s.Duration,
					Tags:      tags,
				}.MarshalJSON()
				ts.Check(err)
				_, err = f.Write(append(data, '\n'))
				ts.Check(err)
			}
		}
	default:
		ts.Fatalf("unknown jaeger command %q", args[0])
	}
}

// jaegerServers holds each script's Jaeger (scripts run in parallel).
var jaegerServers sync.Map // *testscript.TestScript -> *jaegertest.Server
