package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/factor"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/text"
)

// The recovery with a waiting period, for someone who has the password
// and the e-mail but lost every second method and their recovery codes:
//
//  1. from the challenge (the password was right), RequestRecovery
//     e-mails a link to the account's address;
//  2. ConfirmRecovery (the link) starts the wait (recovery.delay): every
//     address and phone on the account is told at once, with a cancel
//     link, and again halfway (remindRecoveries, run by the mail sender);
//  3. CancelRecovery (that link), or any sign-in that completes a second
//     step (EndRecoveryBySignIn), stops it;
//  4. after the wait, the right password from the browser that opened
//     the link finishes it (CompleteRecovery, from the sign-in): two-step
//     verification off, every method, session, remembered browser and app
//     token gone, everyone told.
//
// The wait is what makes this safe: someone who stole the password and
// the mailbox still has to get past days of notices to every address
// and phone, any of which stops them with one click.

// Errors of the recovery.
var (
	// ErrRecoveryEnded is a cancel or confirmation link whose recovery
	// was already cancelled, finished or replaced.
	ErrRecoveryEnded = errors.New("account: this recovery has already ended")
	// ErrRecoveryUnderWay refuses a second recovery while one waits.
	ErrRecoveryUnderWay = store.ErrRecoveryUnderWay
)

// Recovery is a recovery with a waiting period, as the pages show it.
type Recovery = store.RecoveryWait

// recoveryRemindBatch is how many due reminders one round of the mail
// sender takes.
const recoveryRemindBatch = 16

// Rate-limit keys of recovery requests.
func recoverAccountKey(userID string) string { return "recover:acct:" + userID }
func recoverAddressKey(addr string) string   { return "recover:ip:" + addr }

// RecoveryDelay is the waiting period (recovery.delay).
func (s *Service) RecoveryDelay() time.Duration { return s.cfg.Recovery.Delay.D() }

// RequestRecovery e-mails the account of the pending sign-in (whose
// password was right) a link that starts a recovery. Requests are
// budgeted per account and per client address; a new request replaces
// one whose link was not opened yet, and is refused
// (ErrRecoveryUnderWay) while a recovery waits.
func (s *Service) RequestRecovery(ctx context.Context, c Client, pendingToken string) (store.User, error) {
	if !secret.WellFormedToken(pendingToken) {
		return store.User{}, ErrSignInExpired
	}
	now := s.now()
	p, err := s.db.PendingByTokenHash(ctx, secret.Hash(pendingToken), now, s.cfg.TwoStep.PendingAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrSignInExpired
	}
	if err != nil {
		return store.User{}, err
	}
	u, err := s.db.UserByID(ctx, p.UserID)
	if err != nil {
		return u, err
	}
	keys := []string{recoverAddressKey(c.LimitAddr()), recoverAccountKey(u.ID)}
	err = s.limiter.Reserve(ctx,
		ratelimit.BudgetWant(keys[0], s.cfg.Recovery.PerAddress),
		ratelimit.BudgetWant(keys[1], s.cfg.Recovery.PerAccount))
	if err != nil {
		s.throttled(ctx, c, u.ID, audit.RecoveryRequested, err)
		return u, err
	}
	token := secret.NewToken()
	ttl := s.cfg.Recovery.LinkTTL.D()
	r := store.RecoveryWait{ID: store.NewID(), UserID: u.ID, RequestedAt: now, ConfirmBy: now.Add(ttl)}
	l := s.speaking(u)
	m := s.mailRow(u.ID, "recovery link", delivery.Message{
		Channel: delivery.Email, To: u.Email, Code: token,
		Subject: l.T("mail.recovery_link_subject"),
		Body: l.T("mail.recovery_link_body", "Email", u.Email, "TTL", l.Duration(ttl), "Link", s.baseURL+"/recover?token="+token,
			"Delay", l.Duration(s.RecoveryDelay()), "Forgot", s.baseURL+"/forgot-password") + "\n",
	})
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateRecoveryWait(ctx, r, secret.Hash(token)); err != nil {
			return err
		}
		if err := tx.QueueMail(ctx, m); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.RecoveryRequested, audit.Success, ""))
	})
	if err != nil {
		if errors.Is(err, ErrRecoveryUnderWay) {
			// Refused, not sent: the budgets get their units back.
			if rerr := s.limiter.Refund(context.WithoutCancel(ctx), keys...); rerr != nil {
				s.log.Warn("give back a recovery request", "err", rerr)
			}
		}
		return u, err
	}
	s.pokeMail()
	return u, nil
}

