// Package trace is the runtime half of the AWS SDK for Go v2 integration:
// the code ottoolexec splices into github.com/aws/smithy-go/middleware
// calls it for every API call and every attempt of one. It imports nothing
// of the SDK (ottoolexec's module must not require it): the SDK's values
// reach it as interface values, read by reflection, and the stack values
// through a function the spliced code passes in.
package trace

import (
	"context"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"

	"github.com/ottoolexec/ottoolexec/runtime/spans"
)

const component = "aws-sdk-go-v2"

// Tag names of this integration (OpenTracing has none for AWS).
const (
	TagService       = "aws.service"
	TagOperation     = "aws.operation"
	TagRegion        = "aws.region"
	TagRequestID     = "aws.request_id"
	TagAttempts      = "aws.attempts"
	TagS3Bucket      = "aws.s3.bucket"
	TagDynamoDBTable = "aws.dynamodb.table"
)

// enabled is read once: OTTOOLEXEC_DISABLED=1 leaves every call as it was.
var enabled = !spans.Disabled()

// StackValues walks the stack values of an operation's context, the newest
// first, until visit returns false. The file ottoolexec adds to smithy-go's
// middleware package provides it.
type StackValues = func(ctx context.Context, visit func(key, value any) bool)

// Call is one API call under way: one run of an operation's middleware
// stack. Its span starts when the first attempt goes out, so that running
// a stack that sends nothing (presigning a URL) makes no span.
type Call struct {
	ctx      context.Context // the caller's: the parent span, the names if no attempt is made
	input    any             // the operation's input, *s3.PutObjectInput and so on
	values   StackValues
	start    time.Time
	span     opentracing.Span
	attempts int // attempts of one call run one after the other, never at once
}

type callKey struct{}

// StartCall records a call at the top of an operation's middleware stack
// and returns the context the stack passes down, which carries it. It
// returns a nil *Call (and ctx unchanged) when tracing is off.
func StartCall(ctx context.Context, input any, values StackValues) (out context.Context, c *Call) {
	out = ctx
	if !enabled || ctx == nil || values == nil {
		return out, nil
	}
	defer spans.Guard("aws-sdk-go-v2 call")
	call := &Call{ctx: ctx, input: input, values: values, start: time.Now()}
	return context.WithValue(ctx, callKey{}, call), call
}

// StartAttempt is called for every attempt of the call in ctx, where the
// stack hands the request to the HTTP client. The first attempt starts the
// call's span. The returned context carries the span, so the HTTP client's
// own span is its child. It returns nil when ctx belongs to no call.
func StartAttempt(ctx context.Context) (out context.Context, c *Call) {
	out = ctx
	if !enabled || ctx == nil {
		return out, nil
	}
	defer spans.Guard("aws-sdk-go-v2 attempt")
	call, _ := ctx.Value(callKey{}).(*Call)
	if call == nil {
		return out, nil
	}
	call.attempts++
	if call.span == nil {
		call.begin(ctx)
	} else {
		call.span.LogFields(log.String("event", "retry"), log.Int("attempt", call.attempts))
	}
	return opentracing.ContextWithSpan(ctx, call.span), call
}

// EndAttempt records what an attempt's transport returned: raw is the
// SDK's raw response (*smithyhttp.Response, which embeds *http.Response).
// The last attempt's status code and request id are the ones the span keeps.
func (c *Call) EndAttempt(raw any, err error) {
	if c == nil || c.span == nil {
		return
	}
	defer spans.Guard("aws-sdk-go-v2 attempt")
	resp := httpResponse(raw)
	if resp == nil {
		return
	}
	spans.HTTPStatusCode.Set(c.span, uint16(resp.StatusCode))
	if id := requestID(resp.Header); id != "" {
		c.span.SetTag(TagRequestID, id)
	}
}

// End ends the call when its stack returns; errp points at the stack's
// error result. A call that sent nothing and did not fail (a presigned
// URL) leaves no span; one that failed before sending anything (an invalid
// input, no credentials) gets one, flagged as an error.
func (c *Call) End(errp *error) {
	if c == nil {
		return
	}
	defer spans.Guard("aws-sdk-go-v2 call")
	var err error
	if errp != nil {
		err = *errp
	}
	if c.span == nil {
		if err == nil {
			return
		}
		c.begin(c.ctx)
	}
	c.span.SetTag(TagAttempts, c.attempts)
	if err != nil {
		spans.Error.Set(c.span, true)
		c.span.LogFields(log.String("event", "error"), log.String("message", scrub(err.Error())))
	}
	c.span.Finish()
}

// begin starts the call's span, dated from the call's start, as a child of
// the caller's current span. ctx is where the stack values are read: an
// attempt's context also holds those the stack's first steps added (older
// SDKs set the region there).
func (c *Call) begin(ctx context.Context) {
	service, operation, region := names(ctx, c.values)
	if service == "" || operation == "" {
		s, o := fromInput(c.input)
		if service == "" {
			service = s
		}
		if operation == "" {
			operation = o
		}
	}
	name := operation
	if service != "" {
		name = service + "." + operation
	}
	opts := []opentracing.StartSpanOption{
		opentracing.StartTime(c.start),
		opentracing.Tag{Key: string(spans.SpanKind), Value: "client"},
	}
	if parent := spans.Current(c.ctx); parent != nil {
		opts = append(opts, opentracing.ChildOf(parent.Context()))
	}
	span := spans.Tracer().StartSpan(name, opts...)
	spans.Component.Set(span, component)
	span.SetTag(TagService, service)
	span.SetTag(TagOperation, operation)
	if region != "" {
		span.SetTag(TagRegion, region)
	}
	switch service {
	case "S3":
		if bucket := stringField(deref(c.input), "Bucket"); bucket != "" {
			span.SetTag(TagS3Bucket, bucket)
		}
	case "DynamoDB":
		if tables := dynamoDBTables(c.input); tables != "" {
			span.SetTag(TagDynamoDBTable, tables)
		}
	}
	c.span = span
}

