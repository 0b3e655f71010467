// Command grpchand is grpcplain traced by hand, as users do without the
// injector: the OpenTracing interceptors of
// github.com/opentracing-contrib/go-grpc on both sides (a client span per
// call with the trace context in its metadata, a server span per call,
// child of the client's), on jaeger-client-go with a const sampler and a
// null reporter (an in-memory one under -check, to count spans).
package main

import (
	"context"
	"example.com/handtracer"
	"flag"

	otgrpc "github.com/opentracing-contrib/go-grpc"
	"github.com/uber/jaeger-client-go"
	"google.golang.org/grpc"

	"example.com/clientops/grpcq"
	"example.com/clientops/loop"
)

func main() {
	check := flag.Bool("check", false, "count finished spans with an in-memory reporter")
	var counted *jaeger.InMemoryReporter
	loop.Main(loop.Program{
		Setup: func(ctx context.Context) (loop.Op, func(), error) {
			var reporter jaeger.Reporter = jaeger.NewNullReporter()
			if *check {
				counted = jaeger.NewInMemoryReporter()
				reporter = counted
			}
			tracer, closer := handtracer.New("grpchand", reporter)
			op, cleanup, err := grpcq.Setup(ctx,
				[]grpc.ServerOption{
					grpc.UnaryInterceptor(otgrpc.OpenTracingServerInterceptor(tracer)),
					grpc.StreamInterceptor(otgrpc.OpenTracingStreamServerInterceptor(tracer)),
				},
				grpc.WithUnaryInterceptor(otgrpc.OpenTracingClientInterceptor(tracer)),
				grpc.WithStreamInterceptor(otgrpc.OpenTracingStreamClientInterceptor(tracer)),
			)
			if err != nil {
				closer.Close()
				return nil, nil, err
			}
			return op, func() { cleanup(); closer.Close() }, nil
		},
		Spans: func() int {
			if counted == nil {
				return -1
			}
			return counted.SpansSubmitted()
		},
	})
}