// RecoveryByConfirmLink is the recovery of a confirmation link and its
// account, for the page the link opens (which confirms only on a
// button: mail scanners open links). ErrInvalidToken: no such link.
func (s *Service) RecoveryByConfirmLink(ctx context.Context, token string) (Recovery, store.User, error) {
	if !secret.WellFormedToken(token) {
		return Recovery{}, store.User{}, ErrInvalidToken
	}
	r, err := s.db.RecoveryWaitByConfirm(ctx, secret.Hash(token))
	return s.recoveryAndUser(ctx, r, err)
}

// RecoveryByCancelLink is the recovery of a cancel link and its account.
func (s *Service) RecoveryByCancelLink(ctx context.Context, token string) (Recovery, store.User, error) {
	if !secret.WellFormedToken(token) {
		return Recovery{}, store.User{}, ErrInvalidToken
	}
	r, err := s.db.RecoveryWaitByCancel(ctx, secret.Hash(token))
	return s.recoveryAndUser(ctx, r, err)
}

func (s *Service) recoveryAndUser(ctx context.Context, r Recovery, err error) (Recovery, store.User, error) {
	if errors.Is(err, store.ErrNotFound) {
		return r, store.User{}, ErrInvalidToken
	}
	if err != nil {
		return r, store.User{}, err
	}
	u, err := s.db.UserByID(ctx, r.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return r, u, ErrInvalidToken
	}
	return r, u, err
}

// ConfirmRecovery starts the wait of the recovery whose e-mailed link
// holds token, bound to the asking browser: only it can finish the
// recovery. A browser with no id yet gets one (newBrowser, for its
// cookie). Every address and phone on the account is told at once, with
// a cancel link. The link works once.
func (s *Service) ConfirmRecovery(ctx context.Context, c Client, token string) (r Recovery, newBrowser string, err error) {
	r, u, err := s.RecoveryByConfirmLink(ctx, token)
	if err != nil {
		return r, "", err
	}
	if !r.Open() || !r.ConfirmedAt.IsZero() {
		return r, "", ErrRecoveryEnded
	}
	browser := c.BrowserID
	if !secret.WellFormedToken(browser) {
		browser = secret.NewToken()
		newBrowser = browser
	}
	now := s.now()
	delay := s.RecoveryDelay()
	ready := now.Add(delay)
	cancel := secret.NewToken()
	mails, err := s.recoveryNotices(ctx, u, ready, now, cancel, false)
	if err != nil {
		return r, "", err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		r, err = tx.ConfirmRecoveryWait(ctx, secret.Hash(token), secret.Hash(cancel), secret.Hash(browser), now, ready, now.Add(delay/2))
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidToken // used, expired or ended since it was read
		}
		if err != nil {
			return err
		}
		for _, m := range mails {
			if err := tx.QueueMail(ctx, m); err != nil {
				return err
			}
		}
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.RecoveryStarted, audit.Success, "ready at "+text.At(ready, now)))
	})
	if err != nil {
		return r, "", err
	}
	s.pokeMail()
	return r, newBrowser, nil
}

// CancelRecovery stops the recovery whose cancel link holds token, and
// tells the account's address. The link works once: afterwards it
// answers ErrRecoveryEnded.
func (s *Service) CancelRecovery(ctx context.Context, c Client, token string) (Recovery, error) {
	r, u, err := s.RecoveryByCancelLink(ctx, token)
	if err != nil {
		return r, err
	}
	if !r.Open() {
		return r, ErrRecoveryEnded
	}
	note := s.mailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.RecoveryStopped(u.Email, false)))
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		r, err = tx.CancelRecoveryWait(ctx, secret.Hash(token), s.now())
		if errors.Is(err, store.ErrNotFound) {
			return ErrRecoveryEnded // ended since it was read
		}
		if err != nil {
			return err
		}
		if err := tx.QueueMail(ctx, note); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.RecoveryCancelled, audit.Success, "cancel link"))
	})
	if err != nil {
		return r, err
	}
	s.pokeMail()
	return r, nil
}

