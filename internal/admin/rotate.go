// Package admin is what operators run against the database beside the
// servers: key rotation today, user administration next.
package admin

import (
	"context"
	"fmt"

	"twostep/internal/account"
	"twostep/internal/secret"
	"twostep/internal/store"
)

// RotateKey re-seals every secret in the database under the keyring's
// current key: authenticator keys, the numbers and addresses codes go to,
// the sealed copies of sent codes, the server secrets and queued mail. Secrets sealed
// under an earlier key must open (list it in secrets.old_keys). Everything
// is opened before anything is written, so a secret that does not open
// changes nothing. It returns how many secrets it re-sealed.
func RotateKey(ctx context.Context, db *store.DB, keys *secret.Keyring) (int, error) {
	all, err := db.AllSealedSecrets(ctx)
	if err != nil {
		return 0, fmt.Errorf("rotate key: %w", err)
	}
	type reseal struct {
		s      store.SealedSecret
		sealed string
	}
	var todo []reseal
	for _, s := range all {
		if keys.Current(s.Sealed) {
			continue
		}
		sc, err := SealContext(s)
		if err != nil {
			return 0, fmt.Errorf("rotate key: %w", err)
		}
		pt, err := keys.Open(s.Sealed, sc)
		if err != nil {
			return 0, fmt.Errorf("rotate key: %s %s: %w", s.Table, s.ID, err)
		}
		todo = append(todo, reseal{s, keys.Seal(pt, sc)})
	}
	n := 0
	for _, r := range todo {
		// A row changed or deleted meanwhile was written by a running
		// server under the current key, or is gone: either way, done.
		ok, err := db.ReplaceSealedSecret(ctx, r.s, r.sealed)
		if err != nil {
			return n, fmt.Errorf("rotate key: %w", err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// SealContext is the context a sealed value was sealed under (see
// secret.Box.Seal), which binds a ciphertext to its row:
//
//   - an app's TOTP key (secret.TOTPKeyContext)
//   - the number or address of a text, call or e-mail factor
//     (secret.RecipientContext)
//   - a sent code's sealed copy (secret.SentCodeContext)
//   - a server secret (secret.ServerSecretContext)
//   - a queued message (secret.MailContext)
//
// A kind it does not know is an error, never a guess: a new sealed value
// must be taught to key rotation.
func SealContext(s store.SealedSecret) (string, error) {
	switch s.Table {
	case store.SealedFactor:
		switch s.Kind {
		case account.KindTOTP:
			return secret.TOTPKeyContext(s.ID), nil
		case account.KindSMS, account.KindVoice, account.KindEmail:
			return secret.RecipientContext(s.ID), nil
		}
		return "", fmt.Errorf("factor %s: no sealing context for kind %q", s.ID, s.Kind)
	case store.SealedSentCode:
		return secret.SentCodeContext(s.ID), nil
	case store.SealedServer:
		return secret.ServerSecretContext(s.ID), nil
	case store.SealedMail:
		return secret.MailContext(s.ID), nil
	case store.SealedSigningKey:
		return secret.SigningKeyContext(s.ID), nil
	}
	return "", fmt.Errorf("%s %s: no sealing context for this table", s.Table, s.ID)
}
