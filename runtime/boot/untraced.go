package boot

import "net/http"

// untraced marks an http.RoundTripper whose requests the net/http client hook
// must not trace: the tracer's own traffic (spans to a collector, sampling
// strategy polls) would otherwise make spans about sending spans, forever.
type untraced struct{ http.RoundTripper }

// Untraced wraps rt (http.DefaultTransport when nil) so that IsUntraced
// reports true for it. Wrapping twice changes nothing.
func Untraced(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if IsUntraced(rt) {
		return rt
	}
	return untraced{rt}
}

// IsUntraced reports whether rt came from Untraced. The client hook calls it
// on the transport of the client making a request and skips the span if so.
func IsUntraced(rt http.RoundTripper) bool {
	_, ok := rt.(untraced)
	return ok
}

// OttoolexecUntraced marks the type for code that cannot import boot (a hook
// spliced into net/http itself would make an import cycle): it may test
// rt.(interface{ OttoolexecUntraced() }) instead of calling IsUntraced.
func (untraced) OttoolexecUntraced() {}

// CloseIdleConnections passes http.Client.CloseIdleConnections through to
// the wrapped transport, which the embedded interface would hide.
func (u untraced) CloseIdleConnections() {
	if c, ok := u.RoundTripper.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
