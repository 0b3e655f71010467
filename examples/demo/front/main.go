// Command front is the demo's public service: it takes an order and asks
// the back service for a quote.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address to this file")
	back := flag.String("back", "", "base URL of the back service")
	flag.Parse()

	http.HandleFunc("GET /order", func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), "GET", *back+"/quote?items="+r.URL.Query().Get("items"), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, resp.Body)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o666); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(http.Serve(ln, nil)) // http.DefaultServeMux
}
