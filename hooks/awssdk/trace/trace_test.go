package trace

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
)

// Stand-ins for the SDK's shapes: stack value keys (matched by type name,
// with this package allowed as their home), inputs and the raw response.

type serviceIDKey struct{}
type operationNameKey struct{}
type regionKey struct{}

type stackValue struct {
	key, value any
	parent     *stackValue
}

type stackValuesKey struct{}

func withValue(ctx context.Context, key, value any) context.Context {
	parent, _ := ctx.Value(stackValuesKey{}).(*stackValue)
	return context.WithValue(ctx, stackValuesKey{}, &stackValue{key, value, parent})
}

func walk(ctx context.Context, visit func(key, value any) bool) {
	for v, _ := ctx.Value(stackValuesKey{}).(*stackValue); v != nil; v = v.parent {
		if !visit(v.key, v.value) {
			return
		}
	}
}

type PutObjectInput struct {
	Bucket *string
	Key    *string
}

type Put struct{ TableName *string }
type Delete struct{ TableName *string }
type TransactWriteItem struct {
	Put    *Put
	Delete *Delete
}
type TransactWriteItemsInput struct{ TransactItems []TransactWriteItem }
type BatchWriteItemInput struct{ RequestItems map[string][]int }
type GetItemInput struct{ TableName *string }

type rawResponse struct{ *http.Response }

func str(s string) *string { return &s }

func setup(t *testing.T) *mocktracer.MockTracer {
	t.Helper()
	keyPackages[reflect.TypeOf(regionKey{}).PkgPath()] = true
	tracer := mocktracer.New()
	prev := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(prev) })
	return tracer
}

func response(status int, header ...string) *rawResponse {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &rawResponse{&http.Response{StatusCode: status, Header: h}}
}

// A call with a retry: one span, dated from the call's start, child of
// the caller's span, carried in each attempt's context; the last attempt's
// status and request id; the attempt count.
func TestCallWithRetry(t *testing.T) {
	tracer := setup(t)
	parent := tracer.StartSpan("handler")
	ctx := opentracing.ContextWithSpan(context.Background(), parent)
	ctx = withValue(ctx, serviceIDKey{}, "S3")
	ctx = withValue(ctx, operationNameKey{}, "PutObject")

	before := time.Now()
	ctx, call := StartCall(ctx, &PutObjectInput{Bucket: str("photos"), Key: str("a.jpg")}, walk)
	if call == nil {
		t.Fatal("StartCall returned no call")
	}
	// The region is added by the stack's first step, as older SDKs do.
	ctx = withValue(ctx, regionKey{}, "eu-west-1")
	for i, raw := range []*rawResponse{
		response(500, "X-Amz-Request-Id", "first"),
		response(200, "X-Amz-Request-Id", "second"),
	} {
		actx, attempt := StartAttempt(ctx)
		if attempt != call {
			t.Fatalf("attempt %d: StartAttempt returned %p, want the call %p", i+1, attempt, call)
		}
		if s := opentracing.SpanFromContext(actx); s == nil || s == parent {
			t.Fatalf("attempt %d: the context carries %v, want the call's span", i+1, s)
		}
		attempt.EndAttempt(raw, nil)
	}
	var err error
	call.End(&err)
	parent.Finish()

	got := tracer.FinishedSpans()
	if len(got) != 2 {
		t.Fatalf("%d spans, want 2", len(got))
	}
	s := got[0]
	if s.OperationName != "S3.PutObject" {
		t.Errorf("operation %q, want S3.PutObject", s.OperationName)
	}
	if s.ParentID != parent.(*mocktracer.MockSpan).SpanContext.SpanID {
		t.Errorf("parent %d, want the handler span", s.ParentID)
	}
	if s.StartTime.Before(before) || s.StartTime.After(time.Now()) {
		t.Errorf("start %v, want the call's start", s.StartTime)
	}
	want := map[string]any{
		"span.kind": "client", "component": "aws-sdk-go-v2",
		"aws.service": "S3", "aws.operation": "PutObject", "aws.region": "eu-west-1",
		"aws.s3.bucket": "photos", "aws.request_id": "second",
		"http.status_code": uint16(200), "aws.attempts": 2,
	}
	for k, v := range want {
		if s.Tag(k) != v {
			t.Errorf("tag %s = %#v, want %#v", k, s.Tag(k), v)
		}
	}
	if s.Tag("error") != nil {
		t.Errorf("error tag on a call that succeeded")
	}
	if logs := s.Logs(); len(logs) != 1 || logs[0].Fields[0].ValueString != "retry" {
		t.Errorf("logs %v, want one retry event", logs)
	}
}

