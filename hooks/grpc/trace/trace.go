// Package trace is the runtime half of the grpc integration: the code that
// ottoolexec splices into google.golang.org/grpc calls it to make a client
// span per call the program makes and a server span per call it serves.
//
// It speaks only standard library types: metadata is passed as
// map[string][]string (metadata.MD's underlying type) or as the key/value
// pairs to append to it, status codes as numbers, so that ottoolexec's
// module never requires grpc and never raises the program's version.
package trace

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

// Enabled is false when OTTOOLEXEC_DISABLED asks for a plain program; the
// spliced code tests it before calling anything else here.
var Enabled = !spans.Disabled()

const component = "grpc"

// Tags of our own, beside the OpenTracing conventions.
const (
	TagService    = "rpc.service"      // "grpc.health.v1.Health"
	TagMethod     = "rpc.method"       // "Check"
	TagStatusCode = "grpc.status_code" // the code's name: "OK", "NotFound"
)

// serverLayer marks the handler's context: nothing checks it today, but a
// CoveredContext needs a layer.
const serverLayer = "grpc server"

// codeNames are the status codes' names as the gRPC specification (and
// grpc's codes.Code.String) spells them, indexed by code.
var codeNames = [...]string{
	"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
	"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
	"FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
	"Internal", "Unavailable", "DataLoss", "Unauthenticated",
}

// codeTags are codeNames boxed once, as tag values.
var codeTags = func() (tags [len(codeNames)]any) {
	for i, n := range codeNames {
		tags[i] = n
	}
	return tags
}()

// codeTag is CodeName(c) as a tag value.
func codeTag(c uint32) any {
	if int(c) < len(codeTags) {
		return codeTags[c]
	}
	return CodeName(c)
}

// CodeName returns the name of status code c ("NotFound"), or "Code(c)"
// for a code the specification does not define, as grpc writes it.
func CodeName(c uint32) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// okCodes has bit c set for each status code c that does not flag a span
// as an error: OK, and what OTTOOLEXEC_GRPC_OK_CODES lists.
var okCodes = parseOKCodes(os.Getenv("OTTOOLEXEC_GRPC_OK_CODES"))

// parseOKCodes reads a comma-separated list of code names (any case) or
// numbers. An entry it does not know is reported once on stderr and
// ignored.
func parseOKCodes(list string) uint64 {
	ok := uint64(1) // OK
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		c, found := codeOf(item)
		if !found {
			fmt.Fprintf(os.Stderr, "ottoolexec: OTTOOLEXEC_GRPC_OK_CODES: %q is not a gRPC status code; ignoring it\n", item)
			continue
		}
		ok |= 1 << c
	}
	return ok
}

func codeOf(s string) (uint32, bool) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil && n < 64 {
		return uint32(n), true
	}
	for i, name := range codeNames {
		if strings.EqualFold(name, s) || strings.EqualFold(strings.ReplaceAll(s, "_", ""), name) {
			return uint32(i), true
		}
	}
	return 0, false
}

// isError reports whether status code c flags a span as an error.
func isError(c uint32) bool {
	return c >= 64 || okCodes&(1<<c) == 0
}

