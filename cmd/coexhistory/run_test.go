package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"coexhistory/internal/apptest"
	"coexhistory/internal/store/storetest"
)

func runCmd(t *testing.T, getenv env, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestHelpOnEveryCommand(t *testing.T) {
	getenv := apptest.Env("sqlite:"+filepath.Join(t.TempDir(), "x.db"), nil)
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"demo", "--help"},
		{"user", "--help"}, {"token", "--help"}, {"bench", "--help"}} {
		out, err := runCmd(t, getenv, "", args...)
		if err != nil || !strings.Contains(out, "Usage") {
			t.Errorf("%v: err %v, output %.200q", args, err, out)
		}
	}
	if _, err := runCmd(t, getenv, "", "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestServeRefusesOutdatedSchemaAndMigrateFixesIt(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			getenv := apptest.Env(storetest.URL(t, dialect), map[string]string{"COEX_ADDR": "127.0.0.1:0"})
			_, err := runCmd(t, getenv, "", "serve")
			if err == nil || !strings.Contains(err.Error(), "migrate up") {
				t.Fatalf("serve on an empty database: %v", err)
			}
			out, err := runCmd(t, getenv, "", "migrate", "status")
			if err != nil || !strings.Contains(out, "pending") {
				t.Fatalf("status before: %v %q", err, out)
			}
			if out, err = runCmd(t, getenv, "", "migrate", "up"); err != nil || !strings.Contains(out, "applied 00001_init.sql") {
				t.Fatalf("migrate up: %v %q", err, out)
			}
			if out, err = runCmd(t, getenv, "", "migrate", "status"); err != nil || strings.Contains(out, "pending") {
				t.Fatalf("status after: %v %q", err, out)
			}
			// Accounts and tokens from the command line.
			if out, err = runCmd(t, getenv, "a-very-long-password\n", "user", "create", "--email", "Lead@Example.com", "--role", "admin"); err != nil || !strings.Contains(out, "created admin account lead@example.com") {
				t.Fatalf("user create: %v %q", err, out)
			}
			if _, err = runCmd(t, getenv, "short\n", "user", "create", "--email", "x@example.com"); err == nil || !strings.Contains(err.Error(), "password: Use at least 12 characters") {
				t.Fatalf("short password: %v", err)
			}
			out, err = runCmd(t, getenv, "", "token", "create", "--name", "crm", "--role", "agent")
			if err != nil || !strings.HasPrefix(out, "coex_") {
				t.Fatalf("token create: %v %q", err, out)
			}
		})
	}
}

func TestServeNamesTheMissingVariable(t *testing.T) {
	getenv := func(k string) string {
		if k == "COEX_DATABASE_URL" {
			return "sqlite:" + filepath.Join(t.TempDir(), "x.db")
		}
		return ""
	}
	_, err := runCmd(t, getenv, "", "serve")
	if err == nil || !strings.HasPrefix(err.Error(), "COEX_APP_SECRET: ") {
		t.Fatalf("serve without secrets: %v", err)
	}
}
