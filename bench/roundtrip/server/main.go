// Command server is the server of the load benchmark (bench/loadbench.go):
// a plain net/http server with no tracing code, which answers every
// request with a short body. Built plainly it is the baseline; built with
// -toolexec=ottoolexec every request gets a server span. It writes its
// address to the file -addr-file names once it listens, and runs until it
// gets SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address here")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /item/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "item %s\n", r.PathValue("id"))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o666); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	srv.Close()
}
