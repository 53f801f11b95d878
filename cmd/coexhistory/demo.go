package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

func cmdDemo(ctx context.Context, args []string, getenv env, stdout io.Writer, logger *slog.Logger) error {
	fs := flags("demo", "Runs coexhistory with zero setup: SQLite and the bundled Coex simulator.", stdout)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	return errors.New("demo: not wired yet")
}
