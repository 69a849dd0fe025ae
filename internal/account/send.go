package account

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/factor"
	"twostep/internal/i18n"
	"twostep/internal/method"
	"twostep/internal/method/sentcode"
	"twostep/internal/phone"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// sendBudget is one budget a send spends. guard marks the SMS-pumping
// guard (global and per-country), which operators hear about when spent.
type sendBudget struct {
	key    string
	budget ratelimitBudget
	guard  bool
}

// begin issues a challenge for f through its method: for a phone or an
// e-mail address, a code sent by the channel asked for.
func (s *Service) begin(ctx context.Context, c Client, f store.Factor, via factor.Kind) (SendResult, error) {
	m, ok := s.methods.For(f.Kind)
	if !ok {
		return SendResult{}, ErrNotSendable
	}
	ch, err := m.Begin(ctx, c, f, via)
	if errors.Is(err, method.ErrNothingToSend) {
		return SendResult{}, ErrNotSendable
	}
	return ch, err
}

// sendCode delivers a 6-digit code for factor f by channel (default: the
// factor's own), after the cooldown and every send budget. A resend while
// a code is valid sends the same code, so whichever message arrives first
// works and its attempts are counted once.
//
// Concurrent requests (on any instance) cannot send twice: the cooldown
// slot is claimed in one conditional statement before anything else is
// spent, and the code is created or fetched in one transaction. A send
// that is refused or fails gives the slot back, so the user can retry.
func (s *Service) sendCode(ctx context.Context, c Client, f store.Factor, via factor.Kind) (SendResult, error) {
	if via == "" {
		via = f.Kind
	}
	switch {
	case f.Kind == KindEmail && via != KindEmail,
		f.Kind != KindEmail && !via.Phone(),
		!s.channelAllowed(via):
		return SendResult{}, ErrMethodNotAllowed
	}
	channel := string(via)
	now := s.now()
	toRaw, err := s.keys.Open(f.Secret, secret.RecipientContext(f.ID))
	if err != nil {
		return SendResult{}, fmt.Errorf("open recipient: %w", err)
	}
	to := string(toRaw)
	budgets, err := s.sendBudgets(c, f, channel, to)
	if err != nil {
		return SendResult{}, err
	}

	// The cooldown is per channel: "Call me instead" right after a text
	// is fine; the per-recipient budgets still bound both.
	cool := s.cfg.Codes.ResendCooldown.D()
	claimed, last, err := s.db.ClaimSend(ctx, f.ID, channel, now, cool)
	if err != nil {
		return SendResult{}, err
	}
	if !claimed {
		until := last.Add(cool)
		return SendResult{}, &ratelimit.Limited{RetryAfter: max(until.Sub(now), time.Second), Until: until}
	}
	release := func() {
		if err := s.db.ReleaseSend(context.WithoutCancel(ctx), f.ID, channel, now); err != nil {
			s.log.Warn("resend cooldown not released", "err", err)
		}
	}

	// Spend every budget before sending, all or none in one reservation,
	// so concurrent requests cannot together go past a limit (the
	// SMS-pumping guard above all). A send that then fails has still cost
	// a unit.
	wants := make([]ratelimit.Want, len(budgets))
	for i, b := range budgets {
		wants[i] = ratelimit.BudgetWant(b.key, b.budget)
	}
	if err := s.limiter.Reserve(ctx, wants...); err != nil {
		release()
		var lim *ratelimit.Limited
		if errors.As(err, &lim) {
			s.sendRefused(ctx, c, f, channel, budgets, lim.Keys)
		}
		return SendResult{}, err
	}

	live, code, err := s.liveCode(ctx, f, now)
	if err != nil {
		release()
		return SendResult{}, err
	}
	m := s.codeMessage(s.speakingTo(ctx, f.UserID), via, to, code)
	if err := s.senders[delivery.Channel(channel)].Send(ctx, m); err != nil {
		release()
		s.log.Warn("code delivery failed", "channel", channel, "err", err)
		s.record(ctx, c, f.UserID, audit.CodeSent, audit.Failure, channel+" "+f.Masked)
		methods, err := s.Methods(ctx, f.UserID)
		if err != nil {
			s.log.Error("list the other methods after a failed send", "err", err)
		}
		var others []store.Factor
		for _, o := range methods {
			if o.ID != f.ID {
				others = append(others, o)
			}
		}
		return SendResult{}, &DeliveryFailedError{Others: others}
	}
	if err := s.db.MarkSent(ctx, live.ID, channel, now); err != nil {
		return SendResult{}, err
	}
	s.record(ctx, c, f.UserID, audit.CodeSent, audit.Success, channel+" "+f.Masked)
	return SendResult{Channel: channel, Masked: f.Masked, ResendAfter: cool, ExpiresIn: live.ExpiresAt.Sub(now)}, nil
}