// EndRecoveryBySignIn stops u's open recovery after a sign-in that
// completed a second step — which only someone who has not lost their
// methods can do — and says so by e-mail. Called only when u carries the
// mark of an open recovery; a failure is logged, never shown.
func (s *Service) EndRecoveryBySignIn(ctx context.Context, c Client, u store.User) {
	note := s.mailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.RecoveryStopped(u.Email, true)))
	told := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		r, err := tx.EndRecoveryWait(ctx, u.ID, store.RecoverySignedIn, s.now())
		if errors.Is(err, store.ErrNotFound) {
			return nil // none was open: the mark is cleared
		}
		if err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, s.event(c, u.ID, audit.RecoveryCancelled, audit.Success, "a sign-in with a second step")); err != nil {
			return err
		}
		if r.ConfirmedAt.IsZero() {
			return nil // never started: nobody was told of it
		}
		told = true
		return tx.QueueMail(ctx, note)
	})
	if err != nil {
		s.log.Error("end a recovery after a sign-in with a second step", "user", u.ID, "err", err)
		return
	}
	if told {
		s.pokeMail()
	}
}

// dropRecovery ends u's open recovery, if u carries the mark of one, when
// two-step verification is turned on or off by its holder: it was for
// the methods as they were, and must not turn off ones set up later. A
// failure is logged.
func (s *Service) dropRecovery(ctx context.Context, c Client, u store.User) {
	if u.RecoveryOpenAt.IsZero() {
		return
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EndRecoveryWait(ctx, u.ID, store.RecoveryCancelled, s.now())
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.RecoveryCancelled, audit.Success, "two-step verification changed"))
	})
	if err != nil {
		s.log.Error("end a recovery after a two-step change", "user", u.ID, "err", err)
	}
}

// CompleteRecovery finishes u's recovery when its wait is over and c is
// the browser that confirmed it; the caller (the sign-in, after the right
// password) then starts a session. It reports false, with nothing done,
// when no recovery of u is ready for this browser.
func (s *Service) CompleteRecovery(ctx context.Context, c Client, u store.User) (bool, error) {
	if !secret.WellFormedToken(c.BrowserID) {
		return false, nil
	}
	now := s.now()
	browser := secret.Hash(c.BrowserID)
	r, err := s.db.OpenRecoveryWait(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !r.Waiting() || now.Before(r.ReadyAt) || r.BrowserHash != browser {
		return false, nil
	}
	required := s.cfg.TwoStep.Required
	mails, err := s.everyAddress(ctx, u, func(to recipientOf) store.Mail {
		if to.channel == delivery.Email {
			m := s.audit.Message(u, audit.Recovered(u.Email, required))
			m.To = to.to
			return s.mailRow(u.ID, audit.MailKind, m)
		}
		return s.mailRow(u.ID, audit.MailKind, delivery.Message{Channel: delivery.SMS, To: to.to,
			Body: s.cfg.Server.SiteName + ": the recovery of " + u.Email + " is complete: two-step verification is off and it was signed out everywhere. Not you? Reset your password and contact support now."})
	})
	if err != nil {
		return false, err
	}
	done := false
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CompleteRecoveryWait(ctx, u.ID, browser, now); errors.Is(err, store.ErrNotFound) {
			return nil // cancelled or finished since it was read
		} else if err != nil {
			return err
		}
		if _, _, err := tx.ClearTwoStep(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.DeleteDevices(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.ForgetKnownBrowsers(ctx, u.ID); err != nil {
			return err
		}
		// keepID "": every session and every app token.
		if _, err := tx.RevokeSessions(ctx, u.ID, "", now); err != nil {
			return err
		}
		if _, err := tx.RevokePendingSignins(ctx, u.ID, now); err != nil {
			return err
		}
		for _, m := range mails {
			if err := tx.QueueMail(ctx, m); err != nil {
				return err
			}
		}
		done = true
		return tx.AddEvent(ctx, s.event(c, u.ID, audit.RecoveryCompleted, audit.Success, "two-step verification turned off"))
	})
	if err != nil || !done {
		return false, err
	}
	s.forgetCodeGuesses(ctx, u.ID)
	s.pokeMail()
	return true, nil
}

// remindRecoveries sends the halfway reminders that are due, each with a
// cancel link of its own. Every instance's mail sender runs it; a
// reminder is claimed in the transaction that queues it, so exactly one
// sends it.
func (s *Service) remindRecoveries(ctx context.Context) {
	now := s.now()
	due, err := s.db.DueRecoveryReminders(ctx, now, recoveryRemindBatch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("due recovery reminders", "err", err)
		}
		return
	}
	for _, r := range due {
		if err := s.remindRecovery(ctx, r, now); err != nil && ctx.Err() == nil {
			s.log.Error("send a recovery reminder", "recovery", r.ID, "err", err)
		}
	}
}

