// A pod sandbox ("pause") process for scripts/real-cluster.sh: it holds the
// pod's namespaces and reaps nothing; it only waits for SIGTERM/SIGINT.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
