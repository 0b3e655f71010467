package spans

import (
	"context"
	"net/http"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/opentracing/opentracing-go"
)

// The current span: the one a new span without an explicit parent becomes
// a child of. A context that carries a span wins; without one, the
// goroutine's slot (set while a server span's handler runs, inherited by
// the goroutines it starts) answers, when the goroutine rule is linked in.

var (
	// The runtime's accessors, once runtime/gls registers them. Until
	// then slotGet answers nil, so that reading the slot needs no test of
	// its own and stays cheap enough to inline.
	slotGet = noSlot
	slotSet func(unsafe.Pointer)
	hasSlot bool
	custom  atomic.Pointer[CurrentFn] // the program's own way, if any
)

// CurrentFn finds the current span for ctx (which may be nil).
type CurrentFn func(ctx context.Context) opentracing.Span

// slotValue is what the goroutine slot points to. It is never modified
// once stored, so child goroutines can share their parent's.
type slotValue struct {
	span    opentracing.Span
	covered string // a layer the goroutine's work is covered for (CoverGoroutine)
}

// UseGoroutineSlot installs the runtime's accessors for the goroutine
// slot. Only runtime/gls calls it, at init.
func UseGoroutineSlot(get func() unsafe.Pointer, set func(unsafe.Pointer)) {
	slotGet, slotSet, hasSlot = get, set, true
}

func noSlot() unsafe.Pointer { return nil }

// HasGoroutineSlot reports whether spans can follow goroutines.
func HasGoroutineSlot() bool { return hasSlot }

// GoroutineSpan returns the span in the current goroutine's slot, or nil.
func GoroutineSpan() opentracing.Span {
	if v := (*slotValue)(slotGet()); v != nil {
		return v.span
	}
	return nil
}

// SetGoroutineSpan makes span the current goroutine's span (nil clears it)
// and returns the function that puts back the previous one. Goroutines
// started from now on inherit span.
func SetGoroutineSpan(span opentracing.Span) (restore func()) {
	if !hasSlot {
		return func() {}
	}
	prev := slotGet()
	var next unsafe.Pointer
	if span != nil {
		next = unsafe.Pointer(&slotValue{span: span})
	}
	slotSet(next)
	return func() { slotSet(prev) }
}

// HandBack gives the goroutine its previous span, prev, back when its
// current span is still span: a consumer span that was made current for
// the handling of a message and is ended from another goroutine (an
// acknowledgement, a commit) changes nothing there.
func HandBack(span, prev opentracing.Span) {
	if Same(GoroutineSpan(), span) {
		SetGoroutineSpan(prev)
	}
}

// Same compares two spans without panicking on a tracer whose span type
// is not comparable.
func Same(a, b opentracing.Span) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if t := reflect.TypeOf(a); t != reflect.TypeOf(b) || !t.Comparable() {
		return false
	}
	return a == b
}

// SetCurrentFn replaces how the current span is found, for programs that
// keep spans their own way; nil restores the default.
func SetCurrentFn(f CurrentFn) {
	if f == nil {
		custom.Store(nil)
		return
	}
	custom.Store(&f)
}

// Current returns the current span: the program's own CurrentFn if it set
// one and that finds a span, else the span in ctx, else the goroutine's.
func Current(ctx context.Context) opentracing.Span {
	// The common no-context case stays small enough to inline into the
	// caller (CurrentSpan(nil), every splice without a context): one
	// atomic load and the slot read.
	if ctx == nil && custom.Load() == nil {
		return GoroutineSpan()
	}
	return current(ctx)
}

// current is Current's general case.
func current(ctx context.Context) opentracing.Span {
	if f := custom.Load(); f != nil {
		if s := (*f)(ctx); s != nil {
			return s
		}
	}
	if ctx != nil {
		if s := opentracing.SpanFromContext(ctx); s != nil {
			return s
		}
	}
	return GoroutineSpan()
}

// CurrentWithoutContext is Current for code that has no context at hand:
// the program's own CurrentFn asked with none, else the goroutine's span.
func CurrentWithoutContext() opentracing.Span {
	var none context.Context
	return Current(none)
}

// ResponseHook is called with every HTTP client span and its response,
// before the span ends.
type ResponseHook func(span opentracing.Span, resp *http.Response)

