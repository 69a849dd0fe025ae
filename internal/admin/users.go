package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"twostep/internal/account"
	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/factor"
	"twostep/internal/store"
)

// The operator's commands on accounts (twostep users …), for support
// staff and operators. Each runs beside live servers on the same
// database: a change commits in one transaction with its security event
// (kind admin_<action>, detail "by <OS user>: <reason>") and the notices
// telling the person, which the servers' mail senders deliver.

// ErrNoUser is an e-mail address with no account.
var ErrNoUser = errors.New("admin: no account with that e-mail address")

// ErrReasonRequired refuses a change made without saying why.
var ErrReasonRequired = errors.New("admin: give a --reason: it is kept with the security event")

// Operator is who runs the command: the OS user, and the one who ran
// sudo when there is one ("root (sudo: alice)").
func Operator() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	if s := os.Getenv("SUDO_USER"); s != "" && s != name {
		name += " (sudo: " + s + ")"
	}
	return name
}

// Users runs the operator's commands on accounts.
type Users struct {
	db       *store.DB
	acct     *account.Service
	operator string
	now      func() time.Time
}

// NewUsers returns the commands, run by operator (see Operator).
func NewUsers(db *store.DB, acct *account.Service, operator string) *Users {
	return &Users{db: db, acct: acct, operator: operator, now: acct.Now}
}

// commandLine is the user agent of the events the commands record.
const commandLine = "twostep users (command line)"

// event is the security event of an operator's action on userID ("" for
// none: an erased account, an import run).
func (s *Users) event(userID string, k audit.Kind, reason string) store.Event {
	detail := "by " + s.operator
	if reason != "" {
		detail += ": " + reason
	}
	return store.Event{ID: store.NewID(), UserID: userID, Kind: string(k), Outcome: string(audit.Success),
		UserAgent: commandLine, Detail: detail, CreatedAt: s.now()}
}

// find is the account of email (normalised as at sign-in).
func (s *Users) find(ctx context.Context, email string) (store.User, error) {
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.db.UserByEmail(ctx, norm)
	if errors.Is(err, store.ErrNotFound) {
		return u, fmt.Errorf("%w: %s", ErrNoUser, norm)
	}
	return u, err
}

// Changed says what a command did.
type Changed struct {
	// Changed is false when there was nothing to do (already disabled…).
	Changed bool
	// Sessions ended, methods removed, remembered browsers forgotten.
	Sessions, Methods, Browsers int64
	// Notified lists, masked, where the person was told.
	Notified []string
}

// Disable refuses every sign-in to the account from now on and signs it
// out everywhere (sessions, app tokens, sign-ins in progress).
func (s *Users) Disable(ctx context.Context, email, reason string) (Changed, error) {
	if reason == "" {
		return Changed{}, ErrReasonRequired
	}
	u, err := s.find(ctx, email)
	if err != nil {
		return Changed{}, err
	}
	var c Changed
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		var err error
		if c.Changed, err = tx.DisableUser(ctx, u.ID, reason, now); err != nil || !c.Changed {
			return err
		}
		if c.Sessions, err = tx.RevokeSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		if _, err := tx.RevokePendingSignins(ctx, u.ID, now); err != nil {
			return err
		}
		c.Notified = []string{u.Email}
		if err := tx.AddEvent(ctx, s.event(u.ID, audit.AdminDisable, reason)); err != nil {
			return err
		}
		return tx.QueueMail(ctx, s.acct.NoticeRow(u, audit.AccountDisabled(u.Email)))
	})
	return c, err
}

// Enable lets a disabled account sign in again.
func (s *Users) Enable(ctx context.Context, email, reason string) (Changed, error) {
	u, err := s.find(ctx, email)
	if err != nil {
		return Changed{}, err
	}
	var c Changed
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if c.Changed, err = tx.EnableUser(ctx, u.ID); err != nil || !c.Changed {
			return err
		}
		c.Notified = []string{u.Email}
		if err := tx.AddEvent(ctx, s.event(u.ID, audit.AdminEnable, reason)); err != nil {
			return err
		}
		return tx.QueueMail(ctx, s.acct.NoticeRow(u, audit.AccountEnabled(u.Email)))
	})
	return c, err
}

