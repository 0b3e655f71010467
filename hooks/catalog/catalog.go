// Package catalog lists every integration ottoolexec knows. The injector
// matches packages against it; `ottoolexec list` prints it.
package catalog

import (
	"github.com/ottoolexec/ottoolexec/hooks"
	"github.com/ottoolexec/ottoolexec/hooks/amqp"
	"github.com/ottoolexec/ottoolexec/hooks/asynq"
	"github.com/ottoolexec/ottoolexec/hooks/awssdk"
	"github.com/ottoolexec/ottoolexec/hooks/chi"
	"github.com/ottoolexec/ottoolexec/hooks/databasesql"
	"github.com/ottoolexec/ottoolexec/hooks/echo"
	"github.com/ottoolexec/ottoolexec/hooks/franzgo"
	"github.com/ottoolexec/ottoolexec/hooks/gin"
	"github.com/ottoolexec/ottoolexec/hooks/goredis"
	"github.com/ottoolexec/ottoolexec/hooks/gorillamux"
	"github.com/ottoolexec/ottoolexec/hooks/goroutine"
	"github.com/ottoolexec/ottoolexec/hooks/grpc"
	"github.com/ottoolexec/ottoolexec/hooks/kafkago"
	"github.com/ottoolexec/ottoolexec/hooks/nats"
	"github.com/ottoolexec/ottoolexec/hooks/nethttp"
	"github.com/ottoolexec/ottoolexec/hooks/pgx"
	"github.com/ottoolexec/ottoolexec/hooks/process"
	"github.com/ottoolexec/ottoolexec/hooks/sarama"
)

// Rules is the catalogue, in the order `ottoolexec list` shows it.
var Rules = []*hooks.Rule{
	process.ExitRule,
	process.SignalRule,
	goroutine.Rule,
	nethttp.Rule,
	chi.Rule,
	gin.Rule,
	echo.Rule,
	gorillamux.Rule,
	databasesql.Rule,
	pgx.Rule,
	amqp.Rule,
	amqp.ContextRule,
	nats.Rule,
	awssdk.Rule,
	goredis.Rule,
	asynq.Rule,
	kafkago.Rule,
	sarama.Rule,
	franzgo.Rule,
	grpc.Rule,
	grpc.StatusRule,
}