// Running a stack that sends nothing and does not fail (presigning) makes
// no span.
func TestNoAttemptNoSpan(t *testing.T) {
	tracer := setup(t)
	_, call := StartCall(context.Background(), &PutObjectInput{Bucket: str("b")}, walk)
	var err error
	call.End(&err)
	if n := len(tracer.FinishedSpans()); n != 0 {
		t.Fatalf("%d spans, want none", n)
	}
}

// A call that fails before sending anything gets an error span, named from
// its input when the stack recorded nothing; the message is scrubbed.
func TestFailureBeforeSending(t *testing.T) {
	tracer := setup(t)
	_, call := StartCall(context.Background(), &GetItemInput{TableName: str("orders")}, walk)
	err := errors.New(`send https://x/?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026&X-Amz-Signature=abc: refused (key AKIAIOSFODNN7EXAMPLE)`)
	call.End(&err)
	got := tracer.FinishedSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	s := got[0]
	if s.OperationName != "trace.GetItem" || s.Tag("error") != true || s.Tag("aws.attempts") != 0 {
		t.Errorf("span %q error=%v attempts=%v, want trace.GetItem error=true attempts=0", s.OperationName, s.Tag("error"), s.Tag("aws.attempts"))
	}
	msg := s.Logs()[0].Fields[1].ValueString
	if strings.Contains(msg, "AKIA") || strings.Contains(msg, "abc") || !strings.Contains(msg, "X-Amz-Signature=redacted") {
		t.Errorf("logged message %q still holds a credential", msg)
	}
}

// An attempt outside any recorded call (a stack run before tracing
// started, say) does nothing.
func TestAttemptWithoutCall(t *testing.T) {
	setup(t)
	ctx := context.Background()
	out, call := StartAttempt(ctx)
	if out != ctx || call != nil {
		t.Fatalf("StartAttempt = %v, %v; want ctx, nil", out, call)
	}
	call.EndAttempt(response(200), nil) // nil-safe
	call.End(nil)
}

func TestDynamoDBTables(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{&GetItemInput{TableName: str("orders")}, "orders"},
		{&BatchWriteItemInput{RequestItems: map[string][]int{"b": nil, "a": nil}}, "a,b"},
		{&TransactWriteItemsInput{TransactItems: []TransactWriteItem{
			{Put: &Put{TableName: str("orders")}},
			{Delete: &Delete{TableName: str("carts")}},
			{Put: &Put{TableName: str("orders")}},
		}}, "carts,orders"},
		{&GetItemInput{}, ""},
		{(*GetItemInput)(nil), ""},
		{nil, ""},
		{42, ""},
	} {
		if got := dynamoDBTables(tc.in); got != tc.want {
			t.Errorf("dynamoDBTables(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestHTTPResponse(t *testing.T) {
	r := &http.Response{StatusCode: 204}
	for _, tc := range []struct {
		raw  any
		want *http.Response
	}{
		{r, r},
		{&rawResponse{r}, r},
		{rawResponse{r}, r},
		{&rawResponse{}, nil},
		{nil, nil},
		{"text", nil},
		{&struct{ Response string }{"x"}, nil},
	} {
		if got := httpResponse(tc.raw); got != tc.want {
			t.Errorf("httpResponse(%#v) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}
