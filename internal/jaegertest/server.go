package jaegertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// StartTimeout bounds how long Start waits for jaeger to come up.
const StartTimeout = 60 * time.Second

// Server is a running jaeger all-in-one process with in-memory storage,
// every listener on 127.0.0.1 at a port chosen by Start.
type Server struct {
	// CollectorEndpoint is the Jaeger Thrift over HTTP endpoint,
	// http://127.0.0.1:<port>/api/traces: the value JAEGER_ENDPOINT takes.
	CollectorEndpoint string
	// AgentAddr is the agent's UDP host:port for compact Thrift (what
	// JAEGER_AGENT_HOST and JAEGER_AGENT_PORT describe).
	AgentAddr string
	// AgentBinaryAddr is the agent's UDP host:port for binary Thrift.
	AgentBinaryAddr string
	// SamplingAddr is the host:port of the remote sampling HTTP endpoint
	// (JAEGER_SAMPLER_MANAGER_HOST_PORT); it samples everything.
	SamplingAddr string
	// OTLPHTTPEndpoint is the OTLP/HTTP base URL, http://127.0.0.1:<port>
	// (OTEL_EXPORTER_OTLP_ENDPOINT); traces go to /v1/traces under it.
	OTLPHTTPEndpoint string
	// OTLPGRPCEndpoint is the OTLP/gRPC host:port.
	OTLPGRPCEndpoint string
	// ZipkinEndpoint is the Zipkin span endpoint, http://127.0.0.1:<port>/api/v2/spans.
	ZipkinEndpoint string
	// QueryURL is the base URL of the query API and UI, http://127.0.0.1:<port>.
	QueryURL string
	// MetricsURL is jaeger's own Prometheus metrics, http://127.0.0.1:<port>/metrics.
	MetricsURL string
	// Dir is the server's temp directory (config and log); Stop removes it.
	Dir string
	// LogPath is the file jaeger's stdout and stderr go to.
	LogPath string

	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has been waited for
	waitErr  error         // valid after done is closed
	stopOnce sync.Once
}

// Env returns environment variables (KEY=value) that point a jaeger-client-go
// or OpenTelemetry SDK program at this server.
func (s *Server) Env() []string {
	host, port, _ := net.SplitHostPort(s.AgentAddr)
	return []string{
		"JAEGER_ENDPOINT=" + s.CollectorEndpoint,
		"JAEGER_AGENT_HOST=" + host,
		"JAEGER_AGENT_PORT=" + port,
		"JAEGER_SAMPLER_MANAGER_HOST_PORT=" + s.SamplingAddr,
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + s.OTLPHTTPEndpoint,
	}
}

// ports are the listeners written into the config file.
type ports struct {
	OTLPGRPC, OTLPHTTP                                  int
	JaegerGRPC, ThriftHTTP, ThriftBinary, ThriftCompact int
	Zipkin, QueryHTTP, QueryGRPC                        int
	SamplingHTTP, SamplingGRPC, Metrics                 int
}

// configTemplate is jaeger's built-in all-in-one configuration
// (cmd/jaeger/internal/all-in-one.yaml in v1.76.0) with the same trace
// pipeline and memory storage, every endpoint on 127.0.0.1 at a chosen port,
// without the healthcheckv2, expvar and zpages extensions, which only add
// listeners, and with the query service's self-tracing off: by default it
// exports its own spans over OTLP to 127.0.0.1:4317, which is not this
// server, and waits ~10 s for that export on shutdown.
var configTemplate = template.Must(template.New("config").Parse(`service:
  extensions: [jaeger_storage, jaeger_query, remote_sampling]
  pipelines:
    traces:
      receivers: [otlp, jaeger, zipkin]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {{.Metrics}}
    logs:
      level: info

extensions:
  jaeger_query:
    storage:
      traces: some_storage
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:{{.QueryHTTP}}
    grpc:
      endpoint: 127.0.0.1:{{.QueryGRPC}}

  jaeger_storage:
    backends:
      some_storage:
        memory:
          max_traces: 100000

  remote_sampling:
    file:
      path:
      default_sampling_probability: 1
      reload_interval: 1s
    http:
      endpoint: 127.0.0.1:{{.SamplingHTTP}}
    grpc:
      endpoint: 127.0.0.1:{{.SamplingGRPC}}

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.OTLPGRPC}}
      http:
        endpoint: 127.0.0.1:{{.OTLPHTTP}}

  jaeger:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{{.JaegerGRPC}}
      thrift_http:
        endpoint: 127.0.0.1:{{.ThriftHTTP}}
      thrift_binary:
        endpoint: 127.0.0.1:{{.ThriftBinary}}
      thrift_compact:
        endpoint: 127.0.0.1:{{.ThriftCompact}}

  zipkin:
    endpoint: 127.0.0.1:{{.Zipkin}}

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: some_storage
`))

