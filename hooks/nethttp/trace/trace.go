// Package trace is the runtime half of the net/http integration: it fills
// in the function variables that ottoolexec adds to net/http, and turns
// each call into an OpenTracing span. Traced main packages import it; user
// code never needs to.
package trace

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/boot"
	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// The variables below are declared in net/http by the file the nethttp
// rule adds to it (hooks/nethttp/inject_http.go.txt); their types must
// match that file exactly, which TestHookTypesMatch checks.

//go:linkname clientHook net/http.__ottoolexec_clientHook
var clientHook func(req *http.Request, rt http.RoundTripper) func(*http.Response, error) (*http.Response, error)

//go:linkname serverHook net/http.__ottoolexec_serverHook
var serverHook func(req *http.Request, rw http.ResponseWriter) (context.Context, func(status int, returned bool))

//go:linkname routeHook net/http.__ottoolexec_routeHook
var routeHook func(req *http.Request, pattern string)

const component = "net/http"

// Headers that name the caller and the callee's endpoint, like the seed
// library's caller_name_headers and callee_endpoint_headers: a server span
// takes peer.service from the first caller header present, and a client
// span whose request carries an endpoint header is named METHOD:<value>.
var callerNameHeaders, calleeEndpointHeaders []string

func init() {
	if spans.Disabled() {
		return
	}
	callerNameHeaders = spans.ListEnv("OTTOOLEXEC_CALLER_NAME_HEADERS")
	calleeEndpointHeaders = spans.ListEnv("OTTOOLEXEC_CALLEE_ENDPOINT_HEADERS")
	clientHook = startClient
	serverHook = startServer
	routeHook = nameRoute
}

// firstHeader returns the value of the first of names that h carries.
func firstHeader(h http.Header, names []string) string {
	for _, name := range names {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// startClient starts a client span for r, gives r a copy of its headers
// with the span's context added, and returns the function that ends the
// span once the response is known.
func startClient(r *http.Request, rt http.RoundTripper) (end func(*http.Response, error) (*http.Response, error)) {
	defer spans.Guard("net/http client")
	if r == nil || r.URL == nil || boot.IsUntraced(rt) {
		return nil
	}
	tracer := spans.Tracer()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "client"}}
	if parent := spans.Current(r.Context()); parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	name := "HTTP " + method
	if endpoint := firstHeader(r.Header, calleeEndpointHeaders); endpoint != "" {
		name = method + ":" + endpoint
	}
	span := tracer.StartSpan(name, opts...)
	spans.Component.Set(span, component)
	spans.HTTPMethod.Set(span, method)
	spans.HTTPURL.Set(span, redactedURL(r))
	spans.PeerAddress.Set(span, hostPort(r))

	// The caller's header map may be shared with other requests, so the
	// trace context goes into a copy. The request keeps its address:
	// Transport.CancelRequest and resp.Request comparisons depend on it.
	header := r.Header.Clone()
	if header == nil {
		header = make(http.Header)
	}
	if err := tracer.Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(header)); err != nil {
		span.LogFields(log.String("event", "inject failed"), log.Error(err))
	}
	r.Header = header
	return func(resp *http.Response, err error) (*http.Response, error) {
		defer spans.Guard("net/http client")
		if err != nil {
			fail(span, err)
			span.Finish()
			return resp, err
		}
		if resp == nil {
			span.Finish()
			return resp, err
		}
		spans.HTTPStatusCode.Set(span, uint16(resp.StatusCode))
		if resp.StatusCode >= 500 {
			spans.Error.Set(span, true)
		}
		spans.CallResponseHook(span, resp)
		// The exchange lasts until the body is consumed. Bodies that are
		// empty by construction, or that the caller will write to (101
		// Switching Protocols), are left as they are.
		if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
			span.Finish()
			return resp, err
		}
		resp.Body = &body{ReadCloser: resp.Body, span: span}
		return resp, err
	}
}

// body ends the client span when the response body is read to its end,
// fails, or is closed, whichever comes first.
type body struct {
	io.ReadCloser
	span opentracing.Span
	once sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.finish(err)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.finish(nil)
	return err
}

func (b *body) finish(err error) {
	b.once.Do(func() {
		defer spans.Guard("net/http client")
		if err != nil && err != io.EOF {
			fail(b.span, err)
		}
		b.span.Finish()
	})
}

