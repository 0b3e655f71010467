package boot

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/ottoolexec/ottoolexec/runtime/export"
	"github.com/uber/jaeger-client-go"
)

// sink is one destination of finished spans, with what Flush needs to say
// about losses.
type sink interface {
	jaeger.Reporter
	// pending is how many spans were handed over and are not yet out.
	pending() int64
	// queueDrops is how many spans were refused because a queue was full.
	queueDrops() int64
	// problems are lines (without the "ottoolexec: " prefix) to print at
	// flush about spans that went missing for other reasons.
	problems() []string
}

// jsonlSink appends spans to OTTOOLEXEC_TRACE_FILE.
type jsonlSink struct{ *export.JSONL }

func (s jsonlSink) pending() int64    { return s.Pending() }
func (s jsonlSink) queueDrops() int64 { return s.Dropped() }
func (s jsonlSink) problems() []string {
	if n := s.Failed(); n > 0 {
		return []string{fmt.Sprintf("%s: %d spans not written: %v", envTraceFile, n, s.Err())}
	}
	return nil
}

// consoleSink prints trees on stderr.
type consoleSink struct{ *export.Console }

func (s consoleSink) pending() int64    { return s.Pending() }
func (s consoleSink) queueDrops() int64 { return 0 }
func (s consoleSink) problems() []string {
	if n := s.Dropped(); n > 0 {
		return []string{fmt.Sprintf("%d spans not printed (console buffer full)", n)}
	}
	return nil
}

// remoteSink is jaeger's remote reporter (HTTP collector or UDP agent) with
// counters, fed through the reporter's metrics, to tell what got out.
type remoteSink struct {
	jaeger.Reporter
	reported counter
	sent     counter // jaeger's ReporterSuccess
	failed   counter // jaeger's ReporterFailure
	dropped  counter // jaeger's ReporterDropped: queue full
	log      *ErrorLog
}

// newRemoteSink builds the remote reporter on transport. The counters go in
// through jaeger.Metrics, whose fields only need an Inc(int64) method, so no
// metrics library comes along.
func newRemoteSink(transport jaeger.Transport, log *ErrorLog, opts ...jaeger.ReporterOption) *remoteSink {
	s := &remoteSink{log: log}
	m := jaeger.NewNullMetrics()
	m.ReporterSuccess = &s.sent
	m.ReporterFailure = &s.failed
	m.ReporterDropped = &s.dropped
	opts = append(opts, jaeger.ReporterOptions.Metrics(m), jaeger.ReporterOptions.Logger(log))
	s.Reporter = jaeger.NewRemoteReporter(transport, opts...)
	return s
}

func (s *remoteSink) Report(span *jaeger.Span) {
	s.reported.Inc(1)
	s.Reporter.Report(span)
}

func (s *remoteSink) pending() int64 {
	n := s.reported.Load() - s.sent.Load() - s.failed.Load() - s.dropped.Load()
	if n < 0 {
		return 0
	}
	return n
}

func (s *remoteSink) queueDrops() int64 { return s.dropped.Load() }

func (s *remoteSink) problems() []string {
	if n := s.failed.Load(); n > 0 {
		return []string{s.log.NotSent(n)}
	}
	return nil
}

// counter is a jaeger-lib metrics.Counter without the import.
type counter struct{ atomic.Int64 }

func (c *counter) Inc(delta int64) { c.Add(delta) }

// ErrorLog is the error log of an exporter that sends spans away: the
// Jaeger reporter and its transport (as their jaeger.Logger), and the OTLP
// exporter. It prints the first error at once, so a wrong endpoint shows
// while the program runs, and keeps the last one for the summary at flush;
// it does not print every failed batch of a long-running program.
type ErrorLog struct {
	stderr io.Writer
	what   string // where spans go, e.g. "JAEGER_ENDPOINT http://…"

	mu      sync.Mutex
	printed bool
	lastErr string
}

// NewErrorLog returns the log of an exporter sending spans to what.
func NewErrorLog(stderr io.Writer, what string) *ErrorLog {
	return &ErrorLog{stderr: stderr, what: what}
}

// Error records a failure to send spans.
func (l *ErrorLog) Error(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastErr = msg
	if !l.printed {
		l.printed = true
		fmt.Fprintf(l.stderr, "ottoolexec: %s: %s (later errors are counted at exit)\n", l.what, msg)
	}
}

func (l *ErrorLog) Infof(string, ...interface{})  {}
func (l *ErrorLog) Debugf(string, ...interface{}) {}

// NotSent is the summary line for n spans that were never sent: where
// they were going and the last error.
func (l *ErrorLog) NotSent(n int64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	last := l.lastErr
	if last == "" {
		last = "no error logged"
	}
	return fmt.Sprintf("%s: %d spans not sent: %s", l.what, n, last)
}

// lazyUDP opens the UDP transport to the agent on the first span rather than
// in init: opening resolves the agent's host name, which may wait on DNS,
// and a program should not start slower for tracing. jaeger's reporter calls
// Append and Flush from its one goroutine, and Close after that goroutine is
// done, so no lock is needed.
type lazyUDP struct {
	params jaeger.UDPTransportParams
	t      jaeger.Transport
	err    error
}

func (l *lazyUDP) open() (jaeger.Transport, error) {
	if l.t == nil && l.err == nil {
		l.t, l.err = jaeger.NewUDPTransportWithParams(l.params)
		if l.err != nil {
			l.err = fmt.Errorf("open UDP transport to %s: %w", l.params.HostPort, l.err)
		}
	}
	return l.t, l.err
}

func (l *lazyUDP) Append(span *jaeger.Span) (int, error) {
	t, err := l.open()
	if err != nil {
		return 1, err // the span counts as failed
	}
	return t.Append(span)
}

func (l *lazyUDP) Flush() (int, error) {
	if l.t == nil {
		return 0, nil
	}
	return l.t.Flush()
}

func (l *lazyUDP) Close() error {
	if l.t == nil {
		return nil
	}
	return l.t.Close()
}
