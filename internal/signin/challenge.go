package signin

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"twostep/internal/audit"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/secret"
	"twostep/internal/session"
	"twostep/internal/store"
	"twostep/internal/text"
)

// Challenge is the second step of a sign-in whose password was right: the
// browser holds Token (in a short-lived cookie) and answers with a code.
type Challenge struct {
	// ID is the pending sign-in's (a security key's ceremony is bound to
	// it: PendingOwner).
	ID        string
	Token     string
	ExpiresAt time.Time
	Methods   []store.Factor
	DefaultID string
}

// PendingOwner is what a security key's ceremony at the second step of
// pending sign-in id is bound to.
func PendingOwner(id string) string { return "signin:" + id }

// challenge starts a pending sign-in, or signs in directly when the
// browser is a remembered device of this user. first is how the first
// step was passed (nil: the password).
func (s *Service) challenge(ctx context.Context, c session.Client, u store.User, known bool, first []string) (Issued, error) {
	if len(first) == 0 {
		first = []string{session.AMRPassword}
	}
	now := s.now()
	if d, ok := s.devices.Remembered(ctx, c.DeviceTokens, u.ID); ok {
		if err := s.devices.Use(ctx, d, c.IP); err != nil {
			return Issued{}, err
		}
		// The remembered-browser cookie is the second factor: something
		// the user has, proved by a second code when it was set.
		amr := session.JoinAMR(first, []string{session.AMRMultiFactor})
		iss, err := s.StartSession(ctx, c, u, 2, "", amr, known)
		if err != nil {
			return Issued{}, err
		}
		s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Success, "remembered browser: "+d.Label)
		s.endRecovery(ctx, c, u)
		return iss, nil
	}
	methods, err := s.account.Methods(ctx, u.ID)
	if err != nil {
		return Issued{}, err
	}
	token := secret.NewToken()
	p := store.Pending{ID: store.NewID(), TokenHash: secret.Hash(token), UserID: u.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.pendingTTL), IP: c.IP, UserAgent: text.Truncate(c.UserAgent, maxUserAgent)}
	if first[0] != session.AMRPassword {
		p.FirstAMR = first
	}
	if err := s.db.CreatePending(ctx, p); err != nil {
		return Issued{}, err
	}
	s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.SecondFactorRequired, "")
	return Issued{Challenge: &Challenge{ID: p.ID, Token: token, ExpiresAt: p.ExpiresAt, Methods: methods, DefaultID: s.account.DefaultMethod(u, methods)}}, nil
}

// PendingChallenge returns the challenge a pending-sign-in cookie belongs
// to, for the challenge page.
func (s *Service) PendingChallenge(ctx context.Context, token string) (Challenge, store.User, error) {
	if !secret.WellFormedToken(token) {
		return Challenge{}, store.User{}, ErrExpired
	}
	p, err := s.db.PendingByTokenHash(ctx, secret.Hash(token), s.now(), s.pendingAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return Challenge{}, store.User{}, ErrExpired
	}
	if err != nil {
		return Challenge{}, store.User{}, err
	}
	u, err := s.db.UserByID(ctx, p.UserID)
	if err != nil {
		return Challenge{}, u, err
	}
	methods, err := s.account.Methods(ctx, u.ID)
	if err != nil {
		return Challenge{}, u, err
	}
	return Challenge{ID: p.ID, Token: token, ExpiresAt: p.ExpiresAt, Methods: methods, DefaultID: s.account.DefaultMethod(u, methods)}, u, nil
}

// VerifySignIn finishes a pending sign-in with a code from one of the
// user's methods. Every attempt is spent before the code is checked —
// against the pending sign-in (after PendingAttempts it is void and the
// password must be entered again) and against the account and address
// budgets. remember asks not to be asked for codes on this browser again.
//
// A right code ends the pending sign-in and starts the session in one
// transaction, with the browser remembered, the event recorded and the
// notices queued, so a failure half-way leaves nothing half-done.
func (s *Service) VerifySignIn(ctx context.Context, c session.Client, token, methodID, code string, remember bool) (store.User, Issued, error) {
	return s.verify(ctx, c, token, methodID, method.Response{Code: code}, remember)
}

// VerifySignInKey finishes a pending sign-in with a security key: the
// browser's answer (PublicKeyCredential JSON) to the ceremony begun for
// this pending sign-in. It counts like a code.
func (s *Service) VerifySignInKey(ctx context.Context, c session.Client, token, methodID string, credential json.RawMessage, remember bool) (store.User, Issued, error) {
	return s.verify(ctx, c, token, methodID, method.Response{Credential: credential}, remember)
}

