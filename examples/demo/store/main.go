// Command store is the last of the demo's three services: it answers
// inventory questions from memory.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
)

var stock = map[string]int{"tea": 12, "coffee": 0, "cocoa": 3}

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address to this file")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock/{item}", func(w http.ResponseWriter, r *http.Request) {
		n, ok := stock[r.PathValue("item")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]int{"count": n})
	})
	serve(mux, *addrFile)
}

func serve(h http.Handler, addrFile string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()), 0o666); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(http.Serve(ln, h))
}