// ResetTwoStep turns two-step verification off for someone who lost
// every method: every method goes (with its codes), and every session,
// app token, sign-in in progress, remembered and known browser ends. The
// person is told on the account's address and on every address and
// phone their methods sent codes to. Where two_step.required is on, the
// next sign-in goes to the set-up wizard (account.TwoStepRequirement).
func (s *Users) ResetTwoStep(ctx context.Context, email, reason string) (Changed, error) {
	if reason == "" {
		return Changed{}, ErrReasonRequired
	}
	u, err := s.find(ctx, email)
	if err != nil {
		return Changed{}, err
	}
	// Where the codes went, read before the methods go.
	methods, err := s.db.Factors(ctx, u.ID, s.now())
	if err != nil {
		return Changed{}, err
	}
	notice := audit.TwoStepWasReset(u.Email, s.acct.Config().TwoStep.Required)
	mails := []store.Mail{s.acct.NoticeRow(u, notice)}
	c := Changed{Notified: []string{u.Email}}
	seen := map[string]bool{u.Email: true}
	for _, f := range methods {
		if f.Status != factor.Active || (f.Kind != factor.SMS && f.Kind != factor.Voice && f.Kind != factor.Email) {
			continue
		}
		to, err := s.acct.Recipient(f)
		if err != nil {
			return Changed{}, fmt.Errorf("reset two-step: open the recipient of %s: %w", f.Label, err)
		}
		if seen[to] {
			continue
		}
		seen[to] = true
		c.Notified = append(c.Notified, f.Masked)
		if f.Kind == factor.Email {
			m := s.acct.NoticeRow(u, notice)
			m.To = to
			mails = append(mails, m)
			continue
		}
		// Phones get a text (a call could not say this much): a number
		// that takes only calls misses it, and has the e-mails.
		mails = append(mails, s.acct.MailRow(u.ID, audit.MailKind, delivery.Message{Channel: delivery.SMS, To: to,
			Body: s.acct.Config().Server.SiteName + ": support reset two-step verification on " + u.Email + " and signed it out everywhere. Not you? Reset your password and contact support now."}))
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		_, removed, err := tx.ClearTwoStep(ctx, u.ID)
		if err != nil {
			return err
		}
		c.Methods = removed
		if c.Browsers, err = tx.DeleteDevices(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.ForgetKnownBrowsers(ctx, u.ID); err != nil {
			return err
		}
		if c.Sessions, err = tx.RevokeSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		if _, err := tx.RevokePendingSignins(ctx, u.ID, now); err != nil {
			return err
		}
		// A recovery with a waiting period has nothing left to recover,
		// and must not turn off two-step set up again later.
		if _, err := tx.EndRecoveryWait(ctx, u.ID, store.RecoveryCancelled, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.AddEvent(ctx, s.event(u.ID, audit.AdminResetTwoStep, reason)); err != nil {
			return err
		}
		for _, m := range mails {
			if err := tx.QueueMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	c.Changed = err == nil
	return c, err
}

// forcedResetWhy opens the reset e-mail of force-password-reset.
const forcedResetWhy = "You need to choose a new password before you can sign in again. We asked for this to keep your account safe; your old password will no longer work, and you were signed out everywhere."

// ForcePasswordReset refuses the account's password until a new one is
// chosen (signin answers password_reset_required), signs it out
// everywhere, and e-mails a reset link.
func (s *Users) ForcePasswordReset(ctx context.Context, email, reason string) (Changed, error) {
	if reason == "" {
		return Changed{}, ErrReasonRequired
	}
	u, err := s.find(ctx, email)
	if err != nil {
		return Changed{}, err
	}
	c := Changed{Changed: true, Notified: []string{u.Email}}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		if err := tx.RequirePasswordReset(ctx, u.ID, now); err != nil {
			return err
		}
		var err error
		if c.Sessions, err = tx.RevokeSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		if _, err := tx.RevokePendingSignins(ctx, u.ID, now); err != nil {
			return err
		}
		return s.queueReset(ctx, tx, u, reason)
	})
	return c, err
}

// queueReset stores a reset link for u, queues the e-mail carrying it
// and records the event, in tx.
func (s *Users) queueReset(ctx context.Context, tx *store.Tx, u store.User, reason string) error {
	t, m := s.acct.ResetLink(u, forcedResetWhy)
	if err := tx.CreateToken(ctx, t); err != nil {
		return err
	}
	if err := tx.QueueMail(ctx, m); err != nil {
		return err
	}
	return tx.AddEvent(ctx, s.event(u.ID, audit.AdminForcePasswordReset, reason))
}

// JobForceReset is the kind of the resumable run of ForceAll.
const JobForceReset = "force_password_reset_all"

// Progress is told after each batch of a run over every account.
type Progress struct {
	Job store.Job
	// Resumed: the run carried on one that was interrupted.
	Resumed bool
	// Batch is the size of the batch just done (0: the run starts).
	Batch int
}

// ForceAll is ForcePasswordReset for every account, for a breach: in
// batches of batch accounts in id order, each committed with the run's
// cursor, so memory stays bounded and an interrupted run resumes where it
// stopped (call ForceAll again; an unfinished run is always resumed, with
// its own reason and start time, which every account's demand carries).
// Accounts that set a new password after the run began are not asked
// again.
func (s *Users) ForceAll(ctx context.Context, reason string, batch int, progress func(Progress)) (store.Job, error) {
	if reason == "" {
		return store.Job{}, ErrReasonRequired
	}
	j, err := s.db.UnfinishedJob(ctx, JobForceReset)
	resumed := err == nil
	switch {
	case errors.Is(err, store.ErrNotFound):
		j = store.Job{ID: store.NewID(), Kind: JobForceReset, Reason: reason, Operator: s.operator, StartedAt: s.now()}
		if err := s.db.CreateJob(ctx, j); err != nil {
			return j, err
		}
	case err != nil:
		return j, err
	}
	if progress != nil {
		progress(Progress{Job: j, Resumed: resumed})
	}
	for {
		users, err := s.db.UserIDsAfter(ctx, j.Cursor, batch)
		if err != nil {
			return j, err
		}
		if len(users) == 0 {
			break
		}
		last := users[len(users)-1].ID
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.RequirePasswordResetRange(ctx, j.Cursor, last, j.StartedAt); err != nil {
				return err
			}
			for _, u := range users {
				if err := s.queueReset(ctx, tx, u, j.Reason); err != nil {
					return err
				}
			}
			return tx.AdvanceJob(ctx, j.ID, last, len(users))
		})
		if err != nil {
			return j, err
		}
		j.Cursor, j.Done = last, j.Done+int64(len(users))
		if progress != nil {
			progress(Progress{Job: j, Resumed: resumed, Batch: len(users)})
		}
	}
	j.FinishedAt = s.now()
	return j, s.db.FinishJob(ctx, j.ID, j.FinishedAt)
}

// Delete erases the account and everything kept about it but its
// security events, which stay anonymised (store.Tx.DeleteUser); the
// erasure itself is recorded without naming the account. A last notice
// goes to the address.
func (s *Users) Delete(ctx context.Context, email, reason string) (Changed, error) {
	u, err := s.find(ctx, email)
	if err != nil {
		return Changed{}, err
	}
	note := s.acct.NoticeRow(u, audit.AccountDeleted(u.Email))
	note.UserID = ""
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteUser(ctx, u); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, s.event("", audit.AdminDelete, reason)); err != nil {
			return err
		}
		return tx.QueueMail(ctx, note)
	})
	return Changed{Changed: err == nil, Notified: []string{u.Email}}, err
}
