package account

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"twostep/internal/delivery"
	"twostep/internal/secret"
	"twostep/internal/store"
	"twostep/internal/text"
)

// The outgoing-mail queue: verification and reset links and security
// notifications are written to the database in the same transaction as
// the change that causes them, and a sender loop delivers them with
// retries. A message queued survives a crash; codes the user is waiting
// for (sentcode.go) are sent synchronously instead and are not queued.
const (
	// mailBatch is how many messages one claim leases.
	mailBatch = 16
	// mailLease is how long a claimed message is left to its sender before
	// another may try it: longer than any one send (mailSendTimeout).
	mailLease = 5 * time.Minute
	// mailSendTimeout bounds one attempt at the provider.
	mailSendTimeout = time.Minute
	// mailPoll is how often the loop looks for messages queued by other
	// instances (messages queued here wake it at once).
	mailPoll = 5 * time.Second
	// mailMaxAttempts is when the loop gives up on a message.
	mailMaxAttempts = 8
	// mailKeep is how long sent and abandoned messages (without their
	// bodies) are kept before they are purged.
	mailKeep = 30 * 24 * time.Hour
)

// mailBackoff is the wait before attempt n+1 after n failed attempts:
// 5 s, 20 s, 80 s… up to an hour.
func mailBackoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 4
	}
	return min(d, time.Hour)
}

// mailer is the in-process side of the queue.
type mailer struct {
	// poke wakes the loop when this process queued a message.
	poke chan struct{}
	// round is held while messages are claimed and handed to the provider,
	// so Flush waits for a round the loop has in hand.
	round sync.Mutex

	mu      sync.Mutex
	stop    context.CancelFunc
	stopped chan struct{}
}

// sealedMail is what a queued row seals: everything that may carry a link
// or code.
type sealedMail struct {
	Subject string `json:"s"`
	Body    string `json:"b"`
	Code    string `json:"c,omitempty"`
}

// mailRow builds the queue row for m, sealed under the key.
func (s *Service) mailRow(userID, kind string, m delivery.Message) store.Mail {
	id := store.NewID()
	plain, _ := json.Marshal(sealedMail{Subject: m.Subject, Body: m.Body, Code: m.Code})
	now := s.now()
	return store.Mail{
		ID: id, UserID: userID, Kind: kind, Channel: string(m.Channel), To: m.To,
		Sealed: s.keys.Seal(plain, secret.MailContext(id)), CreatedAt: now, DueAt: now,
	}
}

// queueMail queues m outside any transaction (for notifications whose
// change was already committed) and wakes the loop.
func (s *Service) queueMail(ctx context.Context, userID, what string, m delivery.Message) error {
	if err := s.db.QueueMail(ctx, s.mailRow(userID, what, m)); err != nil {
		return err
	}
	s.pokeMail()
	return nil
}

// pokeMail wakes the sender loop after a commit that queued mail.
func (s *Service) pokeMail() {
	select {
	case s.mail.poke <- struct{}{}:
	default:
	}
}

// Flush hands every message due now to the provider before returning
// (tests; each attempt that fails is scheduled again with backoff).
func (s *Service) Flush() { s.deliverDue(context.Background()) }

// StartMail starts the sender loop in the background; StopMail ends it.
func (s *Service) StartMail() {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	if s.mail.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.mail.stop, s.mail.stopped = cancel, make(chan struct{})
	go func() {
		defer close(s.mail.stopped)
		s.RunMail(ctx)
	}()
}

// StopMail stops the loop started by StartMail and waits for the round in
// hand. Messages not yet sent stay queued for the next start.
func (s *Service) StopMail() {
	s.mail.mu.Lock()
	stop, stopped := s.mail.stop, s.mail.stopped
	s.mail.stop = nil
	s.mail.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
}

