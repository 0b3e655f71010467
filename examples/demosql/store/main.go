// Command store is the SQL variant of the demo's store service: the same
// HTTP API as examples/demo/store, with the stock kept in an SQLite
// database (modernc.org/sqlite, a pure-Go driver, so no server and no C
// compiler are needed). Built with the injector, its trace shows the SQL
// statements under the HTTP server span that ran them.
package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"
)

func main() {
	addrFile := flag.String("addr-file", "", "write the listening address to this file")
	dbFile := flag.String("db", "", "SQLite database file (default: a new one in a temporary directory)")
	flag.Parse()

	path := *dbFile
	if path == "" {
		dir, err := os.MkdirTemp("", "demo-store-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "stock.db")
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		log.Fatal(err)
	}
	if err := fill(db); err != nil {
		log.Fatalf("filling %s: %v", path, err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock/{item}", func(w http.ResponseWriter, r *http.Request) {
		// The request's context carries the server span: the query span
		// is its child.
		var n int
		err := db.QueryRowContext(r.Context(), "SELECT count FROM stock WHERE item = ?", r.PathValue("item")).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// No context here: the span comes from the goroutine, which
		// the server span made current.
		if _, err := db.Exec("UPDATE stock SET asked = asked + 1 WHERE item = ?", r.PathValue("item")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(map[string]int{"count": n})
	})
	serve(mux, *addrFile)
}

// fill creates the stock table in one transaction.
func fill(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec("CREATE TABLE IF NOT EXISTS stock (item TEXT PRIMARY KEY, count INTEGER, asked INTEGER DEFAULT 0)"); err != nil {
		return err
	}
	for item, n := range map[string]int{"tea": 12, "coffee": 0, "cocoa": 3} {
		if _, err := tx.Exec("INSERT OR REPLACE INTO stock (item, count) VALUES (?, ?)", item, n); err != nil {
			return err
		}
	}
	return tx.Commit()
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
