// Package goredis traces go-redis v9 (github.com/redis/go-redis/v9).
//
// Every go-redis client is made by NewClient or NewFailoverClient: the
// per-node clients of ClusterClient and Ring too (they call NewClient),
// and NewUniversalClient picks one of those kinds. A deferred call spliced
// into both adds a redis.Hook, defined in a file added to the package,
// with the new client's own AddHook, so it is the outermost hook and the
// hooks the program adds itself still run, inside its span. Conn, Tx and
// WithTimeout copies carry their client's hooks, so they are traced by the
// same hook. The hook hands plain values (command arguments, DB number,
// address) to the runtime half in ./trace, which makes the spans.
package goredis

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_redis.go.txt
var injectRedis string

const tracePackage = "github.com/ottoolexec/ottoolexec/hooks/goredis/trace"

// addHook adds the tracing hook to the client a constructor returns, once
// the client's hooks are set up (AddHook needs that). A panicking
// constructor returns no client, and gets no hook.
const addHook = "defer func() { if __ottoolexec_c != nil && __ottoolexec_goredis.Enabled() { __ottoolexec_c.AddHook(__ottoolexec_newHook(__ottoolexec_c.opt)) } }();"

// Rule is the go-redis integration.
var Rule = &hooks.Rule{
	Name:    "goredis",
	Doc:     "go-redis v9 client spans: one per command, one per pipeline or transaction",
	Package: "github.com/redis/go-redis/v9",
	Tested:  []string{"v9.14.1", "v9.23.0"},
	Funcs: []hooks.Func{
		{
			Name:      "NewClient",
			Signature: "(opt *Options) *Client",
			Results:   []string{"__ottoolexec_c"},
			Prologue:  addHook,
		},
		{
			Name:      "NewFailoverClient",
			Signature: "(failoverOpt *FailoverOptions) *Client",
			Results:   []string{"__ottoolexec_c"},
			Prologue:  addHook,
		},
	},
	Files:   []hooks.File{{Name: "redis.go", Content: injectRedis}},
	Runtime: []string{tracePackage},
	Imports: map[string]string{"__ottoolexec_goredis": tracePackage},
}
