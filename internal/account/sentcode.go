package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/method/sentcode"
	"twostep/internal/phone"
	"twostep/internal/ratelimit"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// Kinds of methods whose codes are sent.
const (
	KindSMS   = factor.SMS
	KindVoice = factor.Voice
	KindEmail = factor.Email
)

// Errors of sent codes.
var (
	ErrMethodNotAllowed = errors.New("account: this kind of method is not offered here")
	ErrNotSendable      = errors.New("account: this method has no code to send")
	ErrCountryNotServed = errors.New("account: codes cannot be sent to numbers in this country")
)

// DeliveryFailedError means every provider failed: the user is told so
// plainly and offered their other methods.
type DeliveryFailedError struct {
	Others []store.Factor
}

func (e *DeliveryFailedError) Error() string { return "account: we couldn't send the code" }

// sendBudget is one budget a send spends. guard marks the SMS-pumping
// guard (global and per-country), which operators hear about when spent.
type sendBudget struct {
	key    string
	budget ratelimitBudget
	guard  bool
}

// SendResult tells the user what happened to a code.
type SendResult = method.Challenge

// Sendable reports whether a kind of method gets its codes sent.
func Sendable(kind factor.Kind) bool { return kind.Sent() }

// keyedHash is HMAC-SHA-256 under the server pepper: for phone numbers
// (limits across accounts without storing the number in the clear) and
// sent codes.
func (s *Service) keyedHash(parts ...string) string {
	m := hmac.New(sha256.New, s.pepper)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) channelAllowed(ch factor.Kind) bool {
	switch ch {
	case KindSMS:
		return s.cfg.Methods.SMS && s.senders[delivery.SMS] != nil
	case KindVoice:
		return s.cfg.Methods.Voice && s.senders[delivery.Voice] != nil
	case KindEmail:
		return s.cfg.Methods.Email
	}
	return false
}

func (s *Service) countryServed(region string) bool {
	list := strings.TrimSpace(s.cfg.Codes.Countries)
	if list == "" {
		return true
	}
	for _, c := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(c), region) {
			return true
		}
	}
	return false
}

// AddPhone starts adding a phone: the number is checked and normalised,
// stored sealed, and a code is sent to confirm it.
func (s *Service) AddPhone(ctx context.Context, c Client, sess store.Session, u store.User, input, country, via, label string) (store.Factor, SendResult, error) {
	channel := factor.Kind(via)
	if channel == "" {
		channel = KindSMS
	}
	if channel != KindSMS && channel != KindVoice || !s.channelAllowed(channel) {
		return store.Factor{}, SendResult{}, ErrMethodNotAllowed
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return store.Factor{}, SendResult{}, err
	}
	num, err := phone.Parse(input, country, string(channel))
	if err != nil {
		return store.Factor{}, SendResult{}, err
	}
	if !s.countryServed(num.Region) {
		return store.Factor{}, SendResult{}, ErrCountryNotServed
	}
	label = strings.TrimSpace(label)
	if label == "" {
		label = "Phone " + num.Masked()
	}
	if !validLabel(label) {
		return store.Factor{}, SendResult{}, ErrInvalidLabel
	}
	f, err := s.newSentFactor(ctx, sess, u, channel, label, num.E164, s.keyedHash("phone", num.E164), num.Masked())
	if err != nil {
		return f, SendResult{}, err
	}
	s.record(ctx, c, u.ID, audit.FactorAdded, audit.Pending, string(channel)+" "+num.Masked())
	res, err := s.begin(ctx, c, f, channel)
	if err != nil {
		// No code went out: leave nothing behind to confirm.
		if derr := s.db.DeleteFactor(context.WithoutCancel(ctx), u.ID, f.ID); derr != nil {
			s.log.Error("remove a method whose first code was not sent", "err", derr)
		}
	}
	return f, res, err
}

