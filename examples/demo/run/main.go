// Command run drives the demo: it starts the three traced services (store,
// back, front), sends one order to front, stops them, and prints the one
// trace that spans all three processes. It is not traced itself.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "directory holding the traced front, back and store binaries")
	ottoolexec := flag.String("ottoolexec", "ottoolexec", "the ottoolexec binary, to print the trace")
	traceFile := flag.String("trace", "demo-trace.jsonl", "where the services write their spans")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("demo: ")

	os.Remove(*traceFile)
	tmp, err := os.MkdirTemp("", "ottoolexec-demo-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	var procs []*exec.Cmd
	stopAll := func() {
		// SIGTERM, as a service manager would: each service flushes its
		// spans on the way out.
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Process.Signal(syscall.SIGTERM)
			procs[i].Wait()
		}
	}
	start := func(name string, args ...string) string {
		addrFile := filepath.Join(tmp, name+".addr")
		cmd := exec.Command(filepath.Join(*bin, name), append([]string{"-addr-file", addrFile}, args...)...)
		cmd.Env = append(os.Environ(), "OTTOOLEXEC_TRACE_FILE="+*traceFile, "OTTOOLEXEC_SERVICE_NAME="+name, "OTTOOLEXEC_CONSOLE=0")
		logFile, err := os.Create(filepath.Join(tmp, name+".log"))
		if err != nil {
			log.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			stopAll()
			log.Fatalf("starting %s: %v", name, err)
		}
		procs = append(procs, cmd)
		for range 200 {
			if addr, err := os.ReadFile(addrFile); err == nil && len(addr) > 0 {
				fmt.Printf("started %-5s on http://%s\n", name, addr)
				return "http://" + string(addr)
			}
			time.Sleep(25 * time.Millisecond)
		}
		stopAll()
		log.Fatalf("%s did not start; its log is %s", name, logFile.Name())
		return ""
	}

	store := start("store")
	back := start("back", "-store", store)
	front := start("front", "-back", back)

	url := front + "/order?items=tea,coffee,cocoa"
	fmt.Printf("\n$ curl '%s'\n", url)
	resp, err := http.Get(url)
	if err != nil {
		stopAll()
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%s\n", body)
	stopAll()

	fmt.Printf("$ ottoolexec trace %s\n", *traceFile)
	show := exec.Command(*ottoolexec, "trace", *traceFile)
	show.Stdout, show.Stderr = os.Stdout, os.Stderr
	if err := show.Run(); err != nil {
		log.Fatal(err)
	}
}
