// The micro-benchmarks of run-time cost: see ../README.md. The bench
// driver builds them from a copy of this directory that requires a local
// module proxy's copy of the checkout; the replace below is for building
// and vetting them plainly in place.
module example.com/micro

go 1.25.0

require (
	github.com/opentracing/opentracing-go v1.2.0
	github.com/ottoolexec/ottoolexec v0.0.0-00010101000000-000000000000
)

replace github.com/ottoolexec/ottoolexec => ../..