// sendBudgets lists the budgets a send to `to` spends. Per recipient (a
// phone number or an e-mail address, by keyed hash) there are two scopes:
// while the factor is pending, one budget across every account, so sign-ups
// cannot flood a number or mailbox nobody has confirmed; once confirmed,
// the owner's own budget for it, so nobody else (say, another account
// adding the same number over and over) can spend the owner's sign-in
// texts. E-mail codes use the phone limits. The SMS-pumping guard (global
// and per country) binds every text and call.
func (s *Service) sendBudgets(c Client, f store.Factor, channel, to string) ([]sendBudget, error) {
	l := s.cfg.Limits
	budgets := []sendBudget{
		{"send:acct:" + f.UserID, l.SendPerAccount, false},
		{"send:ip:" + c.LimitAddr(), l.SendPerAddress, false},
	}
	var prefix, hash string
	var region string
	if f.Kind == KindEmail {
		prefix, hash = "send:email:", s.keyedHash("email", to)
	} else {
		num, err := phone.Parse(to, "", string(channel))
		if err != nil {
			return nil, err
		}
		if !s.countryServed(num.Region) {
			return nil, ErrCountryNotServed
		}
		prefix, hash, region = "send:phone:", s.keyedHash("phone", num.E164), num.Region
	}
	scope := hash
	if f.Status == factor.Active {
		scope = f.UserID + ":" + hash
	}
	budgets = append(budgets,
		sendBudget{prefix + scope, l.SendPerPhone, false},
		sendBudget{prefix + "day:" + scope, l.SendPerPhoneDaily, false},
	)
	if region != "" {
		budgets = append(budgets,
			sendBudget{"send:global", l.SendGlobal, true},
			sendBudget{"send:country:" + region, l.SendPerCountry, true},
		)
	}
	return budgets, nil
}

// liveCode returns the factor's live code and its digits, creating one
// when there is none; every concurrent caller gets the same code.
func (s *Service) liveCode(ctx context.Context, f store.Factor, now time.Time) (store.SentCode, string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return store.SentCode{}, "", err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	id := store.NewID()
	fresh := store.SentCode{ID: id, FactorID: f.ID, CodeHash: sentcode.CodeHash(s.pepper, f.ID, code), SealedCode: s.keys.Seal([]byte(code), secret.SentCodeContext(id)),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Codes.TTL.D())}
	live, err := s.db.IssueSentCode(ctx, fresh, now, s.cfg.Codes.Attempts)
	if errors.Is(err, store.ErrNotFound) {
		return live, "", ErrFactorNotFound
	}
	if err != nil || live.ID == id {
		return live, code, err
	}
	raw, err := s.keys.Open(live.SealedCode, secret.SentCodeContext(live.ID))
	if err != nil {
		return live, "", fmt.Errorf("open code: %w", err)
	}
	return live, string(raw), nil
}

// codeMessage words a code in the origin-bound one-time code format, so
// phones can offer to fill it in: "Your <site> code is 123456." and, as
// the last line, "@<domain> #123456". Calls read the digits one by one.
//
// The words are the person's language's (l); the last line is never
// translated: phones read it.
func (s *Service) codeMessage(l *i18n.Localizer, channel factor.Kind, to, code string) delivery.Message {
	m := delivery.Message{Channel: delivery.Channel(channel), To: to, Code: code, Language: l.Lang()}
	switch channel {
	case KindVoice:
		m.Body = l.T("code.voice")
	default:
		host := "localhost"
		if u, err := url.Parse(s.baseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		m.Body = l.T("code.text", "Code", code) + "\n\n@" + host + " #" + code
		m.Subject = l.T("code.subject")
	}
	return m
}

// speakingTo is the language of what is sent to userID (speaking): a
// failure to read the account is logged and says the site's default.
func (s *Service) speakingTo(ctx context.Context, userID string) *i18n.Localizer {
	u, err := s.db.UserByID(ctx, userID)
	if err != nil {
		s.log.Warn("read the account's language", "err", err)
		return s.msgs.Default()
	}
	return s.speaking(u)
}

// sendRefused records a send a budget refused: the SMS-pumping guard is
// the operator's concern (a log line and its own event), the others the
// person's.
func (s *Service) sendRefused(ctx context.Context, c Client, f store.Factor, channel string, budgets []sendBudget, refused []string) {
	for _, b := range budgets {
		if b.guard && slices.Contains(refused, b.key) {
			s.log.Warn("send budget spent: codes refused", "budget", strings.SplitN(b.key, ":", 3)[1])
			s.record(ctx, c, f.UserID, audit.SendBudget, audit.Exhausted, b.key[len("send:"):])
			return
		}
	}
	s.record(ctx, c, f.UserID, audit.CodeSent, audit.Throttled, channel)
}
