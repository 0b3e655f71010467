package otlp

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ottoolexec/ottoolexec/runtime/boot"
)

// processor is a batching span processor like the SDK's, written here for
// the counts boot reports at exit: how many spans were handed over, sent,
// refused by the collector, and dropped because the queue was full. The
// queue is bounded and a full one drops the span at once, so a slow or
// absent collector costs bounded memory and no latency where spans end.
type processor struct {
	exp   sdktrace.SpanExporter
	log   *errorLog
	queue chan sdktrace.ReadOnlySpan
	cfg   queueConfig

	stop      chan struct{} // closed by close: drain and end
	done      chan struct{} // closed when run has returned
	closeOnce sync.Once

	reported, sent, failed, dropped atomic.Int64
}

// queueConfig are the OTEL_BSP_* settings.
type queueConfig struct {
	size  int           // OTEL_BSP_MAX_QUEUE_SIZE
	batch int           // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
	delay time.Duration // OTEL_BSP_SCHEDULE_DELAY
}

// The SDK's defaults for the OTEL_BSP_* variables.
const (
	defaultQueueSize = 2048
	defaultBatchSize = 512
	defaultDelay     = 5 * time.Second
)

// exportTimeout bounds one export: the exporter retries a failing one
// until then. (OTEL_EXPORTER_OTLP_TIMEOUT bounds each attempt.)
const exportTimeout = 30 * time.Second

// queueSettings reads OTEL_BSP_*; a bad value is reported and replaced by
// the default.
func queueSettings(env lookup, stderr io.Writer) queueConfig {
	c := queueConfig{size: defaultQueueSize, batch: defaultBatchSize, delay: defaultDelay}
	positive := func(key string, def int) int {
		v := env.get(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "ottoolexec: %s=%q is not a positive integer; using %d\n", key, v, def)
			return def
		}
		return n
	}
	c.size = positive("OTEL_BSP_MAX_QUEUE_SIZE", defaultQueueSize)
	c.batch = min(positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", defaultBatchSize), c.size)
	c.delay = time.Duration(positive("OTEL_BSP_SCHEDULE_DELAY", int(defaultDelay/time.Millisecond))) * time.Millisecond
	return c
}

func newProcessor(exp sdktrace.SpanExporter, log *errorLog, cfg queueConfig) *processor {
	p := &processor{
		exp:   exp,
		log:   log,
		queue: make(chan sdktrace.ReadOnlySpan, cfg.size),
		cfg:   cfg,
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go p.run()
	return p
}

// OnStart implements sdktrace.SpanProcessor.
func (p *processor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it queues a sampled span, or
// counts it dropped when the queue is full. It never waits.
func (p *processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	p.reported.Add(1)
	select {
	case p.queue <- s:
	default:
		p.dropped.Add(1)
	}
}

// Shutdown implements sdktrace.SpanProcessor.
func (p *processor) Shutdown(context.Context) error {
	p.close()
	return nil
}

// ForceFlush implements sdktrace.SpanProcessor. Spans go out in batches on
// their own; boot flushes by closing.
func (p *processor) ForceFlush(context.Context) error { return nil }

// close sends every queued span and stops the exporter. The caller bounds
// the wait (boot's flush timeout); spans ending meanwhile are still queued
// and sent if they make it before the queue is drained.
func (p *processor) close() {
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		if err := p.exp.Shutdown(ctx); err != nil {
			p.log.error(err)
		}
	})
}

// pending is how many spans were handed over and are not yet out.
func (p *processor) pending() int64 {
	return max(0, p.reported.Load()-p.sent.Load()-p.failed.Load()-p.dropped.Load())
}

// run sends a batch when it is full or the delay has passed, and
// everything queued when close is called.
func (p *processor) run() {
	defer close(p.done)
	batch := make([]sdktrace.ReadOnlySpan, 0, p.cfg.batch)
	ticker := time.NewTicker(p.cfg.delay)
	defer ticker.Stop()
	send := func() {
		if len(batch) > 0 {
			p.export(batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case s := <-p.queue:
			if batch = append(batch, s); len(batch) == p.cfg.batch {
				send()
			}
		case <-ticker.C:
			send()
		case <-p.stop:
			for {
				select {
				case s := <-p.queue:
					if batch = append(batch, s); len(batch) == p.cfg.batch {
						send()
					}
				default:
					send()
					return
				}
			}
		}
	}
}

func (p *processor) export(batch []sdktrace.ReadOnlySpan) {
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	if err := p.exp.ExportSpans(ctx, batch); err != nil {
		p.failed.Add(int64(len(batch)))
		p.log.error(err)
		return
	}
	p.sent.Add(int64(len(batch)))
}

// errorLog is boot's exporter error log, plus the OpenTracing bridge's
// warnings: the first is printed, the others are not (they repeat per
// span).
type errorLog struct {
	*boot.ErrorLog
	stderr io.Writer
	warned sync.Once
}

func newErrorLog(stderr io.Writer, what string) *errorLog {
	return &errorLog{ErrorLog: boot.NewErrorLog(stderr, what), stderr: stderr}
}

func (l *errorLog) error(err error) { l.Error(err.Error()) }

func (l *errorLog) warning(msg string) {
	l.warned.Do(func() { fmt.Fprintf(l.stderr, "ottoolexec: OpenTracing bridge: %s", msg) })
}