func (s *Service) remindRecovery(ctx context.Context, r Recovery, now time.Time) error {
	u, err := s.db.UserByID(ctx, r.UserID)
	if err != nil {
		return err
	}
	cancel := secret.NewToken()
	mails, err := s.recoveryNotices(ctx, u, r.ReadyAt, now, cancel, true)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.ClaimRecoveryReminder(ctx, r.ID, secret.Hash(cancel), now)
		if err != nil || !ok {
			return err
		}
		for _, m := range mails {
			if err := tx.QueueMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// recoveryNotices are the messages telling every address and phone on
// u's account that a recovery is under way until ready, each with the
// cancel link of token.
func (s *Service) recoveryNotices(ctx context.Context, u store.User, ready, now time.Time, token string, reminder bool) ([]store.Mail, error) {
	link := s.baseURL + "/cancel-recovery?token=" + token
	n := audit.RecoveryUnderWay(u.Email, ready, now, link, reminder)
	return s.everyAddress(ctx, u, func(to recipientOf) store.Mail {
		if to.channel == delivery.Email {
			m := s.audit.Message(u, n)
			m.To, m.Code = to.to, token
			return s.mailRow(u.ID, audit.MailKind, m)
		}
		l := s.speaking(u)
		id := "mail.recovery_text"
		if reminder {
			id = "mail.recovery_text_reminder"
		}
		return s.mailRow(u.ID, audit.MailKind, delivery.Message{Channel: delivery.SMS, To: to.to, Code: token,
			Body: l.T(id, "Email", u.Email, "Ready", l.At(ready, now), "Link", link)})
	})
}

// recipientOf is one place a notice goes.
type recipientOf struct {
	channel delivery.Channel
	to      string
}

// everyAddress builds, with mail, one message for the account's address
// and for each other address and phone its active methods send codes to
// (phones get a text: a number that takes only calls has the e-mails).
func (s *Service) everyAddress(ctx context.Context, u store.User, mail func(recipientOf) store.Mail) ([]store.Mail, error) {
	methods, err := s.db.Factors(ctx, u.ID, s.now())
	if err != nil {
		return nil, err
	}
	out := []store.Mail{mail(recipientOf{delivery.Email, u.Email})}
	seen := map[string]bool{u.Email: true}
	for _, f := range methods {
		if f.Status != factor.Active || (f.Kind != factor.SMS && f.Kind != factor.Voice && f.Kind != factor.Email) {
			continue
		}
		to, err := s.Recipient(f)
		if err != nil {
			return nil, fmt.Errorf("recovery notices: open the recipient of %s: %w", f.Label, err)
		}
		if seen[to] {
			continue
		}
		seen[to] = true
		ch := delivery.SMS
		if f.Kind == factor.Email {
			ch = delivery.Email
		}
		out = append(out, mail(recipientOf{ch, to}))
	}
	return out, nil
}