// AddEmailFactor starts adding codes by e-mail (where the operator allows
// them), to the account's address unless another is given.
func (s *Service) AddEmailFactor(ctx context.Context, c Client, sess store.Session, u store.User, addr string) (store.Factor, SendResult, error) {
	if !s.channelAllowed(KindEmail) {
		return store.Factor{}, SendResult{}, ErrMethodNotAllowed
	}
	if err := s.RequireStepUp(ctx, sess, u); err != nil {
		return store.Factor{}, SendResult{}, err
	}
	if strings.TrimSpace(addr) == "" {
		addr = u.Email
	}
	addr, err := NormalizeEmail(addr)
	if err != nil {
		return store.Factor{}, SendResult{}, err
	}
	masked := maskEmail(addr)
	label := "E-mail " + masked
	if !validLabel(label) {
		label = "E-mail codes"
	}
	f, err := s.newSentFactor(ctx, sess, u, KindEmail, label, addr, s.keyedHash("email", addr), masked)
	if err != nil {
		return f, SendResult{}, err
	}
	s.record(ctx, c, u.ID, audit.FactorAdded, audit.Pending, "e-mail "+masked)
	res, err := s.begin(ctx, c, f, KindEmail)
	if err != nil {
		if derr := s.db.DeleteFactor(context.WithoutCancel(ctx), u.ID, f.ID); derr != nil {
			s.log.Error("remove a method whose first code was not sent", "err", derr)
		}
	}
	return f, res, err
}

func maskEmail(a string) string {
	local, domain, _ := strings.Cut(a, "@")
	if len(local) <= 2 {
		return "•••@" + domain
	}
	return local[:1] + "•••" + local[len(local)-1:] + "@" + domain
}

func (s *Service) newSentFactor(ctx context.Context, sess store.Session, u store.User, kind factor.Kind, label, to, hash, masked string) (store.Factor, error) {
	methods, err := s.Methods(ctx, u.ID)
	if err != nil {
		return store.Factor{}, err
	}
	role := RolePrimary
	for _, m := range methods {
		if m.Role == RolePrimary {
			role = RoleBackup
		}
	}
	now := s.now()
	id := store.NewID()
	f := store.Factor{
		ID: id, UserID: u.ID, Kind: kind, Label: label, Role: role, Status: factor.Pending,
		Secret: s.keys.Seal([]byte(to), secret.RecipientContext(id)), RecipientHash: hash, Masked: masked,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TwoStep.PendingFactorTTL.D()), SessionID: sess.ID,
	}
	return f, s.db.CreateFactor(ctx, f)
}

// Resend sends a pending or active method's code again (the same code
// while it is valid).
func (s *Service) Resend(ctx context.Context, c Client, sess store.Session, u store.User, id string) (SendResult, error) {
	f, err := s.factorFor(ctx, sess, u, id)
	if err != nil {
		return SendResult{}, err
	}
	if !Sendable(f.Kind) {
		return SendResult{}, ErrNotSendable
	}
	if f.Status == factor.Active {
		if err := s.RequireStepUp(ctx, sess, u); err != nil {
			return SendResult{}, err
		}
	}
	return s.begin(ctx, c, f, f.Kind)
}

// SendSignInCode sends a code for the pending sign-in's method, by the
// channel asked for ("Call me instead" sends a text method's code by
// voice).
func (s *Service) SendSignInCode(ctx context.Context, c Client, token, methodID, channel string) (SendResult, error) {
	ch, _, err := s.PendingChallenge(ctx, token)
	if err != nil {
		return SendResult{}, err
	}
	for _, m := range ch.Methods {
		if m.ID == methodID {
			if !Sendable(m.Kind) {
				return SendResult{}, ErrNotSendable
			}
			return s.begin(ctx, c, m, factor.Kind(channel))
		}
	}
	return SendResult{}, ErrFactorNotFound
}

// SendStepUpCode sends a code for re-verification.
func (s *Service) SendStepUpCode(ctx context.Context, c Client, u store.User, methodID, channel string) (SendResult, error) {
	f, err := s.db.FactorByID(ctx, u.ID, methodID, s.now())
	if err != nil || f.Status != factor.Active {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return SendResult{}, err
		}
		return SendResult{}, ErrFactorNotFound
	}
	if !Sendable(f.Kind) {
		return SendResult{}, ErrNotSendable
	}
	return s.begin(ctx, c, f, factor.Kind(channel))
}

// begin issues a challenge for f through its method: for a phone or an
// e-mail address, a code sent by the channel asked for.
func (s *Service) begin(ctx context.Context, c Client, f store.Factor, via factor.Kind) (SendResult, error) {
	m, ok := s.methods.For(f.Kind)
	if !ok {
		return SendResult{}, ErrNotSendable
	}
	ch, err := m.Begin(context.WithValue(ctx, clientKey{}, c), f, via)
	if errors.Is(err, method.ErrNothingToSend) {
		return SendResult{}, ErrNotSendable
	}
	return ch, err
}

