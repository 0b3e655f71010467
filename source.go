// Package ottoolexec carries the source of the code that ottoolexec links
// into traced binaries: the runtime and the runtime half of every hook.
//
// The injector ships this source inside the ottoolexec binary and writes
// it out as a module of its own when a build needs it, so a user's module
// never has to require ottoolexec. The binary itself lives in
// cmd/ottoolexec.
package ottoolexec

import "embed"

// Source holds go.mod, go.sum and the runtime and hooks trees.
//
//go:embed go.mod go.sum runtime hooks
var Source embed.FS

// OTLPSource holds runtime/_otlp, the OTLP exporter: a module of its own
// (its go.mod and go.sum are stored as go.mod.txt and go.sum.txt, since a
// directory with a go.mod could not be embedded here), written out beside
// the runtime and required only by builds that select it. The leading "_"
// keeps it out of this module's packages and out of Source.
//
//go:embed runtime/_otlp
var OTLPSource embed.FS
