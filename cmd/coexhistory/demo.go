package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

func cmdDemo(ctx context.Context, args []string, getenv env, stdout io.Writer, logger *slog.Logger) error {
	return errors.New("demo: not wired yet")
}

func cmdBench(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	return errors.New("bench: not wired yet")
}