// startServer starts the server span for r, continuing the caller's trace
// when the request carries one, and returns the request context with the
// span in it (where handlers find it with opentracing.SpanFromContext) and
// the function that ends the span.
func startServer(r *http.Request, rw http.ResponseWriter) (ctx context.Context, end func(status int, returned bool)) {
	defer spans.Guard("net/http server")
	if r == nil {
		return nil, nil
	}
	tracer := spans.Tracer()
	opts := []opentracing.StartSpanOption{opentracing.Tag{Key: string(spans.SpanKind), Value: "server"}}
	// A missing or malformed trace header starts a new trace.
	if parent, err := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(r.Header)); err == nil && parent != nil {
		opts = append(opts, opentracing.ChildOf(parent))
	}
	span := tracer.StartSpan("HTTP "+r.Method, opts...)
	spans.Component.Set(span, component)
	spans.HTTPMethod.Set(span, r.Method)
	if r.URL != nil {
		spans.HTTPURL.Set(span, redactedRequestURI(r.URL))
	}
	if r.RemoteAddr != "" {
		spans.PeerAddress.Set(span, r.RemoteAddr)
	}
	if caller := firstHeader(r.Header, callerNameHeaders); caller != "" {
		spans.PeerService.Set(span, caller)
	}
	ctx = opentracing.ContextWithSpan(r.Context(), span)
	ctx = spans.WithServerSpan(ctx, span, r.Method)
	// The handler runs on this goroutine: calls it makes without the
	// request's context, and goroutines it starts, find the span here.
	restore := spans.SetGoroutineSpan(span)
	return ctx, func(status int, returned bool) {
		defer spans.Guard("net/http server")
		restore()
		if status == 0 && returned {
			status = http.StatusOK // what the server sends for a handler that wrote nothing
		}
		if status != 0 {
			spans.HTTPStatusCode.Set(span, uint16(status))
		}
		if !returned {
			// The handler panicked. The panic goes on unchanged; the span
			// records that it happened.
			spans.Error.Set(span, true)
			span.LogFields(log.String("event", "error"), log.String("message", "handler panicked"))
		} else if status >= 500 {
			spans.Error.Set(span, true)
		}
		span.Finish()
	}
}

// nameRoute renames the server span after the ServeMux pattern that
// matched: "GET /users/{id}", or the method and pattern when the pattern
// names no method. A router that serves below the ServeMux and knows the
// route in more detail renames the span again.
func nameRoute(r *http.Request, pattern string) {
	defer spans.Guard("net/http route")
	route := pattern
	if method, rest, ok := strings.Cut(pattern, " "); ok && !strings.Contains(method, "/") {
		route = strings.TrimLeft(rest, " \t")
	}
	spans.SetRoute(r.Context(), route)
}

func fail(span opentracing.Span, err error) {
	spans.Error.Set(span, true)
	span.LogFields(log.String("event", "error"), log.String("message", err.Error()))
}

// redactedURL is the request URL without user info, which may hold a
// password, and without the values of query parameters that sign the
// request (a presigned S3 URL carries the access key id, the signature and
// the session token), which would let anyone who reads the trace repeat it.
func redactedURL(r *http.Request) string {
	u := *r.URL
	u.User = nil
	u.RawQuery = redactedQuery(u.RawQuery)
	return u.String()
}

// redactedRequestURI is what a server span shows of the URL: the path and
// the query, redacted as for clients.
func redactedRequestURI(u *url.URL) string {
	q := redactedQuery(u.RawQuery)
	if q == u.RawQuery {
		return u.RequestURI()
	}
	c := *u
	c.RawQuery = q
	return c.RequestURI()
}

// redactedQuery replaces the values of the signing parameters of AWS
// presigned URLs (Signature Version 4, and 2 for older S3 URLs) by
// "redacted", keeping their names. (A hand-written scan, not a regexp: it
// runs on every request, and regexp would be compiled into every traced
// program, and at its start.)
func redactedQuery(q string) string {
	if q == "" {
		return q
	}
	var out []byte // nil until a parameter is redacted
	for start := 0; start <= len(q); {
		end := strings.IndexByte(q[start:], '&')
		if end < 0 {
			end = len(q)
		} else {
			end += start
		}
		if name, _, ok := strings.Cut(q[start:end], "="); ok && isSigningParam(name) {
			if out == nil {
				out = append(out, q[:start]...)
			}
			out = append(out, name...)
			out = append(out, "=redacted"...)
		} else if out != nil {
			out = append(out, q[start:end]...)
		}
		if end < len(q) && out != nil {
			out = append(out, '&')
		}
		start = end + 1
	}
	if out == nil {
		return q
	}
	return string(out)
}

// isSigningParam reports whether a query parameter named name carries a
// signature or a credential of a presigned URL.
func isSigningParam(name string) bool {
	for _, p := range [...]string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "Signature"} {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// hostPort is the server's address as host:port, the port defaulted from
// the scheme.
func hostPort(r *http.Request) string {
	host := r.URL.Host
	if host == "" {
		host = r.Host
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if r.URL.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}