// The packages whose stack value keys name the service, operation and
// region: smithy-go's (newer SDKs) and the SDK's own (all of them).
var keyPackages = map[string]bool{
	"github.com/aws/smithy-go/middleware":         true,
	"github.com/aws/aws-sdk-go-v2/aws/middleware": true,
}

// names reads the service id ("S3"), the operation name ("PutObject") and
// the region from the stack values in ctx, by the names of their key
// types. The newest value of each wins.
func names(ctx context.Context, values StackValues) (service, operation, region string) {
	values(ctx, func(key, value any) bool {
		s, ok := value.(string)
		if !ok || s == "" || key == nil {
			return true
		}
		t := reflect.TypeOf(key)
		if !keyPackages[t.PkgPath()] {
			return true
		}
		switch t.Name() {
		case "serviceIDKey":
			if service == "" {
				service = s
			}
		case "operationNameKey":
			if operation == "" {
				operation = s
			}
		case "regionKey":
			if region == "" {
				region = s
			}
		}
		return service == "" || operation == "" || region == ""
	})
	return service, operation, region
}

// fromInput names the service after the input's package (".../service/s3"
// gives "s3") and the operation after its type (PutObjectInput gives
// PutObject), for a call that fails before the stack has recorded them.
func fromInput(input any) (service, operation string) {
	t := reflect.TypeOf(input)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "", ""
	}
	p := t.PkgPath()
	return p[strings.LastIndex(p, "/")+1:], strings.TrimSuffix(t.Name(), "Input")
}

// deref returns the struct v points to, or an invalid Value.
func deref(v any) reflect.Value {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return reflect.Value{}
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return rv
}

// stringField returns the value of s's field name when it is a string or
// a *string, else "".
func stringField(s reflect.Value, name string) string {
	if !s.IsValid() {
		return ""
	}
	f := s.FieldByName(name)
	if f.Kind() == reflect.Pointer && !f.IsNil() {
		f = f.Elem()
	}
	if f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

// dynamoDBTables returns the table (or the sorted, comma-separated tables)
// a DynamoDB input names: TableName, the keys of RequestItems
// (BatchGetItem, BatchWriteItem), or the tables of TransactItems.
func dynamoDBTables(input any) string {
	in := deref(input)
	if !in.IsValid() {
		return ""
	}
	if t := stringField(in, "TableName"); t != "" {
		return t
	}
	set := map[string]bool{}
	if items := in.FieldByName("RequestItems"); items.Kind() == reflect.Map && items.Type().Key().Kind() == reflect.String {
		for _, k := range items.MapKeys() {
			set[k.String()] = true
		}
	}
	if items := in.FieldByName("TransactItems"); items.Kind() == reflect.Slice {
		for i := 0; i < items.Len(); i++ {
			item := deref(items.Index(i).Interface())
			if !item.IsValid() {
				continue
			}
			// Each item is one of Put, Update, Delete, ConditionCheck or Get.
			for j := 0; j < item.NumField(); j++ {
				if !item.Type().Field(j).IsExported() {
					continue
				}
				if f := item.Field(j); f.Kind() == reflect.Pointer && !f.IsNil() {
					if t := stringField(f.Elem(), "TableName"); t != "" {
						set[t] = true
					}
				}
			}
		}
	}
	tables := make([]string, 0, len(set))
	for t := range set {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	return strings.Join(tables, ",")
}

var httpResponseType = reflect.TypeOf((*http.Response)(nil))

// httpResponse finds the *http.Response in the SDK's raw response: the
// value itself, or the field that embeds it (smithyhttp.Response).
func httpResponse(raw any) *http.Response {
	if r, ok := raw.(*http.Response); ok {
		return r
	}
	s := deref(raw)
	if !s.IsValid() {
		return nil
	}
	f := s.FieldByName("Response")
	if !f.IsValid() || f.Type() != httpResponseType || f.IsNil() {
		return nil
	}
	return f.Interface().(*http.Response)
}

// The headers AWS services answer with the request id in: most services
// use the first, S3 the second, some the third.
var requestIDHeaders = []string{"X-Amzn-Requestid", "X-Amz-Request-Id", "X-Amz-Requestid"}

func requestID(h http.Header) string {
	for _, name := range requestIDHeaders {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// Error messages reach spans through scrub, in case one quotes a URL that
// was signed in its query string or an access key id: signature, credential
// and token parameters lose their values, and key ids are masked.
var (
	signedQuery = regexp.MustCompile(`(?i)((?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=)[^&\s"']*`)
	accessKeyID = regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b`)
)

func scrub(msg string) string {
	msg = signedQuery.ReplaceAllString(msg, "${1}redacted")
	return accessKeyID.ReplaceAllString(msg, "redacted")
}
