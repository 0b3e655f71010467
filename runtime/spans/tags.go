package spans

import "github.com/opentracing/opentracing-go/ext"

// Tag names from the OpenTracing semantic conventions, in one place so
// hooks never spell them out. Where opentracing-go/ext has a typed name we
// reuse it.
var (
	SpanKind       = ext.SpanKind
	Component      = ext.Component
	Error          = ext.Error
	HTTPMethod     = ext.HTTPMethod
	HTTPURL        = ext.HTTPUrl
	HTTPStatusCode = ext.HTTPStatusCode
	PeerAddress    = ext.PeerAddress
	PeerService    = ext.PeerService
	DBType         = ext.DBType
	DBInstance     = ext.DBInstance
	DBStatement    = ext.DBStatement
	DBUser         = ext.DBUser
	MessageBusDest = ext.MessageBusDestination
)

// HTTPRoute is the route template that matched a server request; it is
// not in the OpenTracing list, so it takes the OpenTelemetry name.
const HTTPRoute = "http.route"
