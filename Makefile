# ottoolexec: the two commands a new user runs are `make demo` and
# `make test`. Nothing but Go is needed.

GO      ?= go
BIN     := $(CURDIR)/bin
OTTOOLEXEC := $(BIN)/ottoolexec

.PHONY: all build demo demo-sql demo-jaeger test unit scripts vet bench clean

all: build

build:
	$(GO) build -o $(OTTOOLEXEC) ./cmd/ottoolexec

# Build the three demo services with the injector, run them, send one
# request through them and print the one trace that spans all three.
demo: build
	cd examples/demo && $(GO) build -toolexec=$(OTTOOLEXEC) -o $(BIN)/demo/ ./front ./back ./store
	cd examples/demo && $(GO) run ./run -bin $(BIN)/demo -ottoolexec $(OTTOOLEXEC) -trace $(BIN)/demo/trace.jsonl

# The same three services, with a store that keeps its stock in SQLite
# (examples/demosql, pure Go): the trace shows SQL spans under HTTP spans.
demo-sql: build
	cd examples/demo && $(GO) build -toolexec=$(OTTOOLEXEC) -o $(BIN)/demo-sql/ ./front ./back
	cd examples/demosql && $(GO) build -toolexec=$(OTTOOLEXEC) -o $(BIN)/demo-sql/ ./store
	cd examples/demo && $(GO) run ./run -bin $(BIN)/demo-sql -ottoolexec $(OTTOOLEXEC) -trace $(BIN)/demo-sql/trace.jsonl

# The demo reporting to a Jaeger of your own as well, for instance the one
# in compose.yaml (`docker compose up -d jaeger`); its UI then shows the
# trace under the services front, back and store.
JAEGER_ENDPOINT ?= http://localhost:14268/api/traces
demo-jaeger: build
	cd examples/demo && $(GO) build -toolexec=$(OTTOOLEXEC) -o $(BIN)/demo/ ./front ./back ./store
	cd examples/demo && JAEGER_ENDPOINT=$(JAEGER_ENDPOINT) $(GO) run ./run -bin $(BIN)/demo -ottoolexec $(OTTOOLEXEC) -trace $(BIN)/demo/trace.jsonl
	@echo "Jaeger UI: http://localhost:16686/search?service=front"

# Unit tests with the race detector, then the testscript scripts that build
# real programs with the injector and check the spans they emit.
test: vet unit scripts

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

vet:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -short ./...
	cd internal/composecheck && $(GO) test ./...

scripts:
	$(GO) test -count=1 -timeout 60m ./cmd/ottoolexec

bench: build
	$(GO) run ./bench -ottoolexec $(OTTOOLEXEC) -out bench/RESULTS.md

clean:
	rm -rf $(BIN)