func (s *Service) verify(ctx context.Context, c session.Client, token, methodID string, resp method.Response, remember bool) (store.User, Issued, error) {
	if !secret.WellFormedToken(token) {
		return store.User{}, Issued{}, ErrExpired
	}
	p, err := s.db.ReservePendingByToken(ctx, secret.Hash(token), s.now(), s.pendingAttempts)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, Issued{}, ErrExpired
	}
	if err != nil {
		return store.User{}, Issued{}, err
	}
	// Anything but a checked code gives the attempt back.
	giveBack := func() {
		if err := s.db.RefundPendingAttempt(context.WithoutCancel(ctx), p.ID); err != nil {
			s.log.Error("refund pending attempt", "err", err)
		}
	}
	u, err := s.db.UserByID(ctx, p.UserID)
	if err != nil {
		giveBack()
		return u, Issued{}, err
	}
	f, err := s.account.ActiveFactor(ctx, u.ID, methodID)
	if err != nil {
		giveBack()
		return u, Issued{}, err
	}
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		giveBack()
		return u, Issued{}, err
	}
	left := max(0, s.pendingAttempts-p.Failures)
	if resp.Credential != nil {
		resp.Owner = PendingOwner(p.ID)
	}
	if wrong, err := s.account.CheckCode(ctx, c, u, f, resp, known, left); err != nil {
		if !wrong {
			giveBack() // never checked: a budget refused it
			return u, Issued{}, err
		}
		if left == 0 {
			s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Failure, "too many wrong codes: password needed again")
		}
		return u, Issued{}, err
	}
	iss, err := s.completeSignIn(ctx, c, u, &p, f, remember, known)
	return u, iss, err
}

// SignInWithKey signs in u, whose passkey f was just verified (the first
// step, with no password). A passkey that verified the person (PIN,
// biometrics) is two steps — something held and something known or
// inherent — and starts a two-step session at once (amr: the key's, user,
// mfa); one that only showed presence is one step: a two-step account is
// then asked for its second as after a password.
func (s *Service) SignInWithKey(ctx context.Context, c session.Client, u store.User, f store.Factor, verified, remember bool) (Issued, error) {
	if err := s.checkHold(ctx, c, u, false); err != nil {
		return Issued{}, err
	}
	known, err := s.knownBrowser(ctx, c, u.ID)
	if err != nil {
		return Issued{}, err
	}
	if verified {
		return s.completeSignIn(ctx, c, u, nil, f, remember, known)
	}
	first := s.account.AMR(f)
	if u.TwoStepEnabled {
		return s.challenge(ctx, c, u, known, first)
	}
	iss, err := s.StartSession(ctx, c, u, 1, "passkey", first, known)
	if err != nil {
		return Issued{}, err
	}
	s.audit.Record(ctx, c.Audit(), u.ID, audit.SignIn, audit.Success, "passkey "+f.Label)
	return iss, nil
}

// completeSignIn ends pending sign-in p, which f's code just passed (or,
// with p nil, f is a passkey that verified the person), and starts the
// session — in one transaction with everything that goes with
// it: the browser known to the account, the remembered device when asked
// for, the events and the notices.
func (s *Service) completeSignIn(ctx context.Context, c session.Client, u store.User, p *store.Pending, f store.Factor, remember, known bool) (Issued, error) {
	now := s.now()
	var amr []string
	detail := "with " + f.Label
	if p == nil {
		amr = session.JoinAMR(s.account.AMR(f), []string{session.AMRUser, session.AMRMultiFactor})
		detail = "passkey " + f.Label
	} else {
		first := p.FirstAMR
		if len(first) == 0 {
			first = []string{session.AMRPassword}
		}
		amr = session.JoinAMR(first, s.account.AMR(f), []string{session.AMRMultiFactor})
	}
	sess, iss := s.newSession(c, u, 2, "second_factor", amr)
	var notices []store.Mail
	if f.Kind == factor.Recovery {
		left, err := s.db.RecoveryCodesLeft(ctx, f.ID)
		if err != nil {
			return Issued{}, err
		}
		notices = append(notices, s.account.MailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.RecoveryCodeUsedToSignIn(u.Email, left))))
		iss.UsedRecoveryCode, iss.RecoveryCodesLeft = true, left
	}
	var dev store.Device
	if remember {
		dev, iss.DeviceToken = s.devices.New(c.Audit(), u.ID)
		notices = append(notices, s.account.MailRow(u.ID, audit.MailKind, s.audit.Message(u, audit.BrowserRemembered(u.Email, dev.Label, c.IP))))
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if p != nil {
			if ok, err := tx.CompletePending(ctx, p.ID, now); err != nil || !ok {
				if err == nil {
					err = ErrExpired // finished by a concurrent request
				}
				return err
			}
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		if !known {
			if err := tx.RememberBrowser(ctx, u.ID, secret.Hash(iss.browser), now, s.sessions.KnownUntil(now)); err != nil {
				return err
			}
		}
		// This browser has now passed a second step: its wrong codes are
		// judged apart from the account's from here on.
		if err := tx.RememberBrowser(ctx, u.ID, PassedMark(iss.browser), now, s.sessions.KnownUntil(now)); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, s.audit.Event(c.Audit(), u.ID, audit.SignIn, audit.Success, detail)); err != nil {
			return err
		}
		if remember {
			if err := tx.CreateDevice(ctx, dev); err != nil {
				return err
			}
			if err := tx.AddEvent(ctx, s.audit.Event(c.Audit(), u.ID, audit.DeviceRemembered, audit.Success, dev.Label)); err != nil {
				return err
			}
		}
		for _, m := range notices {
			if err := tx.QueueMail(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Issued{}, err
	}
	if len(notices) > 0 {
		s.account.PokeMail()
	}
	s.endRecovery(ctx, c, u)
	return iss, nil
}

// endRecovery stops u's open recovery, if u carries the mark of one:
// a sign-in that completed a second step shows the methods are not lost.
func (s *Service) endRecovery(ctx context.Context, c session.Client, u store.User) {
	if !u.RecoveryOpenAt.IsZero() {
		s.account.EndRecoveryBySignIn(ctx, c, u)
	}
}
