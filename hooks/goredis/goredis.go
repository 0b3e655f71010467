// Package goredis traces go-redis v9 (github.com/redis/go-redis/v9).
//
// Every go-redis client kind ends up in Client.init: NewClient, the
// failover client, and the per-node clients that ClusterClient and Ring
// create (through NewClient). Its epilogue adds a redis.Hook, defined in a
// file added to the package, with the client's own AddHook, so the hooks a
// program adds itself still run (inside the traced span). Conn and Tx
// copy their client's hooks, so they are traced by the same hook. The hook
// hands plain values (command arguments, DB number, address) to the
// runtime half in ./trace, which makes the spans.
package goredis

import (
	_ "embed"

	"github.com/ottoolexec/ottoolexec/hooks"
)

//go:embed inject_redis.go.txt
var injectRedis string

const tracePackage = "github.com/ottoolexec/ottoolexec/hooks/goredis/trace"

// Rule is the go-redis integration.
var Rule = &hooks.Rule{
	Name:    "goredis",
	Doc:     "go-redis v9 client spans: one per command, one per pipeline or transaction",
	Package: "github.com/redis/go-redis/v9",
	Tested:  []string{"v9.14.1", "v9.23.0"},
	Funcs: []hooks.Func{{
		Recv:      "*Client",
		Name:      "init",
		Signature: "()",
		// AddHook only once the client's hooks are initialised, which is
		// what init does. WithTimeout copies run init too: in v9.14.1 they
		// keep their client's hooks and so hold two of these (the inner one
		// sees the outer one's span in the context and stands aside);
		// in v9.23.0 they start with no hooks at all, and this one is their
		// only hook. (NewClient alone would miss the latter.)
		Epilogue: "; if __ottoolexec_goredis.Enabled() { c.AddHook(__ottoolexec_newHook(c.opt)) };",
	}},
	Files:   []hooks.File{{Name: "redis.go", Content: injectRedis}},
	Imports: map[string]string{"__ottoolexec_goredis": tracePackage},
}
