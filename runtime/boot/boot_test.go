package boot

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/ottoolexec/ottoolexec/runtime/export"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
)

// syncBuffer stands in for stderr; reporters write to it from goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testDeps are deps that leave the process env alone: JAEGER_* settings come
// from an empty configuration unless a test says otherwise.
func testDeps(stderr io.Writer) deps {
	return deps{
		stderr:       stderr,
		args:         []string{"/bin/testprog"},
		roundTripper: http.DefaultTransport,
		jaegerConfig: func() (*config.Configuration, error) { return &config.Configuration{}, nil },
	}
}

func TestTraceFileThroughRealTracer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	var stderr syncBuffer
	tr := newTracing(mapEnv(map[string]string{
		envTraceFile:   path,
		envConsole:     "0",
		envServiceName: "orders",
	}), testDeps(&stderr), nil)
	if tr == nil {
		t.Fatal("newTracing returned nil")
	}

	root := tr.tracer.StartSpan("GET /orders", ext.SpanKindRPCServer)
	ext.HTTPMethod.Set(root, "GET")
	ext.HTTPStatusCode.Set(root, 200)
	child := tr.tracer.StartSpan("sql.query", opentracing.ChildOf(root.Context()))
	child.SetTag("db.statement", "SELECT 1")
	ext.Error.Set(child, true)
	child.Finish()
	root.Finish()
	tr.flush()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spans, err := export.ReadJSONL(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 {
		t.Fatalf("file holds %d spans, want 2", len(spans))
	}
	c, p := spans[0], spans[1]
	rootCtx := root.Context().(jaeger.SpanContext)
	childCtx := child.Context().(jaeger.SpanContext)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(p.TraceID) {
		t.Errorf("trace id %q is not 128-bit hex", p.TraceID)
	}
	if p.TraceID != rootCtx.TraceID().String() || c.TraceID != p.TraceID {
		t.Errorf("trace ids %s, %s; tracer says %s", p.TraceID, c.TraceID, rootCtx.TraceID())
	}
	if p.SpanID != rootCtx.SpanID().String() || c.SpanID != childCtx.SpanID().String() {
		t.Errorf("span ids %s, %s", p.SpanID, c.SpanID)
	}
	if c.ParentID != p.SpanID || p.ParentID != "" {
		t.Errorf("parent ids: child %q, root %q", c.ParentID, p.ParentID)
	}
	if p.Service != "orders" || p.Operation != "GET /orders" {
		t.Errorf("root span %+v", p)
	}
	if p.Tags["span.kind"] != "server" || p.Tags["http.method"] != "GET" || p.Tags["http.status_code"] != int64(200) {
		t.Errorf("root tags %v", p.Tags)
	}
	if c.Tags["error"] != true || c.Tags["db.statement"] != "SELECT 1" {
		t.Errorf("child tags %v", c.Tags)
	}
	if stderr.String() != "" {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestBadTraceFileKeepsTracing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "spans.jsonl")
	var stderr syncBuffer
	tr := newTracing(mapEnv(map[string]string{envTraceFile: path}), testDeps(&stderr), nil)
	if tr == nil || tr.tracer == nil {
		t.Fatal("no tracer after a bad trace file")
	}
	want := "ottoolexec: OTTOOLEXEC_TRACE_FILE: open " + path + ": no such file or directory\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	tr.tracer.StartSpan("still traced").Finish()
	tr.flush()
	if !strings.Contains(stderr.String(), "still traced [testprog]") {
		t.Errorf("console did not print the span:\n%s", stderr.String())
	}
}

