package boot

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// flush closes every sink, side by side, and the sampler, waiting at most
// flushTimeout; then it reports what was lost. Safe on a nil *tracing.
func (t *tracing) flush() {
	if t == nil {
		return
	}
	t.flushOnce.Do(t.flushNow)
}

func (t *tracing) flushNow() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for _, s := range t.outputs() {
			wg.Add(1)
			go func(s Destination) {
				defer wg.Done()
				defer func() { _ = recover() }() // a broken sink must not crash the exit path
				s.Close()
			}(s)
		}
		wg.Wait()
		if t.sampler != nil {
			t.sampler.Close() // stops a remote sampler's polling
		}
	}()

	timer := time.NewTimer(t.flushTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		// The close goroutines go on in the background; the process is
		// about to end, and they finish or die with it.
		var pending int64
		for _, s := range t.outputs() {
			pending += s.Pending()
		}
		fmt.Fprintf(t.stderr, "ottoolexec: flush timed out after %s; up to %d spans may be lost\n", t.flushTimeout, pending)
	}

	var dropped int64
	for _, s := range t.outputs() {
		dropped += s.QueueDrops()
	}
	if dropped > 0 {
		fmt.Fprintf(t.stderr, "ottoolexec: %d spans dropped (queue full)\n", dropped)
	}
	for _, s := range t.outputs() {
		for _, line := range s.Problems() {
			fmt.Fprintf(t.stderr, "ottoolexec: %s\n", line)
		}
	}
}

// outputs are every destination of spans, sinks of the jaeger tracer or
// not, as Flush sees them.
func (t *tracing) outputs() []Destination {
	out := make([]Destination, 0, len(t.sinks)+len(t.destinations))
	for _, s := range t.sinks {
		out = append(out, sinkDestination{s})
	}
	return append(out, t.destinations...)
}

// sinkDestination shows a sink as a Destination.
type sinkDestination struct{ s sink }

func (d sinkDestination) Close()             { d.s.Close() }
func (d sinkDestination) Pending() int64     { return d.s.pending() }
func (d sinkDestination) QueueDrops() int64  { return d.s.queueDrops() }
func (d sinkDestination) Problems() []string { return d.s.problems() }

// strategyFetcher asks a sampling server for this service's strategy, like
// jaeger's own fetcher, but through an untraced client.
type strategyFetcher struct {
	url    string
	client *http.Client
}

// samplingFetchTimeout bounds one strategy poll; polls run in the sampler's
// background goroutine and a slow server must not pile them up.
const samplingFetchTimeout = 10 * time.Second

func newStrategyFetcher(serverURL string, rt http.RoundTripper) *strategyFetcher {
	return &strategyFetcher{
		url:    serverURL,
		client: &http.Client{Transport: Untraced(rt), Timeout: samplingFetchTimeout},
	}
}

// Fetch implements jaeger.SamplingStrategyFetcher.
func (f *strategyFetcher) Fetch(service string) ([]byte, error) {
	uri := f.url + "?" + url.Values{"service": {service}}.Encode()
	resp, err := f.client.Get(uri)
	if err != nil {
		return nil, fmt.Errorf("fetch sampling strategy: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read sampling strategy from %s: %w", f.url, err)
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("sampling strategy from %s: %s: %s", f.url, resp.Status, body)
	}
	return body, nil
}