// Start runs the jaeger binary bin (see Binary) as a child process with a
// fresh in-memory store and waits until its query API and TCP receivers
// answer. The caller must call Stop. ctx bounds start-up only, not the
// server's life.
func Start(ctx context.Context, bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "jaegertest-")
	if err != nil {
		return nil, fmt.Errorf("jaegertest: start: %w", err)
	}
	s, err := start(ctx, bin, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func start(ctx context.Context, bin, dir string) (*Server, error) {
	p, err := freePorts()
	if err != nil {
		return nil, fmt.Errorf("jaegertest: start: picking ports: %w", err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg, err := os.Create(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("jaegertest: start: %w", err)
	}
	err = configTemplate.Execute(cfg, p)
	if cerr := cfg.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("jaegertest: start: writing config: %w", err)
	}
	logPath := filepath.Join(dir, "jaeger.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("jaegertest: start: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	addr := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	s := &Server{
		CollectorEndpoint: "http://" + addr(p.ThriftHTTP) + "/api/traces",
		AgentAddr:         addr(p.ThriftCompact),
		AgentBinaryAddr:   addr(p.ThriftBinary),
		SamplingAddr:      addr(p.SamplingHTTP),
		OTLPHTTPEndpoint:  "http://" + addr(p.OTLPHTTP),
		OTLPGRPCEndpoint:  addr(p.OTLPGRPC),
		ZipkinEndpoint:    "http://" + addr(p.Zipkin) + "/api/v2/spans",
		QueryURL:          "http://" + addr(p.QueryHTTP),
		MetricsURL:        "http://" + addr(p.Metrics) + "/metrics",
		Dir:               dir,
		LogPath:           logPath,
		done:              make(chan struct{}),
	}

	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Should the test process die without calling Stop, take jaeger with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("jaegertest: start: running %s: %w", bin, err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(ctx, p); err != nil {
		s.kill()
		return nil, fmt.Errorf("jaegertest: start: %w\n--- %s (tail) ---\n%s", err, logPath, s.logTail())
	}
	return s, nil
}

// waitReady polls until GET /api/services answers 200 and every TCP
// receiver accepts connections.
func (s *Server) waitReady(ctx context.Context, p ports) error {
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	tcp := []int{p.ThriftHTTP, p.OTLPHTTP, p.OTLPGRPC, p.JaegerGRPC, p.Zipkin}
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for {
		lastErr = s.ready(ctx, client, tcp)
		if lastErr == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("jaeger exited during start-up: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("jaeger not ready: %w (last: %v)", ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Server) ready(ctx context.Context, client *http.Client, tcp []int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.QueryURL+"/api/services", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/services: %s", resp.Status)
	}
	var d net.Dialer
	for _, port := range tcp {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

// Stop ends the jaeger process Start began (SIGTERM, then SIGKILL if it
// has not exited within a few seconds) and removes its temp directory.
// It is safe to call more than once and suits t.Cleanup.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.kill()
		os.RemoveAll(s.Dir)
	})
}

// kill signals s.cmd's process by pid and waits for it to be reaped.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return
	case <-time.After(5 * time.Second):
	}
	s.cmd.Process.Kill()
	<-s.done
}

// logTail returns the end of jaeger's log file.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return tail(b, 8192)
}

// freePorts picks distinct free loopback ports: TCP for the TCP listeners,
// UDP for the agent's. All are held open until every one is chosen, then
// released for jaeger to bind.
func freePorts() (ports, error) {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	var errs []error
	tcpPort := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			errs = append(errs, err)
			return 0
		}
		closers = append(closers, l.Close)
		return l.Addr().(*net.TCPAddr).Port
	}
	udpPort := func() int {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			errs = append(errs, err)
			return 0
		}
		closers = append(closers, c.Close)
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	p := ports{
		OTLPGRPC:      tcpPort(),
		OTLPHTTP:      tcpPort(),
		JaegerGRPC:    tcpPort(),
		ThriftHTTP:    tcpPort(),
		ThriftBinary:  udpPort(),
		ThriftCompact: udpPort(),
		Zipkin:        tcpPort(),
		QueryHTTP:     tcpPort(),
		QueryGRPC:     tcpPort(),
		SamplingHTTP:  tcpPort(),
		SamplingGRPC:  tcpPort(),
		Metrics:       tcpPort(),
	}
	return p, errors.Join(errs...)
}