func TestConsoleIsTheDefault(t *testing.T) {
	var stderr syncBuffer
	tr := newTracing(mapEnv(nil), testDeps(&stderr), nil)
	if len(tr.sinks) != 1 {
		t.Fatalf("sinks %v, want the console alone", tr.sinks)
	}
	if _, ok := tr.sinks[0].(consoleSink); !ok {
		t.Fatalf("sink is %T, want the console", tr.sinks[0])
	}
	if _, ok := tr.sampler.(*jaeger.ConstSampler); !ok {
		t.Errorf("sampler is %T, want const", tr.sampler)
	}
	root := tr.tracer.StartSpan("main")
	tr.tracer.StartSpan("step", opentracing.ChildOf(root.Context())).Finish()
	root.Finish()
	out := stderr.String()
	if !regexp.MustCompile(`^trace [0-9a-f]{32} \(2 spans\)\n  main \[testprog\] \d+\.\d{3}ms\n    step \[testprog\] \d+\.\d{3}ms\n$`).MatchString(out) {
		t.Errorf("console printed\n%s", out)
	}
	tr.flush()
}

func TestNoSinksStillPropagates(t *testing.T) {
	var stderr syncBuffer
	tr := newTracing(mapEnv(map[string]string{envConsole: "off"}), testDeps(&stderr), nil)
	if len(tr.sinks) != 0 {
		t.Fatalf("sinks %v, want none", tr.sinks)
	}
	sp := tr.tracer.StartSpan("op")
	h := http.Header{}
	if err := tr.tracer.Inject(sp.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(h)); err != nil {
		t.Fatal(err)
	}
	if h.Get("uber-trace-id") == "" {
		t.Errorf("no uber-trace-id header injected: %v", h)
	}
	sp.Finish()
	tr.flush()
	if stderr.String() != "" {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestDisabledBuildsNothing(t *testing.T) {
	var stderr syncBuffer
	if tr := newTracing(mapEnv(map[string]string{envDisabled: "1", envTraceFile: "/nonexistent/x"}), testDeps(&stderr), nil); tr != nil {
		t.Errorf("newTracing built %+v while disabled", tr)
	}
	if stderr.String() != "" {
		t.Errorf("disabled boot printed %q", stderr.String())
	}
	var nilTracing *tracing
	nilTracing.flush() // what Flush does when boot is disabled: nothing, no panic
}

func TestUntracedRoundTrip(t *testing.T) {
	base := &http.Transport{}
	rt := Untraced(base)
	if !IsUntraced(rt) {
		t.Error("Untraced(rt) is not IsUntraced")
	}
	if IsUntraced(base) || IsUntraced(http.DefaultTransport) || IsUntraced(nil) {
		t.Error("a plain transport counts as untraced")
	}
	if u, ok := rt.(untraced); !ok || u.RoundTripper != base {
		t.Errorf("Untraced does not wrap the given transport: %#v", rt)
	}
	if again := Untraced(rt); again != rt {
		t.Error("wrapping twice made a new layer")
	}
	if u := Untraced(nil).(untraced); u.RoundTripper != http.DefaultTransport {
		t.Error("Untraced(nil) does not use http.DefaultTransport")
	}
	c := &http.Client{Transport: rt}
	c.CloseIdleConnections() // passes through without panicking

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d through an untraced transport", resp.StatusCode)
	}
}

// recordingTransport notes each request it carries.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recordingTransport) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func TestJaegerEndpointGetsPostOnFlush(t *testing.T) {
	type post struct {
		method, path, contentType, user, password string
		size                                      int
	}
	var (
		mu    sync.Mutex
		posts []post
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		posts = append(posts, post{r.Method, r.URL.Path, r.Header.Get("Content-Type"), user, pass, len(body)})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	// config.FromEnv reads the process env, so this test sets it for real.
	t.Setenv(envJaegerEndpoint, srv.URL+"/api/traces")
	t.Setenv("JAEGER_USER", "alice")
	t.Setenv("JAEGER_PASSWORD", "s3cret")
	t.Setenv(envJaegerServiceName, "billing")

	rec := &recordingTransport{next: http.DefaultTransport}
	var stderr syncBuffer
	d := testDeps(&stderr)
	d.roundTripper = rec
	d.jaegerConfig = config.FromEnv
	tr := newTracing(os.LookupEnv, d, nil)

	if !IsUntraced(tr.collectorTransport) {
		t.Fatalf("collector transport %T is not marked untraced", tr.collectorTransport)
	}
	if u := tr.collectorTransport.(untraced); u.RoundTripper != rec {
		t.Fatalf("collector transport does not wrap the base transport")
	}
	for _, s := range tr.sinks {
		if _, ok := s.(consoleSink); ok {
			t.Error("console is on while reporting to jaeger")
		}
	}

	sp := tr.tracer.StartSpan("charge")
	sp.Finish()
	tr.flush()

	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 {
		t.Fatalf("collector got %d requests, want 1 POST", len(posts))
	}
	p := posts[0]
	if p.method != http.MethodPost || p.path != "/api/traces" || p.contentType != "application/x-thrift" || p.size == 0 {
		t.Errorf("collector got %+v", p)
	}
	if p.user != "alice" || p.password != "s3cret" {
		t.Errorf("basic auth %q/%q", p.user, p.password)
	}
	if got := rec.requests(); len(got) != 1 || got[0] != "POST /api/traces" {
		t.Errorf("untraced transport carried %v", got)
	}
	if stderr.String() != "" {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestJaegerEndpointFailureIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	t.Setenv(envJaegerEndpoint, srv.URL)
	var stderr syncBuffer
	d := testDeps(&stderr)
	d.jaegerConfig = config.FromEnv
	tr := newTracing(os.LookupEnv, d, nil)
	tr.tracer.StartSpan("lost").Finish()
	tr.flush()
	out := stderr.String()
	if !strings.Contains(out, "ottoolexec: JAEGER_ENDPOINT "+srv.URL+": ") || !strings.Contains(out, "1 spans not sent: ") {
		t.Errorf("stderr:\n%s", out)
	}
}

func TestJaegerAgentOverUDP(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port

	t.Setenv(envJaegerAgentHost, "127.0.0.1")
	t.Setenv(envJaegerAgentPort, strconv.Itoa(port))
	var stderr syncBuffer
	d := testDeps(&stderr)
	d.jaegerConfig = config.FromEnv
	tr := newTracing(os.LookupEnv, d, nil)
	tr.tracer.StartSpan("udp-span").Finish()
	tr.flush()

	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("agent got nothing: %v (stderr %q)", err, stderr.String())
	}
	if !bytes.Contains(buf[:n], []byte("udp-span")) {
		t.Errorf("packet does not carry the span")
	}
}

func TestRemoteSamplerPollsThroughUntracedClient(t *testing.T) {
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		if r.URL.Query().Get("service") != "testprog" {
			t.Errorf("poll for service %q", r.URL.Query().Get("service"))
		}
		io.WriteString(w, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.5}}`)
	}))
	defer srv.Close()

	rec := &recordingTransport{next: http.DefaultTransport}
	var stderr syncBuffer
	d := testDeps(&stderr)
	d.roundTripper = rec
	d.jaegerConfig = func() (*config.Configuration, error) {
		return &config.Configuration{Sampler: &config.SamplerConfig{
			Type: jaeger.SamplerTypeRemote, Param: 1, SamplingServerURL: srv.URL + "/sampling",
			SamplingRefreshInterval: time.Hour, // the test polls by hand
		}}, nil
	}
	tr := newTracing(mapEnv(map[string]string{envConsole: "0"}), d, nil)
	remote, ok := tr.sampler.(*jaeger.RemotelyControlledSampler)
	if !ok {
		t.Fatalf("sampler is %T, want remote", tr.sampler)
	}
	remote.UpdateSampler()
	tr.flush()
	if polls.Load() != 1 {
		t.Errorf("sampling server polled %d times, want 1", polls.Load())
	}
	if got := rec.requests(); len(got) != 1 || got[0] != "GET /sampling" {
		t.Errorf("untraced transport carried %v", got)
	}
	if stderr.String() != "" {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestBadJaegerSettingsFallBackToConsole(t *testing.T) {
	var stderr syncBuffer
	d := testDeps(&stderr)
	d.jaegerConfig = func() (*config.Configuration, error) {
		return nil, errString("cannot parse env var JAEGER_AGENT_PORT=abc")
	}
	tr := newTracing(mapEnv(map[string]string{envJaegerAgentPort: "abc"}), d, nil)
	if len(tr.sinks) != 1 {
		t.Fatalf("sinks %v", tr.sinks)
	}
	if _, ok := tr.sinks[0].(consoleSink); !ok {
		t.Errorf("sink %T, want the console", tr.sinks[0])
	}
	if !strings.Contains(stderr.String(), "JAEGER_AGENT_PORT=abc") {
		t.Errorf("stderr %q", stderr.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// stuckSink never finishes closing, like a collector that stopped answering.
type stuckSink struct {
	release chan struct{}
	closes  atomic.Int32
	drops   int64
}

func (s *stuckSink) Report(*jaeger.Span) {}
func (s *stuckSink) Close() {
	s.closes.Add(1)
	<-s.release
}
func (s *stuckSink) pending() int64     { return 3 }
func (s *stuckSink) queueDrops() int64  { return s.drops }
func (s *stuckSink) problems() []string { return nil }

func TestFlushIsIdempotentAndBounded(t *testing.T) {
	stuck := &stuckSink{release: make(chan struct{}), drops: 2}
	defer close(stuck.release)
	var stderr syncBuffer
	tr := &tracing{sinks: []sink{stuck}, flushTimeout: 50 * time.Millisecond, stderr: &stderr}

	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr.flush()
		}()
	}
	wg.Wait() // every caller returned although the sink never closed
	tr.flush()

	if n := stuck.closes.Load(); n != 1 {
		t.Errorf("sink closed %d times, want 1", n)
	}
	want := "ottoolexec: flush timed out after 50ms; up to 3 spans may be lost\n" +
		"ottoolexec: 2 spans dropped (queue full)\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr\n%q\nwant\n%q", got, want)
	}
}

func TestFlushSaysNothingWhenNothingLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spans.jsonl")
	var stderr syncBuffer
	tr := newTracing(mapEnv(map[string]string{envTraceFile: path, envConsole: "0"}), testDeps(&stderr), nil)
	tr.tracer.StartSpan("op").Finish()
	tr.flush()
	if stderr.String() != "" {
		t.Errorf("stderr %q", stderr.String())
	}
}

// The tests below run the test binary again with a chosen environment, so
// that boot's init runs under it.

const childEnv = "OTTOOLEXEC_BOOT_TEST_CHILD"

func runChild(t *testing.T, mode string, env ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTTOOLEXEC_") && !strings.HasPrefix(kv, "JAEGER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append(env, childEnv+"="+mode)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\nstdout:\n%s\nstderr:\n%s", mode, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func TestChild(t *testing.T) {
	switch os.Getenv(childEnv) {
	case "":
		t.Skip("runs only as a child of the tests below")
	case "disabled":
		if opentracing.IsGlobalTracerRegistered() || Tracer() != nil {
			t.Fatal("boot registered a tracer while disabled")
		}
		Flush()
	case "enabled":
		if !opentracing.IsGlobalTracerRegistered() || Tracer() == nil || opentracing.GlobalTracer() != Tracer() {
			t.Fatal("boot did not register its tracer")
		}
		// A tracer already registered (here, boot's own) is never replaced.
		if again := install(mapEnv(nil), testDeps(io.Discard), nil); again != nil || opentracing.GlobalTracer() != Tracer() {
			t.Fatal("install replaced a registered tracer")
		}
		opentracing.GlobalTracer().StartSpan("child-op").Finish()
		Flush()
		Flush()
	}
}

func TestInitDisabledRegistersNothing(t *testing.T) {
	_, stderr := runChild(t, "disabled", envDisabled+"=1", envTraceFile+"=/nonexistent/dir/x.jsonl")
	if stderr != "" {
		t.Errorf("disabled boot wrote to stderr: %q", stderr)
	}
}

func TestInitRegistersTracer(t *testing.T) {
	_, stderr := runChild(t, "enabled")
	if !regexp.MustCompile(`(?m)^trace [0-9a-f]{32} \(1 span\)\n  child-op \[boot\.test\] `).MatchString(stderr) {
		t.Errorf("child stderr:\n%s", stderr)
	}
}

func TestUntracedMarkerMethod(t *testing.T) {
	_, ok := Untraced(nil).(interface{ OttoolexecUntraced() })
	if !ok {
		t.Error("untraced transport lacks the marker method")
	}
	if _, ok := http.DefaultTransport.(interface{ OttoolexecUntraced() }); ok {
		t.Error("a plain transport has the marker method")
	}
}

// fakeDestination is a Destination that reports set figures.
type fakeDestination struct {
	closed         bool
	pending, drops int64
	problems       []string
}

func (d *fakeDestination) Close()             { d.closed = true }
func (d *fakeDestination) Pending() int64     { return d.pending }
func (d *fakeDestination) QueueDrops() int64  { return d.drops }
func (d *fakeDestination) Problems() []string { return d.problems }

func TestOTLPChosenBeforeJaeger(t *testing.T) {
	var stderr bytes.Buffer
	dest := &fakeDestination{drops: 3, problems: []string{"OTLP x: 2 spans not sent: refused"}}
	own := opentracing.NoopTracer{}
	var got Settings
	start := func(s Settings) (opentracing.Tracer, Destination, error) {
		got = s
		return own, dest, nil
	}
	env := mapEnv(map[string]string{envOTLPEndpoint: "http://collector:4318", envJaegerEndpoint: "http://jaeger:14268/api/traces", envServiceName: "svc"})
	tr := newTracing(env, testDeps(&stderr), start)
	if tr.tracer != own || len(tr.sinks) != 0 || got.Service != "svc" || got.Stderr != &stderr {
		t.Fatalf("tracer %T, sinks %d, settings %+v", tr.tracer, len(tr.sinks), got)
	}
	tr.flush()
	if !dest.closed {
		t.Error("flush did not close the OTLP destination")
	}
	want := "ottoolexec: 3 spans dropped (queue full)\nottoolexec: OTLP x: 2 spans not sent: refused\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

func TestOTLPWithoutExporterFallsBack(t *testing.T) {
	var stderr bytes.Buffer
	env := mapEnv(map[string]string{envOTLPTracesEndpoint: "http://collector:4318/v1/traces", envConsole: "0"})
	tr := newTracing(env, testDeps(&stderr), nil)
	if _, ok := tr.tracer.(*jaeger.Tracer); !ok {
		t.Errorf("tracer %T, want jaeger's", tr.tracer)
	}
	want := "ottoolexec: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, but this program was built without the OTLP exporter: " + RebuildHint
	if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestOTLPStartFailureFallsBack(t *testing.T) {
	var stderr bytes.Buffer
	start := func(Settings) (opentracing.Tracer, Destination, error) { return nil, nil, errors.New("bad protocol") }
	tr := newTracing(mapEnv(map[string]string{envOTLPEndpoint: "x", envConsole: "0"}), testDeps(&stderr), start)
	if _, ok := tr.tracer.(*jaeger.Tracer); !ok || !strings.Contains(stderr.String(), "OTLP export (OTEL_EXPORTER_OTLP_ENDPOINT): bad protocol") {
		t.Errorf("tracer %T, stderr %q", tr.tracer, stderr.String())
	}
}
