// Package awssdk traces the AWS SDK for Go v2: one client span per API
// call of any service client (S3, DynamoDB, SQS, STS...).
//
// Every operation of every service client runs through a smithy-go
// middleware stack: the generated client builds a middleware.Stack and
// calls its HandleMiddleware once per call, and the stack's deserialize
// step hands each attempt (the first try and every retry) to the HTTP
// client through one small wrapper, deserializeWrapHandler. Both live in
// github.com/aws/smithy-go/middleware, which all service modules share, so
// one rule on that package covers every service and every SDK version
// built on it.
//
//   - (*Stack).HandleMiddleware gets a prologue that records the call in
//     the context the stack passes down, and ends it when the stack
//     returns.
//   - deserializeWrapHandler.HandleDeserialize gets a prologue that counts
//     the attempt, starts the call's span at the first one (with the call's
//     start time), and puts the span in the context that goes on to the
//     HTTP client: the SDK's own request is a child of the AWS span. When
//     the attempt returns, the raw HTTP response gives the status code and
//     the request id.
//
// A call that never sends a request and does not fail (a presigned URL is
// computed by running the stack without its transport) makes no span, so
// a presigned URL never reaches a span. The input value (*s3.PutObjectInput
// and so on) is read by reflection for the bucket and table names only.
//
// The runtime half, which creates the spans, is the package in ./trace; it
// imports nothing of the SDK.
package awssdk

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_middleware.go.txt
var injectMiddleware string

// runtimeHalf is the package the spliced code calls.
const runtimeHalf = "github.com/ottoolexec/ottoolexec/hooks/awssdk/trace"

// Rule is the AWS SDK for Go v2 integration.
var Rule = &hooks.Rule{
	Name:    "awssdk",
	Doc:     "AWS SDK for Go v2: a client span per API call of any service, retries counted",
	Package: "github.com/aws/smithy-go/middleware",
	// Tested with service/s3 v1.114.10 and service/dynamodb v1.74.0; the
	// functions hooked are declared the same way in every smithy-go
	// release from v1.0.0 on.
	Tested: []string{"smithy-go v1.28.9", "aws-sdk-go-v2 v1.48.0"},
	// smithy-go declares these the same way in every release from v1.0.0
	// to v1.28.9 (with the results on lines of their own).
	Funcs: []hooks.Func{
		{
			Recv:      "*Stack",
			Name:      "HandleMiddleware",
			Signature: "(ctx context.Context, input interface{}, next Handler) (output interface{}, metadata Metadata, err error)",
			Prologue:  "var __ottoolexec_call *__ottoolexec_awssdk.Call; ctx, __ottoolexec_call = __ottoolexec_awssdk.StartCall(ctx, input, __ottoolexec_stackValues); if __ottoolexec_call != nil { defer __ottoolexec_call.End(&err) };",
		},
		{
			Recv:      "deserializeWrapHandler",
			Name:      "HandleDeserialize",
			Signature: "(ctx context.Context, in DeserializeInput) (out DeserializeOutput, metadata Metadata, err error)",
			Prologue:  "var __ottoolexec_try *__ottoolexec_awssdk.Call; ctx, __ottoolexec_try = __ottoolexec_awssdk.StartAttempt(ctx); if __ottoolexec_try != nil { defer func() { __ottoolexec_try.EndAttempt(out.RawResponse, err) }() };",
		},
		{
			// Nothing is spliced here: the declaration is checked so that
			// a smithy-go whose stack values are shaped differently, which
			// the added file reads, is left untouched rather than broken.
			Name:      "withStackValue",
			Signature: "(parent *stackValues, key, value interface{}) *stackValues",
		},
	},
	Files:   []hooks.File{{Name: "middleware.go", Content: injectMiddleware}},
	Imports: map[string]string{"__ottoolexec_awssdk": runtimeHalf},
}
