// Command back is the demo's middle service: it prices an order, asking the
// store service about stock for each item.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

var prices = map[string]int{"tea": 4, "coffee": 5, "cocoa": 6}

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address to this file")
	store := flag.String("store", "", "base URL of the store service")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /quote", func(w http.ResponseWriter, r *http.Request) {
		total := 0
		var missing []string
		for _, item := range strings.Split(r.URL.Query().Get("items"), ",") {
			n, err := inStock(r, *store, item)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			if n == 0 {
				missing = append(missing, item)
				continue
			}
			total += prices[item]
		}
		json.NewEncoder(w).Encode(map[string]any{"total": total, "unavailable": missing})
	})
	serve(mux, *addrFile)
}

// inStock asks the store, passing the incoming request's context along so
// the call joins the request's trace.
func inStock(r *http.Request, store, item string) (int, error) {
	req, err := http.NewRequestWithContext(r.Context(), "GET", store+"/stock/"+item, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("store: %s", resp.Status)
	}
	var body struct{ Count int }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return body.Count, nil
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
