// Package jaegertest gives integration tests a real Jaeger server to send
// spans to and read them back from, without Docker.
//
// Binary returns a Jaeger v2 all-in-one binary (github.com/jaegertracing/jaeger
// cmd/jaeger at JaegerVersion), building it with the go command from the Go
// module proxy the first time. The build happens in a throwaway module under
// the cache directory, never in this repository, and takes several minutes;
// the binary is then kept at
//
//	<cache>/jaeger-<JaegerVersion>/jaeger
//
// where <cache> is $OTTOOLEXEC_TEST_CACHE if set, else
// os.UserCacheDir()/ottoolexec-test. A file lock in that directory makes
// concurrent test processes share one build; the binary is installed by
// rename, so a half-built file is never used. Delete the directory to force
// a rebuild. The build ignores any -toolexec in GOFLAGS.
//
// Start runs that binary as a child process with in-memory storage and every
// listener on a free 127.0.0.1 port, and returns a Server describing the
// endpoints (Jaeger Thrift over HTTP, agent UDP, OTLP, query API). Stop ends
// it. Traces and WaitForSpans read spans back through the query API.
//
// Typical use:
//
//	bin, err := jaegertest.Binary(ctx)   // t.Fatal on error
//	srv, err := jaegertest.Start(ctx, bin)
//	t.Cleanup(srv.Stop)
//	cmd.Env = append(os.Environ(), srv.Env()...) // or "JAEGER_ENDPOINT="+srv.CollectorEndpoint
//	...
//	traces, err := srv.WaitForSpans(ctx, "my-service", 3)
//
// The package targets Linux (it uses flock and a parent-death signal).
package jaegertest
