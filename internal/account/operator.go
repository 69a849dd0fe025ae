package account

import (
	"twostep/internal/audit"
	"twostep/internal/delivery"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// What the operator's commands (package admin) borrow from the account
// service: messages sealed for the outgoing queue and reset links, built
// here so they read and expire like the ones the server sends, and
// queued by the caller in the transaction of its change. The running
// servers' senders deliver them.

// MailRow is m to the user, sealed for the outgoing-mail queue.
func (s *Service) MailRow(userID, kind string, m delivery.Message) store.Mail {
	return s.mailRow(userID, kind, m)
}

// NoticeRow is the e-mail of notice n to u, sealed for the queue.
func (s *Service) NoticeRow(u store.User, n audit.Notice) store.Mail {
	return s.mailRow(u.ID, audit.MailKind, s.audit.Message(u, n))
}

// ResetLink is a new password-reset link for u and the e-mail carrying
// it, which opens with why: the token to store and the message to queue.
func (s *Service) ResetLink(u store.User, why string) (store.Token, store.Mail) {
	token := secret.NewToken()
	now := s.now()
	t := store.Token{
		Hash: secret.Hash(token), Kind: tokenReset, UserID: u.ID, Email: u.Email,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.Tokens.ResetTTL.D()),
	}
	l := s.speaking(u)
	m := s.mailRow(u.ID, "password reset", delivery.Message{
		Channel: delivery.Email, To: u.Email, Code: token,
		Subject: l.T("mail.forced_reset_subject"),
		Body: why + "\n\n" + l.T("mail.forced_reset_body", "TTL", l.Duration(s.cfg.Tokens.ResetTTL.D()),
			"Link", s.baseURL+"/reset-password?token="+token, "Forgot", s.baseURL+"/forgot-password") + "\n",
	})
	return t, m
}

// Recipient opens where a text, call or e-mail method's codes go: the
// number or address it was confirmed with.
func (s *Service) Recipient(f store.Factor) (string, error) {
	to, err := s.keys.Open(f.Secret, secret.RecipientContext(f.ID))
	if err != nil {
		return "", err
	}
	return string(to), nil
}

// senderFor is who delivers a queued message on channel: the channel's
// code sender for a text (an operator's notice to a phone), the e-mail
// provider otherwise.
func (s *Service) senderFor(ch delivery.Channel) delivery.Sender {
	if ch != delivery.Email {
		if cs, ok := s.senders[ch]; ok && cs != nil {
			return cs
		}
	}
	return s.sender
}
