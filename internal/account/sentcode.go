package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/factor"
	"twostep/internal/method"
	"twostep/internal/phone"
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