// splitMethod splits a full method name, "/package.Service/Method", into
// its service and method, without allocating.
func splitMethod(full string) (service, method string) {
	s := strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// method is what the spans of calls to one full method share: its
// service and method as tag values, boxed once.
type method struct {
	service, method any
}

// methods caches a method per full method name. A server also sees names
// that clients make up, so the cache stops growing at maxMethods.
var (
	methods    sync.Map // string -> *method
	numMethods atomic.Int32
)

const maxMethods = 4096

func methodOf(full string) *method {
	if m, ok := methods.Load(full); ok {
		return m.(*method)
	}
	service, name := splitMethod(full)
	m := &method{service: service, method: name}
	if numMethods.Load() < maxMethods {
		if _, loaded := methods.LoadOrStore(full, m); !loaded {
			numMethods.Add(1)
		}
	}
	return m
}

// PeerCache makes peer addresses tag values. It remembers the last
// address it made one of: a program mostly talks over the same few
// connections, whose address values stay the same, so the string is made
// (and boxed) once per connection rather than once per call. The client
// and the server side each have their own, since in a program that is
// both they alternate.
type PeerCache struct {
	last atomic.Pointer[peerTag]
}

type peerTag struct {
	addr *net.TCPAddr
	tag  any
}

// Peers of client calls (servers) and of server calls (clients).
var ClientPeers, ServerPeers PeerCache

// Tag returns addr as a peer.address tag value.
func (c *PeerCache) Tag(addr net.Addr) any {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if p := c.last.Load(); p != nil && p.addr == tcp {
		return p.tag
	}
	p := &peerTag{addr: tcp, tag: tcp.String()}
	c.last.Store(p)
	return p.tag
}

// end records the status on span, flags it unless the code is one users
// treat as normal, and finishes it.
func end(span opentracing.Span, code uint32, message string, peer any) {
	span.SetTag(TagStatusCode, codeTag(code))
	if peer != nil {
		span.SetTag(string(spans.PeerAddress), peer)
	}
	if isError(code) {
		spans.Error.Set(span, true)
		if message == "" {
			message = CodeName(code)
		}
		span.LogFields(log.String("event", "error"), log.String("message", message))
	}
	span.Finish()
}

// Client is one call a client makes, unary or streaming, from the
// creation of its stream to its end. It is also the call's context: the
// program's context with the trace context added to its outgoing metadata,
// so that the stream the library builds on it leads back here.
type Client struct {
	context.Context
	span   opentracing.Span
	ended  atomic.Bool
	opts   [1]opentracing.StartSpanOption
	method *method
	parent opentracing.SpanContext
	pairs  [2]string // room for the trace context, as Jaeger injects it
}

type clientKey struct{}

// Value answers for the call itself, and otherwise for the context it
// wraps.
func (c *Client) Value(key any) any {
	if _, ok := key.(clientKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// ClientOf returns the call whose context ctx is or derives from, or nil.
func ClientOf(ctx context.Context) *Client {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(clientKey{}).(*Client)
	return c
}

// clientTags is the most tags a client span starts with.
const clientTags = 4

// Apply gives the client span its parent and tags, in one start option.
func (c *Client) Apply(o *opentracing.StartSpanOptions) {
	if c.parent != nil {
		opentracing.ChildOf(c.parent).Apply(o)
	}
	if o.Tags == nil {
		o.Tags = make(map[string]any, clientTags)
	}
	o.Tags[string(spans.SpanKind)] = "client"
	o.Tags[string(spans.Component)] = component
	o.Tags[TagService] = c.method.service
	o.Tags[TagMethod] = c.method.method
}

// otlpExport is the method the OTLP exporter (OTTOOLEXEC_EXPORTERS=otlp,
// OTEL_EXPORTER_OTLP_PROTOCOL=grpc) sends spans with. Its calls are the
// tracer's own reporting: traced, every export would make a span to export.
const otlpExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// StartClient starts the span of a call to fullMethod made with ctx, a
// child of ctx's current span. It returns the call and the metadata pairs
// (key, value, key, value...) that carry the trace context, for the caller
// to add to ctx's outgoing metadata before it wraps the result with Within.
func StartClient(ctx context.Context, fullMethod string) (c *Client, kv []string) {
	if fullMethod == otlpExport {
		return nil, nil
	}
	defer spans.Guard("grpc client")
	cl := &Client{method: methodOf(fullMethod)}
	if parent := spans.Current(ctx); parent != nil {
		cl.parent = parent.Context()
	}
	cl.opts[0] = cl
	tracer := spans.Tracer()
	cl.span = tracer.StartSpan(fullMethod, cl.opts[:]...)
	cl.parent = nil
	pairs := pairsCarrier(cl.pairs[:0])
	if err := tracer.Inject(cl.span.Context(), opentracing.TextMap, &pairs); err != nil {
		cl.span.LogFields(log.String("event", "inject failed"), log.Error(err))
	}
	// Set only now: a panic above (recovered by Guard) leaves no call.
	return cl, pairs
}

// Within makes ctx (the program's context with the trace metadata added)
// the call's context, and returns the call as a context.
func (c *Client) Within(ctx context.Context) context.Context {
	c.Context = ctx
	return c
}

// End ends the call's span with its status code and message (the error's
// text) and the server's address (a tag value from a PeerCache) when known. Only the first End counts:
// the library may report a stream's end more than once.
func (c *Client) End(code uint32, message string, peer any) {
	if c == nil || !c.ended.CompareAndSwap(false, true) {
		return
	}
	defer spans.Guard("grpc client")
	end(c.span, code, message, peer)
}

// Ended reports whether End has run.
func (c *Client) Ended() bool { return c.ended.Load() }

// pairsCarrier collects what a tracer injects as metadata pairs. gRPC
// metadata keys are lower case.
type pairsCarrier []string

func (p *pairsCarrier) Set(key, val string) {
	*p = append(*p, strings.ToLower(key), val)
}

// mdCarrier reads incoming metadata.
type mdCarrier map[string][]string

func (m mdCarrier) ForeachKey(handler func(key, val string) error) error {
	for k, vals := range m {
		for _, v := range vals {
			if err := handler(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Server is one call a server serves, from the arrival of its stream to
// the handler's return. It is the handler's context: it carries the span
// (opentracing.SpanFromContext finds it) and the call, where the status
// the server writes is recorded.
type Server struct {
	spans.CoveredContext
	restore func()

	// Start options, in one value (see Apply).
	opts   [1]opentracing.StartSpanOption
	method *method
	parent opentracing.SpanContext
	peer   any

	mu      sync.Mutex
	hasCode bool
	code    uint32
	message string
}

type serverKey struct{}

// Value answers for the call itself, and otherwise as CoveredContext does.
func (s *Server) Value(key any) any {
	if _, ok := key.(serverKey); ok {
		return s
	}
	return s.CoveredContext.Value(key)
}

// serverTags is the most tags a server span starts with.
const serverTags = 5

// Apply gives the server span its parent and tags, in one start option.
func (s *Server) Apply(o *opentracing.StartSpanOptions) {
	if s.parent != nil {
		opentracing.ChildOf(s.parent).Apply(o)
	}
	if o.Tags == nil {
		o.Tags = make(map[string]any, serverTags)
	}
	o.Tags[string(spans.SpanKind)] = "server"
	o.Tags[string(spans.Component)] = component
	o.Tags[TagService] = s.method.service
	o.Tags[TagMethod] = s.method.method
	if s.peer != nil {
		o.Tags[string(spans.PeerAddress)] = s.peer
	}
}

// StartServer starts the span of a call to fullMethod that arrived with
// ctx (the stream's context), md (its metadata, where the caller's trace
// context is; only read) and from peer (the client's address as a tag
// value from a PeerCache, or nil). The call is the context to hand on to the
// handler; it is also the goroutine's current span until End.
func StartServer(ctx context.Context, fullMethod string, md map[string][]string, peer any) *Server {
	defer spans.Guard("grpc server")
	tracer := spans.Tracer()
	s := &Server{method: methodOf(fullMethod), peer: peer}
	// Missing or malformed trace metadata starts a new trace.
	if len(md) > 0 {
		if parent, err := tracer.Extract(opentracing.TextMap, mdCarrier(md)); err == nil && parent != nil {
			s.parent = parent
		}
	}
	s.opts[0] = s
	span := tracer.StartSpan(fullMethod, s.opts[:]...)
	s.parent, s.peer = nil, nil
	s.Cover(ctx, serverLayer, span)
	// The handler runs on this goroutine: calls it makes without its
	// context, and goroutines it starts, find the span here.
	s.restore = spans.SetGoroutineSpan(span)
	return s
}

// ServerStatus records the status a server writes on the stream whose
// context is ctx, if that is a call StartServer began. The first status
// written counts.
func ServerStatus(ctx context.Context, code uint32, message string) {
	if ctx == nil {
		return
	}
	s, _ := ctx.Value(serverKey{}).(*Server)
	if s == nil {
		return
	}
	s.mu.Lock()
	if !s.hasCode {
		s.hasCode, s.code, s.message = true, code, message
	}
	s.mu.Unlock()
}

// End ends the server span once the call is served, with the status the
// server wrote. A call whose status was never written (the connection
// went away first) ends without a code.
func (s *Server) End() {
	defer spans.Guard("grpc server")
	s.restore()
	s.mu.Lock()
	has, code, message := s.hasCode, s.code, s.message
	s.mu.Unlock()
	span := s.Span()
	if !has {
		span.Finish()
		return
	}
	if message != "" {
		message = CodeName(code) + ": " + message
	}
	end(span, code, message, nil)
}
