package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"twostep/internal/admin"
	"twostep/internal/app"
	"twostep/internal/store"
)

// `twostep users …`: support staff's and operators' commands on
// accounts. Each opens the database as `serve` does and runs beside live
// servers; changes are recorded as security events (admin_<action>) with
// the OS user who ran the command and its --reason, and the servers'
// mail senders deliver the notices they queue.

const usersUsage = `usage: twostep users COMMAND [flags]

Commands:
  list [--json] [--filter TEXT] [--limit N] [--after EMAIL | --page N]
  show EMAIL [--events N]              status, methods, sessions, browsers, recent events
  disable EMAIL --reason TEXT          refuse sign-in and sign out everywhere
  enable EMAIL [--reason TEXT]
  reset-two-step EMAIL --reason TEXT   two-step off, every method and session gone
  force-password-reset (EMAIL | --all) --reason TEXT
  import FILE                          JSON lines: {"email","password_hash","email_verified"?,"created_at"?}
  export EMAIL [--reason TEXT]         everything kept about one person, as JSON
  delete EMAIL [--reason TEXT]         erase the person; security events stay, anonymised

Every command takes --config FILE and --data-dir DIR, like serve; flags
may come before or after the e-mail address.
`

// users dispatches `twostep users …`.
func users(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stdout, usersUsage)
		if len(args) == 0 {
			return errors.New("no users command given")
		}
		return nil
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"list": usersList, "show": usersShow, "disable": usersDisable, "enable": usersEnable,
		"reset-two-step": usersResetTwoStep, "force-password-reset": usersForceReset,
		"import": usersImport, "export": usersExport, "delete": usersDelete,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("unknown users command %q (the commands are listed above)", args[0])
	}
	return cmd(args[1:], stdout, stderr)
}

// usersCmd is one users command's flags and, once parsed, its store and
// service.
type usersCmd struct {
	name   string
	fs     *flag.FlagSet
	flags  *adminFlags
	reason string
	db     *store.DB
	users  *admin.Users
}

func newUsersCmd(name, usage string, stderr io.Writer, withReason bool) *usersCmd {
	fs, a := newAdminFlags("users "+name, stderr)
	c := &usersCmd{name: name, fs: fs, flags: a}
	if withReason {
		fs.StringVar(&c.reason, "reason", "", "why: kept with the security event")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: twostep users %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	return c
}

// parse reads the flags (anywhere) and wants positional arguments.
func (c *usersCmd) parse(args []string, positional int) ([]string, error) {
	pos, err := parseAnywhere(c.fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != positional {
		c.fs.Usage()
		if len(pos) > positional {
			return nil, fmt.Errorf("users %s: unexpected argument %q", c.name, pos[positional])
		}
		return nil, fmt.Errorf("users %s: missing argument", c.name)
	}
	return pos, nil
}

// open opens the database and the account service as a server would.
func (c *usersCmd) open(stderr io.Writer) error {
	cfg, db, _, err := openStore("users "+c.name, c.flags.args(), stderr)
	if err != nil {
		return err
	}
	acct, created, err := app.Operator(context.Background(), cfg, db, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		db.Close()
		return err
	}
	if created {
		fmt.Fprintf(stderr, "generated a new secret key in %s; back it up, or set secrets.key / TWOSTEP_SECRETS_KEY in production\n", cfg.Server.DataDir)
	}
	c.db, c.users = db, admin.NewUsers(db, acct, admin.Operator())
	return nil
}

func (c *usersCmd) close() {
	if c.db != nil {
		c.db.Close()
	}
}

// utc is a time as the commands print it ("-" for never).
func utc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// status is an account's state in a word or two.
func status(h store.Hold) string {
	switch {
	case h.Disabled():
		return "disabled"
	case h.ResetRequired():
		return "new password required"
	}
	return "active"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// userJSON is an account as `users list --json` prints it.
type userJSON struct {
	ID                    string    `json:"id"`
	Email                 string    `json:"email"`
	Status                string    `json:"status"`
	EmailVerified         bool      `json:"email_verified"`
	TwoStepEnabled        bool      `json:"two_step_enabled"`
	Methods               int       `json:"methods"`
	CreatedAt             time.Time `json:"created_at"`
	LastSignIn            time.Time `json:"last_sign_in,omitzero"`
	DisabledAt            time.Time `json:"disabled_at,omitzero"`
	PasswordResetRequired bool      `json:"password_reset_required"`
}

func usersList(args []string, stdout, stderr io.Writer) error {
	c := newUsersCmd("list", "list [--json] [--filter TEXT] [--limit N] [--after EMAIL | --page N]", stderr, false)
	asJSON := c.fs.Bool("json", false, "print JSON instead of a table")
	var f store.UserFilter
	c.fs.StringVar(&f.Contains, "filter", "", "only addresses containing TEXT")
	c.fs.IntVar(&f.Limit, "limit", 50, "accounts per page (1–1000)")
	c.fs.StringVar(&f.After, "after", "", "the page after this address (the last one printed)")
	page := c.fs.Int("page", 0, "page number, from 1 (--after is faster for deep pages)")
	if _, err := c.parse(args, 0); err != nil {
		return err
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return errors.New("users list: --limit must be between 1 and 1000")
	}
	if *page > 0 {
		if f.After != "" {
			return errors.New("users list: give --after or --page, not both")
		}
		f.Offset = (*page - 1) * f.Limit
	}
	if err := c.open(stderr); err != nil {
		return err
	}
	defer c.close()
	list, err := c.users.List(context.Background(), f)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]userJSON, 0, len(list))
		for _, u := range list {
			out = append(out, userJSON{ID: u.ID, Email: u.Email, Status: status(u.Hold), EmailVerified: !u.EmailVerifiedAt.IsZero(),
				TwoStepEnabled: u.TwoStepEnabled, Methods: u.Methods, CreatedAt: u.CreatedAt, LastSignIn: u.LastSignIn,
				DisabledAt: u.DisabledAt, PasswordResetRequired: u.ResetRequired()})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "email\tstatus\ttwo-step\tmethods\tcreated\tlast sign-in")
	for _, u := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", u.Email, status(u.Hold), onOff(u.TwoStepEnabled), u.Methods, utc(u.CreatedAt), utc(u.LastSignIn))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) == f.Limit {
		fmt.Fprintf(stderr, "more: twostep users list --after %s\n", list[len(list)-1].Email)
	}
	return nil
}

