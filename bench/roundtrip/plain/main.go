// Command plain serves and sends HTTP requests over loopback with no
// tracing code at all. Built plainly it is the untraced baseline; built
// with -toolexec=ottoolexec it is the automatically traced program.
package main

import "example.com/roundtrip/loop"

func main() {
	loop.Main(loop.Config{})
}
