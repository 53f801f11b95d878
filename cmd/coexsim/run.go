package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"coexhistory/internal/sim"
)

const usageHead = `coexsim: the bundled Coex simulator.

It stands in for Meta's Graph API and Positus on your machine. It answers
  POST /{version}/{phone_number_id}/smb_app_data                 (Meta: contacts, then history)
  POST /v2/whatsapp/numbers/{positus_id}/onboarding-smb-app/sync-contacts
  POST /v2/whatsapp/numbers/{positus_id}/onboarding-smb-app/sync-message-history
  GET  /{version}/{phone_number_id}/message_history?message_id={wamid}
  GET  /{version}/{message_history_id}/events
  GET  /healthz
like the real services (each sync type once per number, then error 2593107), and after an
accepted sync posts a generated, seeded history as webhooks: to --callback signed with
X-Hub-Signature-256 (Meta), or to --positus-callback with the Positus secret header.
Point the application at it with COEX_GRAPH_BASE_URL and COEX_POSITUS_BASE_URL.

Usage:
  coexsim [flags]
  coexsim --dump DIR [flags]     write the generated webhook bodies to DIR and exit

Environment:
  COEX_APP_SECRET             default of --app-secret
  COEX_POSITUS_WEBHOOK_TOKEN  default of --positus-secret

Flags:
`

// numberList collects repeated --number flags.
type numberList []sim.Number

func (l *numberList) String() string { return fmt.Sprint(len(*l), " numbers") }

func (l *numberList) Set(v string) error {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 4 || parts[0] == "" || parts[1] == "" {
		return errors.New("want phone_number_id:display_number[:positus_id[:waba_id]]")
	}
	n := sim.Number{PhoneNumberID: parts[0], DisplayPhoneNumber: parts[1]}
	if len(parts) > 2 {
		n.PositusID = parts[2]
	}
	if len(parts) > 3 {
		n.WABAID = parts[3]
	}
	*l = append(*l, n)
	return nil
}

type options struct {
	addr    string
	dump    string
	verbose bool
	now     string
	cfg     sim.ServerConfig
	numbers numberList
}

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (*options, bool, error) {
	o := &options{}
	fs := flag.NewFlagSet("coexsim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(stdout, usageHead)
		fs.PrintDefaults()
	}
	c := &o.cfg
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8090", "address to listen on")
	fs.StringVar(&c.CallbackURL, "callback", "http://127.0.0.1:8080/webhooks/whatsapp", "where Meta webhooks are posted")
	fs.StringVar(&c.PositusCallbackURL, "positus-callback", "http://127.0.0.1:8080/webhooks/positus", "where webhooks of syncs requested through Positus are posted")
	fs.StringVar(&c.AppSecret, "app-secret", "", "app secret that signs Meta webhooks (default: env COEX_APP_SECRET)")
	fs.StringVar(&c.PositusSecret, "positus-secret", "", "secret sent with Positus webhooks (default: env COEX_POSITUS_WEBHOOK_TOKEN)")
	fs.StringVar(&c.PositusSecretHeader, "positus-secret-header", sim.DefaultPositusSecretHeader, "header that carries --positus-secret")
	fs.StringVar(&c.AccessToken, "access-token", "", "the only bearer token accepted (default: any non-empty token)")
	fs.Var(&o.numbers, "number", "a served number as phone_number_id:display_number[:positus_id[:waba_id]]; repeatable (default 623400011122233:5511987650000:positus-demo-1)")
	fs.BoolVar(&c.AcceptUnknownNumbers, "accept-unknown-numbers", false, "serve any phone number id instead of answering error 100/33")
	fs.Int64Var(&c.History.Seed, "seed", 1, "seed of the generated history")
	fs.IntVar(&c.History.Contacts, "contacts", 40, "contacts per number")
	fs.IntVar(&c.History.Messages, "messages", 2000, "messages per number")
	fs.IntVar(&c.History.ChunkSize, "chunk-size", sim.DefaultChunkSize, "messages per history chunk")
	fs.StringVar(&o.now, "now", "", "onboarding time (RFC 3339); the history covers the 180 days before it (default: start time)")
	fs.DurationVar(&c.Pace, "pace", 200*time.Millisecond, "wait before each webhook")
	fs.BoolVar(&c.Faults.OutOfOrder, "out-of-order", false, "fault: send history chunks in a shuffled order")
	fs.BoolVar(&c.Faults.Duplicates, "duplicates", false, "fault: deliver about one webhook in five twice")
	fs.BoolVar(&c.Faults.Decline, "decline", false, "fault: the business declines; only the 2593109 webhook is sent")
	fs.BoolVar(&c.Faults.Stall, "stall", false, "fault: stop after about half of the chunks, before progress 100")
	fs.BoolVar(&c.Faults.OutsideWindow, "outside-window", false, "fault: sync requests answer error 2593108 (outside the 24 h window)")
	fs.IntVar(&c.Faults.RateLimitFirst, "rate-limit-first", 0, "fault: answer this many sync requests of a number with 429 first")
	fs.BoolVar(&c.Faults.EventsRateLimitOnce, "events-rate-limit-once", false, "fault: answer the first events request of a number with 429")
	fs.StringVar(&o.dump, "dump", "", "write the generated webhook bodies of every number to this directory and exit")
	fs.BoolVar(&o.verbose, "verbose", false, "log every request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, true, nil
		}
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	// Secrets come from the environment after parsing so that --help never prints them.
	if c.AppSecret == "" {
		c.AppSecret = getenv("COEX_APP_SECRET")
	}
	if c.PositusSecret == "" {
		c.PositusSecret = getenv("COEX_POSITUS_WEBHOOK_TOKEN")
	}
	if o.now != "" {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return nil, false, fmt.Errorf("--now: %w", err)
		}
		c.History.Now = t
	}
	if c.History.Contacts < 0 || c.History.Messages < 0 || c.History.ChunkSize < 1 {
		return nil, false, errors.New("--contacts and --messages must be at least 0, --chunk-size at least 1")
	}
	if c.Faults.RateLimitFirst < 0 || c.Pace < 0 {
		return nil, false, errors.New("--rate-limit-first and --pace must not be negative")
	}
	if len(o.numbers) == 0 {
		o.numbers = numberList{{PhoneNumberID: "623400011122233", DisplayPhoneNumber: "5511987650000", PositusID: "positus-demo-1"}}
	}
	c.Numbers = o.numbers
	return o, false, nil
}