func usersShow(args []string, stdout, stderr io.Writer) error {
	c := newUsersCmd("show", "show EMAIL [--events N]", stderr, false)
	events := c.fs.Int("events", 20, "how many recent security events to show")
	pos, err := c.parse(args, 1)
	if err != nil {
		return err
	}
	if err := c.open(stderr); err != nil {
		return err
	}
	defer c.close()
	p, err := c.users.Show(context.Background(), pos[0], max(*events, 1))
	if err != nil {
		return err
	}
	u := p.User
	fmt.Fprintf(stdout, "%s  (id %s)\n", u.Email, u.ID)
	fmt.Fprintf(stdout, "  status:            %s\n", status(p.Hold))
	if p.Hold.Disabled() {
		fmt.Fprintf(stdout, "  disabled:          %s (%s)\n", utc(p.Hold.DisabledAt), p.Hold.DisabledReason)
	}
	if p.Hold.ResetRequired() {
		fmt.Fprintf(stdout, "  new password:      required since %s\n", utc(p.Hold.ResetRequiredAt))
	}
	verified := "not confirmed"
	if !u.EmailVerifiedAt.IsZero() {
		verified = "confirmed " + utc(u.EmailVerifiedAt)
	}
	fmt.Fprintf(stdout, "  e-mail:            %s\n", verified)
	fmt.Fprintf(stdout, "  created:           %s\n", utc(u.CreatedAt))
	fmt.Fprintf(stdout, "  password changed:  %s\n", utc(u.PasswordChangedAt))
	fmt.Fprintf(stdout, "  two-step:          %s\n", onOff(u.TwoStepEnabled))
	if r := p.Requirement; r.Required {
		state := "must set it up by " + utc(r.Deadline) + " (grace period)"
		if r.Blocked {
			state = "grace period over since " + utc(r.Deadline) + ": sent to the set-up wizard until it is on"
		}
		fmt.Fprintf(stdout, "  policy:            two-step required; %s\n", state)
	}
	fmt.Fprintf(stdout, "\nMethods (%d):\n", len(p.Methods))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  kind\tlabel\trole\tstatus\tto\tadded\tlast used")
	for _, f := range p.Methods {
		to := f.Masked
		if to == "" {
			to = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, f.Label, f.Role, f.Status, to, utc(f.CreatedAt), utc(f.LastUsedAt))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nSessions (%d live):\n", len(p.Sessions))
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  started\tlast seen\tsteps\tip\tbrowser")
	for _, s := range p.Sessions {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", utc(s.CreatedAt), utc(s.LastSeenAt), s.AAL, s.IP, truncate(s.UserAgent, 60))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nRemembered browsers (%d; %d browsers known to the account):\n", len(p.Devices), p.Browsers)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  label\tremembered\tlast used\tlast ip")
	for _, d := range p.Devices {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", d.Label, utc(d.CreatedAt), utc(d.LastUsedAt), d.LastIP)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nRecent security events (newest first):\n")
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range p.Events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", utc(e.CreatedAt), e.Kind, e.Outcome, e.IP, truncate(e.Detail, 80))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// change runs a users command that changes one account and prints what
// it did.
func change(name, usage string, needReason bool, args []string, stdout, stderr io.Writer,
	run func(*admin.Users, string, string) (admin.Changed, error), done, unchanged string) error {
	c := newUsersCmd(name, usage, stderr, true)
	pos, err := c.parse(args, 1)
	if err != nil {
		return err
	}
	return c.change(pos[0], needReason, stdout, stderr, run, done, unchanged)
}

func (c *usersCmd) change(email string, needReason bool, stdout, stderr io.Writer,
	run func(*admin.Users, string, string) (admin.Changed, error), done, unchanged string) error {
	reason := strings.TrimSpace(c.reason)
	if needReason && reason == "" {
		return fmt.Errorf("users %s: %w", c.name, admin.ErrReasonRequired)
	}
	if err := c.open(stderr); err != nil {
		return err
	}
	defer c.close()
	r, err := run(c.users, email, reason)
	if err != nil {
		return err
	}
	if !r.Changed {
		fmt.Fprintf(stdout, unchanged+"\n", email)
		return nil
	}
	fmt.Fprintf(stdout, done+"\n", email)
	if r.Methods > 0 || r.Browsers > 0 {
		fmt.Fprintf(stdout, "  methods removed: %d, remembered browsers forgotten: %d\n", r.Methods, r.Browsers)
	}
	if r.Sessions > 0 {
		fmt.Fprintf(stdout, "  sessions ended: %d (and every app's tokens)\n", r.Sessions)
	}
	if len(r.Notified) > 0 {
		fmt.Fprintf(stdout, "  told: %s\n", strings.Join(r.Notified, ", "))
	}
	return nil
}

func usersDisable(args []string, stdout, stderr io.Writer) error {
	return change("disable", "disable EMAIL --reason TEXT", true, args, stdout, stderr,
		func(u *admin.Users, email, reason string) (admin.Changed, error) {
			return u.Disable(context.Background(), email, reason)
		},
		"disabled %s: signed out everywhere; sign-in answers account_disabled", "%s was already disabled: nothing changed")
}

func usersEnable(args []string, stdout, stderr io.Writer) error {
	return change("enable", "enable EMAIL [--reason TEXT]", false, args, stdout, stderr,
		func(u *admin.Users, email, reason string) (admin.Changed, error) {
			return u.Enable(context.Background(), email, reason)
		},
		"enabled %s: it can sign in again", "%s was not disabled: nothing changed")
}

func usersResetTwoStep(args []string, stdout, stderr io.Writer) error {
	return change("reset-two-step", "reset-two-step EMAIL --reason TEXT", true, args, stdout, stderr,
		func(u *admin.Users, email, reason string) (admin.Changed, error) {
			return u.ResetTwoStep(context.Background(), email, reason)
		},
		"reset two-step verification of %s: it is off, every method is gone, signed out everywhere", "")
}

func usersDelete(args []string, stdout, stderr io.Writer) error {
	return change("delete", "delete EMAIL [--reason TEXT]", false, args, stdout, stderr,
		func(u *admin.Users, email, reason string) (admin.Changed, error) {
			return u.Delete(context.Background(), email, reason)
		},
		"deleted %s: the account and everything kept about it are gone; its security events stay, anonymised", "")
}

func usersForceReset(args []string, stdout, stderr io.Writer) error {
	c := newUsersCmd("force-password-reset", "force-password-reset (EMAIL | --all) --reason TEXT [--batch N]", stderr, true)
	all := c.fs.Bool("all", false, "every account (for a breach): in batches, resumable — run it again after an interruption")
	batch := c.fs.Int("batch", 500, "accounts per transaction with --all")
	want := 1
	for _, a := range args {
		if a == "--all" || a == "-all" || a == "--all=true" {
			want = 0
		}
	}
	pos, err := c.parse(args, want)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(c.reason)
	if reason == "" {
		return fmt.Errorf("users force-password-reset: %w", admin.ErrReasonRequired)
	}
	if !*all {
		return c.change(pos[0], true, stdout, stderr,
			func(u *admin.Users, email, reason string) (admin.Changed, error) {
				return u.ForcePasswordReset(context.Background(), email, reason)
			},
			"%s must choose a new password: its password answers password_reset_required, a reset link is on its way, signed out everywhere", "")
	}
	if *batch < 1 || *batch > 10000 {
		return errors.New("users force-password-reset: --batch must be between 1 and 10000")
	}
	if err := c.open(stderr); err != nil {
		return err
	}
	defer c.close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start, last := time.Now(), time.Now()
	var done0 int64
	j, err := c.users.ForceAll(ctx, reason, *batch, func(p admin.Progress) {
		if p.Batch == 0 {
			done0 = p.Job.Done
			if p.Resumed {
				fmt.Fprintf(stdout, "resuming the run started %s by %s (%q): %d accounts already done\n", utc(p.Job.StartedAt), p.Job.Operator, p.Job.Reason, p.Job.Done)
			}
			return
		}
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(stderr, "… %d accounts done\n", p.Job.Done)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted after %d accounts: run the same command again to resume", j.Done)
		}
		return fmt.Errorf("%w (after %d accounts: run the same command again to resume)", err, j.Done)
	}
	elapsed := time.Since(start)
	n := j.Done - done0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(stdout, "every account (%d) must choose a new password; reset links are queued and sent by the running servers\n", j.Done)
	fmt.Fprintf(stdout, "  this run: %d accounts in %s (%.0f accounts/s); Go memory from the OS %d MiB\n", n, elapsed.Round(time.Millisecond),
		float64(n)/max(elapsed.Seconds(), 1e-9), ms.Sys>>20)
	return nil
}

func usersImport(args []string, stdout, stderr io.Writer) error {
	c := newUsersCmd("import", "import FILE", stderr, false)
	pos, err := c.parse(args, 1)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	if err := c.open(stderr); err != nil {
		return err
	}
	defer c.close()
	start := time.Now()
	sum, err := c.users.Import(context.Background(), f, filepath.Base(pos[0]), func(b admin.BadLine) {
		fmt.Fprintf(stderr, "%s:%d: skipped: %s\n", pos[0], b.Line, b.Reason)
	})
	if err != nil {
		return fmt.Errorf("import stopped (run it again: accounts already created are skipped): %w", err)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%d lines: %d accounts created, %d already there (skipped), %d bad lines (skipped)\n",
		sum.Lines, sum.Created, sum.Existing, len(sum.Bad))
	if sum.Created > 0 {
		var by []string
		for f, n := range sum.Formats {
			by = append(by, fmt.Sprintf("%s %d", f, n))
		}
		fmt.Fprintf(stdout, "  by hash: %s (each becomes argon2id at its first sign-in)\n", strings.Join(slices.Sorted(slices.Values(by)), ", "))
	}
	fmt.Fprintf(stdout, "  %s (%.0f lines/s)\n", elapsed.Round(time.Millisecond), float64(sum.Lines)/max(elapsed.Seconds(), 1e-9))
	return nil
}

func usersExport(args []string, stdout, stderr io.Writer) error {
	c := newUsersCmd("export", "export EMAIL [--reason TEXT]", stderr, true)
	pos, err := c.parse(args, 1)
	if err != nil {
		return err
	}
	if err := c.open(stderr); err != nil {
		return err
	}
	defer c.close()
	x, err := c.users.Export(context.Background(), pos[0], strings.TrimSpace(c.reason))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}
