package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"coexhistory/internal/auth"
	"coexhistory/internal/store"
)

const userUsage = `Usage: coexhistory user COMMAND [flags]

Manages staff accounts. Every change is written to the audit log (actor "cli").

Commands:
  create --email E --role admin|agent [--password P]  create an account (password from stdin otherwise)
  list                                                list accounts, their role, state and last sign-in
  disable --email E                                   block sign-in; ends their sessions and revokes their API tokens
  enable --email E                                    let a disabled account sign in again
  delete --email E                                    remove the account, its sessions and tokens (the audit log stays)
  role --email E --role admin|agent                   change the role (applies at their next request)
  reset-password --email E                            print a temporary password; they must change it at next sign-in
  sign-out --email E                                  end all of the account's sessions

Each command takes --help. The last active admin cannot be disabled, deleted or demoted.
`

func cmdUser(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, userUsage)
		if len(args) == 0 {
			return errors.New("user needs a command")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return cmdUserCreate(ctx, rest, getenv, stdin, stdout)
	case "list":
		return cmdUserList(ctx, rest, getenv, stdout)
	case "disable", "enable", "delete", "role", "reset-password", "sign-out":
		return cmdUserChange(ctx, sub, rest, getenv, stdout)
	}
	fmt.Fprint(stdout, userUsage)
	return fmt.Errorf("unknown user command %q", sub)
}

// withAuth opens the database and runs fn with the sign-in service.
func withAuth(ctx context.Context, getenv env, fn func(*auth.Service, *store.DB) error) error {
	db, err := openConfiguredDB(ctx, getenv, true)
	if err != nil {
		return err
	}
	defer db.Close()
	return describe(fn(authService(db), db))
}

func cmdUserCreate(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout io.Writer) error {
	fs := flags("user create --email E --role admin|agent [--password P]", "Creates a staff account. Without --password, the password is read from the first line of stdin.", stdout)
	email := fs.String("email", "", "e-mail address (the login)")
	role := fs.String("role", "agent", "admin or agent")
	password := fs.String("password", "", "password (at least 12 characters); prefer stdin")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *password == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password: pass --password or write it on stdin")
		}
		*password = strings.TrimRight(line, "\r\n")
	}
	return withAuth(ctx, getenv, func(svc *auth.Service, db *store.DB) error {
		u, err := svc.CreateUser(ctx, *email, *password, *role)
		if err != nil {
			return err
		}
		_ = db.Audit(ctx, auditUser("user.create", u.Email, "role="+u.Role))
		fmt.Fprintf(stdout, "created %s account %s\n", u.Role, u.Email)
		return nil
	})
}

func cmdUserList(ctx context.Context, args []string, getenv env, stdout io.Writer) error {
	fs := flags("user list", "Lists staff accounts: e-mail, role, state and last sign-in.", stdout)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	return withAuth(ctx, getenv, func(svc *auth.Service, _ *store.DB) error {
		users, err := svc.ListUsers(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tROLE\tSTATE\tLAST SIGN-IN")
		for _, u := range users {
			state := "active"
			switch {
			case u.DisabledAt != nil:
				state = "disabled " + u.DisabledAt.UTC().Format(time.RFC3339)
			case u.MustChangePassword:
				state = "must change password"
			}
			last := "never"
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.Email, u.Role, state, last)
		}
		return w.Flush()
	})
}

var userChangeHelp = map[string]string{
	"disable":        "Disables an account: it can no longer sign in, its sessions end and the API tokens it created are revoked, at once.",
	"enable":         "Lets a disabled account sign in again (revoked tokens stay revoked).",
	"delete":         "Deletes an account with its sessions and API tokens. The audit log keeps what it did.",
	"role":           "Changes an account's role; open sessions get it at their next request.",
	"reset-password": "Gives an account a temporary password, printed once, and ends its sessions. The user must choose a new password at the next sign-in.",
	"sign-out":       "Ends every session of an account.",
}

func cmdUserChange(ctx context.Context, sub string, args []string, getenv env, stdout io.Writer) error {
	name := "user " + sub + " --email E"
	if sub == "role" {
		name += " --role admin|agent"
	}
	fs := flags(name, userChangeHelp[sub], stdout)
	email := fs.String("email", "", "the account's e-mail address")
	var role *string
	if sub == "role" {
		role = fs.String("role", "", "admin or agent")
	}
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return errors.New("--email is required")
	}
	return withAuth(ctx, getenv, func(svc *auth.Service, _ *store.DB) error {
		u, err := svc.UserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		a := auth.CLI
		switch sub {
		case "disable":
			if _, err := svc.DisableUser(ctx, a, u.ID); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "disabled %s: sessions ended, API tokens revoked\n", u.Email)
		case "enable":
			if _, err := svc.EnableUser(ctx, a, u.ID); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "enabled %s\n", u.Email)
		case "delete":
			if _, err := svc.DeleteUser(ctx, a, u.ID); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deleted %s\n", u.Email)
		case "role":
			u, err := svc.SetRole(ctx, a, u.ID, *role)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s is now %s\n", u.Email, u.Role)
		case "reset-password":
			temp, _, err := svc.AdminResetPassword(ctx, a, u.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "temporary password for %s (they must change it at the next sign-in):\n%s\n", u.Email, temp)
		case "sign-out":
			n, err := svc.EndSessions(ctx, a, u.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "ended %d sessions of %s\n", n, u.Email)
		}
		return nil
	})
}