// run parses args, then serves the simulator until ctx ends (or dumps the bodies).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, help, err := parseFlags(args, getenv, stdout)
	if help || err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	o.cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.dump != "" {
		return dump(o, stdout)
	}
	if o.cfg.AppSecret == "" {
		o.cfg.Logger.Warn("no app secret: Meta webhooks are signed with an empty key (set --app-secret or COEX_APP_SECRET)")
	}
	srv := sim.NewServer(o.cfg)
	defer srv.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "coexsim listening on http://%s\n", ln.Addr())
	for _, n := range o.cfg.Numbers {
		fmt.Fprintf(stdout, "  number %s (display %s", n.PhoneNumberID, n.DisplayPhoneNumber)
		if n.PositusID != "" {
			fmt.Fprintf(stdout, ", Positus id %s", n.PositusID)
		}
		fmt.Fprintln(stdout, ")")
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// dump writes every number's webhook bodies, faults applied, as numbered JSON files.
func dump(o *options, stdout io.Writer) error {
	if o.cfg.History.Now.IsZero() {
		o.cfg.History.Now = time.Now().UTC().Truncate(time.Second)
	}
	for _, n := range o.cfg.Numbers {
		h, err := sim.Generate(n, o.cfg.History)
		if err != nil {
			return err
		}
		dir := filepath.Join(o.dump, h.Number.PhoneNumberID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("dump: %w", err)
		}
		plan := append(sim.PlanContacts(h, o.cfg.Faults), sim.PlanHistory(h, o.cfg.Faults)...)
		for i, p := range plan {
			name := filepath.Join(dir, fmt.Sprintf("%05d-%s.json", i+1, p.Kind))
			if err := os.WriteFile(name, p.Body, 0o644); err != nil {
				return fmt.Errorf("dump: %w", err)
			}
		}
		fmt.Fprintf(stdout, "%s: %d webhooks (%d messages, %d chunks) in %s\n", h.Number.PhoneNumberID, len(plan), len(h.Messages), len(h.Chunks), dir)
	}
	return nil
}
