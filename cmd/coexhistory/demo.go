package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"coexhistory/internal/config"
	"coexhistory/internal/registry"
	"coexhistory/internal/secrets"
	"coexhistory/internal/sim"
)

const demoSummary = `Runs coexhistory with zero setup: a SQLite database and secrets under --data, a demo admin
(its e-mail and a new password are printed on every start), and two demo business numbers,
one synced through Meta and one through Positus, onboarded now so their 24 h window is open.

The bundled Coex simulator runs in the same process on its own 127.0.0.1 port and stands in
for Meta's Graph API and Positus. Press Sync on a demo number: the simulator accepts the
request and posts a generated, seeded 180-day history (--contacts, --messages) as signed
webhooks to this app, one every --pace, and the number's page shows it arriving.

A number keeps its history across restarts; one whose sync has not run is onboarded again
on every start. Delete the --data directory to start over. Other settings come from the
environment as for serve (COEX_SYNC_TIMEOUT, COEX_WORKERS, ...).`

// demoOptions are the flags of the demo command.
type demoOptions struct {
	dataDir  string
	addr     string
	contacts int
	messages int
	pace     time.Duration
	seed     int64
}

func cmdDemo(ctx context.Context, args []string, getenv env, stdout io.Writer, logger *slog.Logger) error {
	fs := flags("demo [--data DIR] [--addr ADDR] [--contacts N] [--messages N] [--pace D]", demoSummary, stdout)
	var o demoOptions
	fs.StringVar(&o.dataDir, "data", "./data", "directory of the demo's SQLite database and secrets")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address of the dashboard (port 0: any free port)")
	fs.IntVar(&o.contacts, "contacts", 60, "contacts per demo number in the simulated history")
	fs.IntVar(&o.messages, "messages", 4000, "messages per demo number in the simulated 180-day history")
	fs.DurationVar(&o.pace, "pace", 300*time.Millisecond, "wait before each webhook the simulator posts (0: as fast as possible)")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the simulated history")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q (see coexhistory demo --help)", fs.Arg(0))
	}
	if o.contacts < 0 || o.messages < 0 || o.pace < 0 {
		return errors.New("demo: --contacts, --messages and --pace must not be negative")
	}
	return runDemo(ctx, o, getenv, stdout, logger)
}

func runDemo(ctx context.Context, o demoOptions, getenv env, stdout io.Writer, logger *slog.Logger) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	sec, err := loadDemoSecrets(o.dataDir)
	if err != nil {
		return err
	}
	appLn, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	defer appLn.Close() // serve closes it; this covers the early returns
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("simulator listener: %w", err)
	}
	appURL, simURL := "http://"+appLn.Addr().String(), "http://"+simLn.Addr().String()

	cfg, err := config.Load(sec.env(o.dataDir, appLn.Addr().String(), simURL, getenv), true)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	password, err := demoAdmin(ctx, db)
	if err != nil {
		return err
	}
	box, err := secrets.NewBox(cfg.SecretKey)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := seedDemoNumbers(ctx, db, registry.New(db, box), now); err != nil {
		return err
	}

	simulator := sim.NewServer(sim.ServerConfig{
		Numbers:            simNumbers(),
		History:            sim.HistoryConfig{Seed: o.seed, Contacts: o.contacts, Messages: o.messages, Now: now},
		CallbackURL:        appURL + "/webhooks/whatsapp",
		PositusCallbackURL: appURL + "/webhooks/positus",
		AppSecret:          sec.AppSecret,
		PositusSecret:      sec.PositusToken,
		Pace:               o.pace,
		Logger:             logger.With("component", "simulator"),
	})
	simSrv := &http.Server{Handler: simulator, ReadHeaderTimeout: 10 * time.Second}
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		if err := simSrv.Serve(simLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("simulator stopped", "err", err)
		}
	}()
	defer func() {
		simulator.Close() // stops its deliveries
		_ = simSrv.Close()
		<-simDone
	}()

	abs, _ := filepath.Abs(o.dataDir)
	fmt.Fprintf(stdout, "coexhistory demo\n")
	fmt.Fprintf(stdout, "  data:      %s (delete it to start over)\n", abs)
	fmt.Fprintf(stdout, "  simulator: %s (stands in for Meta and Positus)\n", simURL)
	fmt.Fprintf(stdout, "  sign in:   %s\n", demoAdminEmail)
	fmt.Fprintf(stdout, "  password:  %s (new on every start)\n", password)
	fmt.Fprintf(stdout, "  then press Sync on a demo number and open it to watch its history arrive.\n")
	return serve(ctx, cfg, db, appLn, logger, stdout, nil)
}

// simNumbers are the demo numbers as the simulator serves them.
func simNumbers() []sim.Number {
	out := make([]sim.Number, 0, len(demoNumbers))
	for _, d := range demoNumbers {
		out = append(out, sim.Number{PhoneNumberID: d.PhoneNumberID, DisplayPhoneNumber: d.Display, WABAID: d.WABAID, PositusID: d.PositusID})
	}
	return out
}