var responseHook atomic.Pointer[ResponseHook]

// SetResponseHook installs h (nil removes it).
func SetResponseHook(h ResponseHook) {
	if h == nil {
		responseHook.Store(nil)
		return
	}
	responseHook.Store(&h)
}

// CallResponseHook calls the response hook, if any; a panic in it is
// recovered like any fault in tracing code.
func CallResponseHook(span opentracing.Span, resp *http.Response) {
	if h := responseHook.Load(); h != nil {
		defer Guard("HTTP response")
		(*h)(span, resp)
	}
}

type coveredKey struct{}

// Covered returns a copy of ctx marking that a span of layer (say
// "database/sql") already covers the operation under way, so that
// instrumentation of a lower layer (the pgx driver under database/sql)
// does not open a second span for it: it checks IsCovered(ctx, layer).
func Covered(ctx context.Context, layer string) context.Context {
	return context.WithValue(ctx, coveredKey{}, layer)
}

// CoverGoroutine marks the current goroutine, and the goroutines it
// starts until restore is called, as covered for layer, the way Covered
// marks a context: a library's own background loops (a task queue
// polling Redis) then make no spans of that lower layer. The goroutine
// keeps its current span. A goroutine that later gets a span of its own
// (SetGoroutineSpan: a task handler) is no longer covered. Without the
// goroutine slot it does nothing.
func CoverGoroutine(layer string) (restore func()) {
	if !hasSlot {
		return func() {}
	}
	prev := slotGet()
	v := &slotValue{covered: layer}
	if p := (*slotValue)(prev); p != nil {
		v.span = p.span
	}
	slotSet(unsafe.Pointer(v))
	return func() { slotSet(prev) }
}

// IsCovered reports whether ctx carries Covered for layer or, when ctx
// carries neither that mark nor a span, whether the goroutine is covered
// for layer (CoverGoroutine).
func IsCovered(ctx context.Context, layer string) bool {
	if ctx != nil {
		switch l := ctx.Value(coveredKey{}).(type) {
		case string:
			if l == layer {
				return true
			}
		case *string: // a CoveredContext's
			if *l == layer {
				return true
			}
		}
		if opentracing.SpanFromContext(ctx) != nil {
			return false
		}
	}
	if !hasSlot {
		return false
	}
	v := (*slotValue)(slotGet())
	return v != nil && v.covered == layer
}

// CoveredSpan returns a copy of ctx that carries span, as
// opentracing.ContextWithSpan would, and is marked Covered for layer: both
// in one context value, where the two calls make two (and two or three
// allocations), which matters on per-statement paths such as SQL queries.
func CoveredSpan(ctx context.Context, layer string, span opentracing.Span) context.Context {
	c := &CoveredContext{}
	c.Cover(ctx, layer, span)
	return c
}

// CoveredContext is what CoveredSpan returns, exported so that a hook can
// embed it in a larger value of its own and allocate the two together.
// The zero value is not usable: call Cover first.
type CoveredContext struct {
	context.Context
	span  opentracing.Span
	layer string
}

// Cover makes c carry span on top of ctx, marked Covered for layer.
func (c *CoveredContext) Cover(ctx context.Context, layer string, span opentracing.Span) {
	if spanKey == nil {
		ctx = opentracing.ContextWithSpan(ctx, span)
	}
	c.Context, c.layer, c.span = ctx, layer, span
}

// Span returns the span c carries.
func (c *CoveredContext) Span() opentracing.Span { return c.span }

// Value answers the covered mark and opentracing-go's span key itself and
// asks the parent for any other key.
func (c *CoveredContext) Value(key any) any {
	switch key {
	case any(coveredKey{}):
		return &c.layer // a pointer, so that answering allocates nothing
	case spanKey:
		if spanKey != nil {
			return c.span
		}
	}
	return c.Context.Value(key)
}

// spanKey is the key under which opentracing-go keeps a context's span.
// The package does not export it, so it is learnt once, from the key its
// SpanFromContext asks for; nil if that ever fails, and then Value leaves
// the span to the parent, which CoveredSpan then puts there.
var spanKey = func() any {
	p := &keyProbe{Context: context.Background()}
	opentracing.SpanFromContext(p)
	return p.key
}()

// keyProbe is a context that records the key it is asked for.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}
