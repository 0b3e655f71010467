// Command sqlhand is sqlplain traced by hand, as users do without the
// injector: lib/pq's driver wrapped by github.com/luna-duclos/instrumentedsql
// with its OpenTracing tracer (orphan statements traced, arguments omitted),
// on jaeger-client-go with a const sampler and a null reporter (an in-memory
// one under -check, to count spans). -rowsnext=false excludes the
// library's per-row spans, leaving one span per query as the injector makes.
package main

import (
	"context"
	"database/sql"
	"example.com/handtracer"
	"flag"

	"github.com/lib/pq"
	"github.com/luna-duclos/instrumentedsql"
	isqlot "github.com/luna-duclos/instrumentedsql/opentracing"
	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"

	"example.com/clientops/loop"
	"example.com/clientops/sqlq"
)

func main() {
	rowsNext := flag.Bool("rowsnext", true, "trace rows.Next calls (the library's default)")
	check := flag.Bool("check", false, "count finished spans with an in-memory reporter")
	var counted *jaeger.InMemoryReporter
	loop.Main(loop.Program{
		Setup: func(ctx context.Context) (loop.Op, func(), error) {
			var reporter jaeger.Reporter = jaeger.NewNullReporter()
			if *check {
				counted = jaeger.NewInMemoryReporter()
				reporter = counted
			}
			// The tracer ottoolexec's runtime builds with no JAEGER_*
			// variables (see handtracer).
			tracer, closer := handtracer.New("sqlhand", reporter)
			opentracing.SetGlobalTracer(tracer)
			opts := []instrumentedsql.Opt{instrumentedsql.WithTracer(isqlot.NewTracer(true)), instrumentedsql.WithOmitArgs()}
			if !*rowsNext {
				opts = append(opts, instrumentedsql.WithOpsExcluded(instrumentedsql.OpSQLRowsNext))
			}
			sql.Register("instrumented-postgres", instrumentedsql.WrapDriver(&pq.Driver{}, opts...))
			op, cleanup, err := sqlq.Setup(ctx, "instrumented-postgres")
			return op, func() { cleanup(); closer.Close() }, err
		},
		Spans: func() int {
			if counted == nil {
				return -1
			}
			return counted.SpansSubmitted()
		},
	})
}