// RunMail delivers queued messages until ctx ends: at once when this
// process queues one, when the earliest retry is due, and every mailPoll
// for messages other instances queued.
func (s *Service) RunMail(ctx context.Context) {
	var purged time.Time
	for ctx.Err() == nil {
		s.deliverDue(ctx)
		wait := mailPoll
		if due, ok, err := s.db.NextMailDue(ctx); err == nil && ok {
			// Never spin: a row due now that could not be claimed is
			// retried after a short pause.
			wait = min(max(due.Sub(s.now()), 100*time.Millisecond), mailPoll)
		}
		if now := s.now(); now.Sub(purged) > time.Hour {
			purged = now
			if _, err := s.db.PurgeMail(ctx, now.Add(-mailKeep)); err != nil && ctx.Err() == nil {
				s.log.Warn("purge sent mail", "err", err)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.mail.poke:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliverDue claims and sends messages until none is due, after queueing
// the recoveries' halfway reminders that are due (recovery_wait.go).
func (s *Service) deliverDue(ctx context.Context) {
	s.mail.round.Lock()
	defer s.mail.round.Unlock()
	s.remindRecoveries(ctx)
	claim := store.NewID()
	for ctx.Err() == nil {
		batch, err := s.db.ClaimMail(ctx, claim, s.now(), mailLease, mailBatch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("claim queued mail", "err", err)
			}
			return
		}
		if len(batch) == 0 {
			return
		}
		for _, m := range batch {
			s.deliver(m)
		}
	}
}

// deliver makes one attempt at m, then records it as sent, due again
// later, or abandoned. The body is never logged: it holds links.
func (s *Service) deliver(m store.Mail) {
	// The attempt finishes even when the loop is stopping, so the row is
	// not left leased.
	ctx, cancel := context.WithTimeout(context.Background(), mailSendTimeout)
	defer cancel()
	log := s.log.With("mail", m.ID, "what", m.Kind, "channel", m.Channel, "attempt", m.Attempts)

	msg, err := s.openMail(m)
	if err != nil {
		// Sealed under a key no longer configured: no retry can help.
		log.Error("queued mail cannot be opened; giving up", "err", err)
		if _, err := s.db.GiveUpMail(ctx, m.ID, m.Claim, s.now(), "cannot open: "+err.Error()); err != nil {
			log.Error("record undeliverable mail", "err", err)
		}
		return
	}
	sendErr := s.senderFor(msg.Channel).Send(ctx, msg)
	now := s.now()
	if sendErr == nil {
		if ok, err := s.db.MailSent(ctx, m.ID, m.Claim, now); err != nil {
			log.Error("record sent mail", "err", err)
		} else if !ok {
			log.Warn("mail sent after its lease ran out; another sender may send it again")
		}
		return
	}
	errText := text.Truncate(sendErr.Error(), 500)
	if m.Attempts >= mailMaxAttempts || !delivery.IsTemporary(sendErr) {
		log.Error("mail undeliverable; giving up", "attempts", m.Attempts, "err", sendErr)
		if _, err := s.db.GiveUpMail(ctx, m.ID, m.Claim, now, errText); err != nil {
			log.Error("record undeliverable mail", "err", err)
		}
		return
	}
	next := mailBackoff(m.Attempts)
	log.Warn("send mail failed; will retry", "in", next, "err", sendErr)
	if _, err := s.db.RetryMail(ctx, m.ID, m.Claim, now.Add(next), errText); err != nil {
		log.Error("record mail retry", "err", err)
	}
}

// openMail unseals a queued row into the message to send.
func (s *Service) openMail(m store.Mail) (delivery.Message, error) {
	plain, err := s.keys.Open(m.Sealed, secret.MailContext(m.ID))
	if err != nil {
		return delivery.Message{}, err
	}
	var sm sealedMail
	if err := json.Unmarshal(plain, &sm); err != nil {
		return delivery.Message{}, fmt.Errorf("decode queued mail: %w", err)
	}
	return delivery.Message{Channel: delivery.Channel(m.Channel), To: m.To, Subject: sm.Subject, Body: sm.Body, Code: sm.Code}, nil
}