// clientKey carries the asking Client from begin to sendFor, through the
// method seam.
type clientKey struct{}

// sendFor is the sent-code method's way to send: sendCode for the client
// begin was called for.
func (s *Service) sendFor(ctx context.Context, f store.Factor, via factor.Kind) (SendResult, error) {
	c, _ := ctx.Value(clientKey{}).(Client)
	return s.sendCode(ctx, c, store.User{ID: f.UserID}, f, via)
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
func (s *Service) sendCode(ctx context.Context, c Client, u store.User, f store.Factor, via factor.Kind) (SendResult, error) {
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
	budgets, err := s.sendBudgets(c, u, f, channel, to)
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

	for _, b := range budgets {
		if err := s.limiter.Exhausted(ctx, b.key, b.budget); err != nil {
			release()
			if b.guard {
				s.log.Warn("send budget spent: codes refused", "budget", strings.SplitN(b.key, ":", 3)[1])
				s.record(ctx, c, u.ID, audit.SendBudget, audit.Exhausted, b.key[len("send:"):])
			} else {
				s.record(ctx, c, u.ID, audit.CodeSent, audit.Throttled, channel)
			}
			return SendResult{}, err
		}
	}
	// Spend every budget before sending: each Take is one atomic upsert, so
	// concurrent requests cannot together go past a limit (the SMS-pumping
	// guard above all). A send that then fails has still cost a unit.
	for _, b := range budgets {
		if err := s.limiter.Take(ctx, b.key, b.budget); err != nil {
			release()
			return SendResult{}, err
		}
	}

	live, code, err := s.liveCode(ctx, f, now)
	if err != nil {
		release()
		return SendResult{}, err
	}
	m := s.codeMessage(via, to, code)
	if err := s.senders[delivery.Channel(channel)].Send(ctx, m); err != nil {
		release()
		s.log.Warn("code delivery failed", "channel", channel, "err", err)
		s.record(ctx, c, u.ID, audit.CodeSent, audit.Failure, channel+" "+f.Masked)
		methods, _ := s.Methods(ctx, u.ID)
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
	s.record(ctx, c, u.ID, audit.CodeSent, audit.Success, channel+" "+f.Masked)
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
func (s *Service) sendBudgets(c Client, u store.User, f store.Factor, channel, to string) ([]sendBudget, error) {
	l := s.cfg.Limits
	budgets := []sendBudget{
		{"send:acct:" + u.ID, l.SendPerAccount, false},
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
		scope = u.ID + ":" + hash
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
func (s *Service) codeMessage(channel factor.Kind, to, code string) delivery.Message {
	site := s.cfg.Server.SiteName
	m := delivery.Message{Channel: delivery.Channel(channel), To: to, Code: code}
	switch channel {
	case KindVoice:
		m.Body = "Your " + site + " code is"
	default:
		host := "localhost"
		if u, err := url.Parse(s.baseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		m.Body = "Your " + site + " code is " + code + ".\n\n@" + host + " #" + code
		m.Subject = "Your " + site + " code"
	}
	return m
}

// ResendWait is how long until a code for the factor may be sent again by
// channel (by any channel when empty).
func (s *Service) ResendWait(ctx context.Context, factorID, channel string) (time.Duration, error) {
	last, err := s.db.LastSend(ctx, factorID, channel)
	if err != nil || last.IsZero() {
		return 0, err
	}
	left := last.Add(s.cfg.Codes.ResendCooldown.D()).Sub(s.now())
	return max(0, left), nil
}

// CanCall reports whether a phone method may also be reached by a call
// ("Call me instead").
func (s *Service) CanCall(f store.Factor) bool {
	return (f.Kind == KindSMS || f.Kind == KindVoice) && s.channelAllowed(KindVoice)
}

// CanText reports whether a phone method may be reached by text.
func (s *Service) CanText(f store.Factor) bool {
	return (f.Kind == KindSMS || f.Kind == KindVoice) && s.channelAllowed(KindSMS)
}

// PhoneMethodsAllowed reports whether phones can be added at all.
func (s *Service) PhoneMethodsAllowed() bool {
	return s.channelAllowed(KindSMS) || s.channelAllowed(KindVoice)
}
