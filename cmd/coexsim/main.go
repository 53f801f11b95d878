// Command coexsim runs the bundled Coex simulator: a local stand-in for Meta's Graph API and
// Positus that answers the history sync calls and posts a generated history as signed
// webhooks. See `coexsim --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "coexsim:", err)
		os.Exit(1)
	}
}
